"""Where the user is: the drill-down stack, each level's view, filter and sort.

Plain Python (no Textual), so the navigation rules are testable on their own:

* a level is a view seen under a drill-down *context* (the ``field = value``
  clauses taken from the rows drilled into) plus the user's own filter text,
  sort column and direction, and the key of the selected row;
* ``drill`` pushes a level for the selected row (``views.engine.drill`` picks
  the target view and the clause); the child inherits the user filter;
* ``back`` pops one, restoring that level exactly as it was left;
* ``switch_view`` changes the current level's view in place, keeping the
  context and the filter (sort and selection start over);
* ``set_filter`` parses the user text first and raises ``FilterError`` (with
  the column in that text) without changing anything when it is invalid.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ctop_ebpf.views import engine
from ctop_ebpf.views import filter as flt
from ctop_ebpf.views.catalogue import VIEWS_BY_ID
from ctop_ebpf.views.safe_text import printable
from ctop_ebpf.views.spec import View

CRUMB_LIMIT = 32  # characters of one breadcrumb label


@dataclass(frozen=True, slots=True)
class Crumb:
    """One drill-down step: what the user sees and the filter clause it adds."""

    label: str
    clause: str
    field: str = ""  # the field the clause compares


@dataclass(slots=True)
class Level:
    view: View
    crumbs: tuple[Crumb, ...] = ()
    filter_text: str = ""
    sort: str | None = None
    desc: bool | None = None
    selected: str | None = None  # row key (string) of the selected row
    _query: object = field(default=None, repr=False)
    _query_text: str | None = field(default=None, repr=False)

    @property
    def context_text(self) -> str:
        return flt.conjoin(*(c.clause for c in self.crumbs))

    @property
    def query_text(self) -> str:
        return flt.conjoin(self.context_text, self.filter_text)

    def query(self):
        """The compiled filter of context and user text, or None for none."""
        text = self.query_text
        if text != self._query_text:
            self._query = engine.compile_filter(text) if text.strip() else None
            self._query_text = text
        return self._query

    @property
    def drill_field(self) -> str | None:
        """The field of the last drill-down step (None at the top)."""
        return self.crumbs[-1].field if self.crumbs else None

    @property
    def sort_column(self) -> str:
        return self.sort or self.view.sort

    @property
    def sort_descending(self) -> bool:
        if self.sort is None:
            return self.view.sort_desc
        return True if self.desc is None else self.desc


def default_desc(view: View, column_id: str) -> bool:
    """Numbers sort largest first, text alphabetically (csysdig's rule)."""
    col = view.column(column_id)
    return not (col is None or col.fmt in ("str", "time"))


def crumb_label(view: View, row, field_name: str, value) -> str:
    """How a drilled row reads in the breadcrumb: ``web``, ``pid 1234 nginx``, ``/etc``."""
    values = row.values
    if field_name == "container.id":
        text = values.get("name") or value
    elif field_name == "proc.pid":
        name = values.get("name") or values.get("proc") or ""
        text = f"pid {value} {name}".rstrip()
    elif field_name == "thread.tid":
        text = f"tid {value} {values.get('name') or ''}".rstrip()
    elif field_name == "fd.sport":
        text = f"port {value}"
    elif field_name == "k8s.pod.name":
        namespace = values.get("namespace")
        text = f"{namespace}/{value}" if namespace else value
    else:
        text = value
    return printable(str(text), limit=CRUMB_LIMIT)


def row_title(view: View, row) -> str:
    """A row named as its drill-down would name it, else by its first column."""
    d = view.drilldown
    if d is not None and row.values.get(d.column) is not None:
        return crumb_label(view, row, d.field, row.values.get(d.column))
    first = next((c for c in view.columns if c.width > 0), None)
    value = row.values.get(first.id) if first else None
    return printable(str(value if value is not None else row.key), limit=CRUMB_LIMIT)


class Navigator:
    """The drill-down stack; ``current`` is the level on screen."""

    def __init__(self, view: View, filter_text: str = "", sort: str | None = None,
                 desc: bool | None = None) -> None:
        if filter_text.strip():
            engine.compile_filter(filter_text)  # raises FilterError
        self.stack: list[Level] = [Level(view, (), filter_text.strip(), sort, desc)]

    @property
    def current(self) -> Level:
        return self.stack[-1]

    @property
    def depth(self) -> int:
        return len(self.stack) - 1

    def breadcrumb(self) -> list[str]:
        """``[Containers, web, pid 1234 nginx, Files]``: the root view, each step, the view shown."""
        parts = [self.stack[0].view.title]
        if len(self.stack) > 1:
            parts += [c.label for c in self.current.crumbs]
            parts.append(self.current.view.title)
        return parts

    def drill(self, row) -> bool:
        """Push the level ``row`` leads to; False when the view has no drill-down or no value."""
        cur = self.current
        target = engine.drill(cur.view, row)
        if target is None:
            return False
        view_id, clause = target
        view = VIEWS_BY_ID.get(view_id)
        if view is None:
            return False
        d = cur.view.drilldown
        crumb = Crumb(crumb_label(cur.view, row, d.field, row.values.get(d.column)), clause, d.field)
        self.stack.append(Level(view, cur.crumbs + (crumb,), cur.filter_text))
        return True

    def back(self) -> bool:
        if len(self.stack) == 1:
            return False
        self.stack.pop()
        return True

    def switch_view(self, view: View) -> None:
        cur = self.current
        if view.id == cur.view.id:
            return
        self.stack[-1] = Level(view, cur.crumbs, cur.filter_text)

    def set_filter(self, text: str) -> None:
        text = text.strip()
        if text:
            engine.compile_filter(text)  # raises FilterError with the column in ``text``
            flt.conjoin(self.current.context_text, text)
        cur = self.current
        self.stack[-1] = replace(cur, filter_text=text, selected=cur.selected, _query=None,
                                 _query_text=None)

    def sort_by(self, column_id: str, desc: bool | None = None) -> None:
        """Sort by ``column_id``; the same column again reverses the direction."""
        cur = self.current
        if cur.view.column(column_id) is None:
            raise KeyError(column_id)
        if desc is None:
            if column_id == cur.sort_column:
                desc = not cur.sort_descending
            else:
                desc = default_desc(cur.view, column_id)
        cur.sort, cur.desc = column_id, desc
