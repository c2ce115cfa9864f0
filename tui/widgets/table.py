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
* columns have the fixed widths of the view spec; cells are ``Cell`` objects
  formatted only when drawn (see ``tui.cells``).

The public ``add_row``/``update_cell``/``remove_row`` cost O(rows) per removed
row and several attribute checks per updated cell (25,000 updated cells take
~180 ms), too slow for a 5,000-row view every second. ``_apply`` therefore
writes the DataTable's row storage directly, exactly as ``add_row``,
``remove_row`` and ``sort`` do (checked against Textual 8.2; the tests
exercise it through the public read API: ``get_row``, ``ordered_rows``,
``cursor_row``, ``coordinate_to_cell_key``).
"""

from __future__ import annotations

from collections.abc import Sequence

from textual import events
from textual.coordinate import Coordinate
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowKey
from textual.widgets.data_table import Row as TableRow

from views.engine import Row
from views.spec import Column, View

from ..cells import Cell, display_width, header_text, row_key_str


class ViewTable(DataTable):
    """The table of the current view (row cursor, fixed columns, keyed rows)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", cell_padding=0, zebra_stripes=False, **kwargs)
        self.view: View | None = None
        self._cols: list[Column] = []
        self._col_keys: list[ColumnKey] = []
        self._ids: tuple[str, ...] = ()
        self._counter_idx: tuple[int, ...] = ()
        self._raw: dict[RowKey, tuple] = {}
        self._engine_rows: dict[RowKey, Row] = {}
        self._keys: dict[tuple, RowKey] = {}
        self._rate: float | None = None

    # ---- columns -------------------------------------------------------

    def set_view(self, view: View, sort: str, desc: bool) -> None:
        """Empty the table and give it the columns of ``view``."""
        self.view = view
        self.clear(columns=True)
        self._cols = [c for c in view.columns if c.width > 0]
        self._ids = tuple(c.id for c in self._cols)
        self._counter_idx = tuple(i for i, c in enumerate(self._cols) if c.counter)
        self._col_keys = [
            self.add_column(header_text(c, _arrow(c.id, sort, desc)), width=display_width(c) + 1, key=c.id)
            for c in self._cols
        ]
        self._raw.clear()
        self._engine_rows.clear()
        self._keys.clear()
        self._rate = None

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

    def _apply(self, rows: Sequence[Row], rate: float | None) -> list[RowKey]:
        data = self._data
        meta = self.rows
        raw_of = self._raw
        engine_rows = self._engine_rows
        keys = self._keys
        cols = self._cols
        ids = self._ids
        col_keys = self._col_keys
        rate_changed = rate != self._rate
        counter_idx = self._counter_idx if rate_changed else ()
        order: list[RowKey] = []
        seen: set[RowKey] = set()
        new_rows: list[RowKey] = []
        for row in rows:
            rk = keys.get(row.key)
            if rk is None:
                rk = keys[row.key] = RowKey(row_key_str(row.key))
            if rk in seen:  # duplicate key: keep the first
                continue
            seen.add(rk)
            order.append(rk)
            values = row.values
            raw = tuple(values.get(i) for i in ids)
            engine_rows[rk] = row
            old = raw_of.get(rk)
            if old is None:
                data[rk] = {ck: Cell(c, v, rate) for c, ck, v in zip(cols, col_keys, raw)}
                new_rows.append(rk)
            elif old != raw:
                cells = data[rk]
                for i, (a, b) in enumerate(zip(old, raw)):
                    if a != b or (rate_changed and cols[i].counter):
                        cells[col_keys[i]] = Cell(cols[i], b, rate)
            elif counter_idx:
                cells = data[rk]
                for i in counter_idx:
                    cells[col_keys[i]] = Cell(cols[i], raw[i], rate)
            else:
                continue
            raw_of[rk] = raw
        gone = [rk for rk in data if rk not in seen]
        for rk in gone:
            del data[rk]
            meta.pop(rk, None)
            raw_of.pop(rk, None)
            engine_rows.pop(rk, None)
        if gone:
            dead = {r.key for r in engine_rows.values()}
            for k in [k for k in keys if k not in dead]:
                del keys[k]
        for rk in new_rows:
            meta[rk] = TableRow(rk, 1, None, False)
            self._new_rows.add(rk)
        self._rate = rate
        self._row_locations = type(self._row_locations)({rk: i for i, rk in enumerate(order)})
        self._update_count += 1
        if new_rows or gone:
            self._require_update_dimensions = True
            self.check_idle()
            self.refresh(layout=True)
        else:
            self.refresh()
        if gone:
            # re-validate against the new row count, as remove_row does
            self.cursor_coordinate = self.cursor_coordinate
            self.hover_coordinate = self.hover_coordinate
        return order

    # ---- selection -----------------------------------------------------

    def selected_key(self) -> RowKey | None:
        if not self.row_count:
            return None
        return self._row_locations.get_key(self.cursor_row)

    def selected_row(self) -> Row | None:
        key = self.selected_key()
        return self._engine_rows.get(key) if key is not None else None

    def engine_row(self, key: RowKey) -> Row | None:
        return self._engine_rows.get(key)

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
        get = self._row_locations.get_key
        return [self._engine_rows[get(i)] for i in range(self.row_count)]

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

