"""The live table: a DataTable updated in place by a keyed diff.

``ViewTable.show(rows, rate)`` makes the table show ``rows`` (engine rows,
already filtered and sorted) in that order:

* rows are keyed by the engine row key; a row whose raw values did not
  change is not touched, a changed row gets new cells only where the values
  (or, for counters, the rate interval) changed, new rows are added and gone
  rows removed;
* the order is set once for all rows, the way ``DataTable.sort`` does it;
* the cursor stays on the same row key wherever that row moved (and on the
  same index when the row is gone); the scroll position is left alone
  otherwise, so the view never jumps to the top;
* columns have the fixed widths of the view spec (plus room for "/s" on
  counters); a row is stored as its raw values and a cell becomes a ``Cell``
  (formatted, safe ``Text``) only when the table draws it (see ``tui.cells``).

The public ``add_row``/``update_cell``/``remove_row`` cost O(rows) per removed
row and several attribute checks per updated cell (25,000 updated cells take
~180 ms), too slow for a 5,000-row view every second. ``_apply`` therefore
writes the DataTable's row storage directly, as ``add_row``, ``remove_row``
and ``sort`` do (checked against Textual 8.2; tests/test_tui_units.py checks
the result through the public read API: ``get_row_at``, ``get_column``,
``ordered_rows``, ``get_row_index``, ``cursor_row``).
"""

from __future__ import annotations

from collections.abc import Sequence

from textual import events
from textual.coordinate import Coordinate
from textual.geometry import Size
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowKey
from textual.widgets.data_table import Row as TableRow

from ctop_ebpf.views.engine import Row
from ctop_ebpf.views.spec import Column, View

from ..cells import Cell, display_width, header_text, row_key_str


class _Layout:
    """The columns of the table: specs, keys, ids, and where each key is."""

    __slots__ = ("cols", "keys", "ids", "index", "has_counters")

    def __init__(self, cols: list[Column], keys: list[ColumnKey]) -> None:
        self.cols = cols
        self.keys = keys
        self.ids = tuple(c.id for c in cols)
        self.index = {k: i for i, k in enumerate(keys)}
        self.has_counters = any(c.counter for c in cols)


class _LazyRow:
    """One row of the DataTable's storage (``DataTable._data[row_key]``).

    It holds the engine row's raw values and makes a ``Cell`` for a column only when
    the table reads it (to draw or measure it), so a refresh of thousands of
    rows allocates one object per changed row, not one per changed cell. It
    answers the mapping protocol the DataTable uses on its rows (``row[key]``,
    iteration, ``values()``, ``get``).
    """

    __slots__ = ("layout", "row_values", "rate", "_cells")

    def __init__(self, layout: _Layout, values: dict, rate: float | None) -> None:
        self.layout = layout
        self.row_values = values  # the engine row's values (column id -> raw value)
        self.rate = rate
        self._cells: list | None = None

    def __getitem__(self, key) -> Cell:
        layout = self.layout
        i = layout.index[key]
        cells = self._cells
        if cells is None:
            cells = self._cells = [None] * len(layout.ids)
        cell = cells[i]
        if cell is None:
            cell = cells[i] = Cell(layout.cols[i], self.row_values.get(layout.ids[i]), self.rate)
        return cell

    def get(self, key, default=None):
        return self[key] if key in self.layout.index else default

    def __contains__(self, key) -> bool:
        return key in self.layout.index

    def __iter__(self):
        return iter(self.layout.keys)

    def __len__(self) -> int:
        return len(self.layout.keys)

    def keys(self):
        return list(self.layout.keys)

    def values(self) -> list[Cell]:
        return [self[k] for k in self.layout.keys]

    def items(self):
        return [(k, self[k]) for k in self.layout.keys]


class _RowKey(str, RowKey):
    """A RowKey that is also the str it wraps: hashing and comparing it is done
    in C (RowKey's are Python methods, called a few hundred thousand times per
    refresh of a large table). It equals, and hashes as, ``RowKey(value)``."""


class ViewTable(DataTable):
    """The table of the current view (row cursor, fixed columns, keyed rows)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", cell_padding=0, zebra_stripes=False, **kwargs)
        self.view: View | None = None
        self._cols: list[Column] = []
        self._col_keys: list[ColumnKey] = []
        self._layout = _Layout([], [])
        self._order: dict[RowKey, int] = {}
        self._shown: list[Row] = []  # the engine rows, in table order
        self._keys: dict[tuple, RowKey] = {}
        self._rate: float | None = None

    # ---- columns -------------------------------------------------------

    def set_view(self, view: View, sort: str, desc: bool) -> None:
        """Empty the table and give it the columns of ``view``."""
        self.view = view
        self.clear(columns=True)
        self._cols = [c for c in view.columns if c.width > 0]
        self._col_keys = [
            self.add_column(header_text(c, _arrow(c.id, sort, desc)), width=display_width(c) + 1, key=c.id)
            for c in self._cols
        ]
        self._layout = _Layout(self._cols, self._col_keys)
        self._order = {}
        self._shown = []
        self._keys.clear()
        self._rate = None

    @property
    def column_ids(self) -> tuple[str, ...]:
        return self._layout.ids

    def set_sort_marker(self, sort: str, desc: bool) -> None:
        for c, key in zip(self._cols, self._col_keys):
            self.columns[key].label = header_text(c, _arrow(c.id, sort, desc))
        self._update_count += 1
        self.refresh()

    # ---- rows ----------------------------------------------------------

    def show(self, rows: Sequence[Row], rate: float | None) -> None:
        """Show ``rows`` in this order, updating only what changed."""
        selected = self.selected_key()
        index = self.cursor_row
        order = self._apply(rows, rate)
        if not order:
            return
        target = self._row_locations.get(selected) if selected is not None else None
        if target is None:
            target = min(index, len(order) - 1)
        if target != self.cursor_row or selected is None:
            self.move_cursor(row=target, animate=False)

    def _apply(self, rows: Sequence[Row], rate: float | None) -> list[Row]:
        data = self._data
        keys = self._keys
        layout = self._layout
        rate_changed = rate != self._rate and layout.has_counters
        locations: dict[RowKey, int] = {}  # the new order, row key -> index
        shown: list[Row] = []
        new_rows: list[RowKey] = []
        index = 0
        for row in rows:
            rk = keys.get(row.key)
            if rk is None:
                rk = keys[row.key] = _RowKey(row_key_str(row.key))
            elif rk in locations:  # duplicate key: keep the first
                continue
            locations[rk] = index
            index += 1
            shown.append(row)
            values = row.values
            old = data.get(rk)
            if old is None:
                new_rows.append(rk)
            elif old.row_values == values and not rate_changed:
                continue
            data[rk] = _LazyRow(layout, values, rate)
        # every key shown is in data now: anything more in it is a row gone
        gone = [rk for rk in data if rk not in locations] if len(data) > len(locations) else []
        if gone:
            meta = self.rows
            for rk in gone:
                del data[rk]
                meta.pop(rk, None)
            if len(keys) > 2 * len(locations) + 1024:  # forget old engine keys now and then
                live = {r.key for r in shown}
                for k in [k for k in keys if k not in live]:
                    del keys[k]
        meta = self.rows
        for rk in new_rows:
            meta[rk] = TableRow(rk, 1, None, False)
        self._rate = rate
        self._shown = shown
        self._order = locations
        self._row_locations = type(self._row_locations)(locations)
        self._update_count += 1
        if new_rows or gone:
            # What DataTable's idle _update_dimensions would do for new rows,
            # without measuring them: the columns have fixed widths and every
            # row is one line high.
            self._set_virtual_size(len(shown))
        self.refresh()
        if gone:
            # re-validate against the new row count, as remove_row does (only when
            # out of range: the watchers walk every row)
            count = len(shown)
            if self.cursor_coordinate.row >= count:
                self.cursor_coordinate = self.cursor_coordinate
            if self.hover_coordinate.row >= count:
                self.hover_coordinate = self.hover_coordinate
        return shown

    @property
    def shown_rows(self):
        """(row key, values) of every row, in table order (for the history panel)."""
        return zip(self._order, (r.values for r in self._shown))

    def _set_virtual_size(self, rows: int) -> None:
        width = sum(c.get_render_width(self) for c in self.columns.values())
        header = self.header_height if self.show_header else 0
        size = Size(width, rows + header)
        if size != self.virtual_size:
            self.virtual_size = size

    # ---- selection -----------------------------------------------------

    def selected_key(self) -> RowKey | None:
        if not self.row_count:
            return None
        return self._row_locations.get_key(self.cursor_row)

    def selected_row(self) -> Row | None:
        if not self.row_count or self.cursor_row >= len(self._shown):
            return None
        return self._shown[self.cursor_row]

    def select_key(self, key: str | RowKey | None) -> bool:
        if key is None:
            return False
        rk = key if isinstance(key, RowKey) else RowKey(key)
        index = self._row_locations.get(rk)
        if index is None:
            return False
        self.move_cursor(row=index, animate=False)
        return True

    def ordered_engine_rows(self) -> list[Row]:
        return self._shown

    # ---- mouse: double-click drills, a single click only selects --------

    def _on_click(self, event: events.Click) -> None:
        # Textual calls this and then DataTable._on_click (MRO dispatch) unless
        # the default is prevented; DataTable's selects a row clicked once more.
        meta = event.style.meta
        if "row" in meta and meta["row"] >= 0 and event.chain < 2 and self.show_cursor:
            event.prevent_default()
            event.stop()
            self._set_hover_cursor(True)
            row = meta["row"]
            if not meta.get("out_of_bounds", False) and row < self.row_count:
                self.cursor_coordinate = Coordinate(row, max(0, meta.get("column", 0)))
                self._scroll_cursor_into_view(animate=False)

def _arrow(column_id: str, sort: str, desc: bool) -> str:
    return ("▼" if desc else "▲") if column_id == sort else ""

