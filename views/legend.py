"""A view's legend (F7 in the TUI): what it shows, what each column means,
where Enter goes. Plain data built from the catalogue and the field texts."""

from __future__ import annotations

from dataclasses import dataclass

from .catalogue import VIEWS_BY_ID
from .fields import FIELDS_BY_NAME, VALUES
from .spec import Column, View

_HOW = {
    "sum": "summed over the row",
    "count": "counted",
    "count_distinct": "number of different values",
    "join_distinct": "every different value",
    "max": "the largest",
}


@dataclass(frozen=True, slots=True)
class Legend:
    title: str
    description: str
    columns: tuple[tuple[str, str], ...]  # (column title, what it means)
    enter: str  # where Enter goes, or ""


def column_meaning(col: Column) -> str:
    """What a column shows: the field's or value's text, how the row combines
    its records, and for counters that the TUI shows them per second."""
    f = FIELDS_BY_NAME.get(col.source)
    text = f.description if f is not None else VALUES.get(col.source, "")
    how = _HOW.get(col.agg)
    if how and col.agg != "sum":
        text = f"{text} ({how})"
    if col.counter:
        text += "; per second over the last tick (batch: per tick)"
    return text


def legend(view: View) -> Legend:
    enter = ""
    d = view.drilldown
    if d is not None:
        target = VIEWS_BY_ID[d.target]
        enter = f"{target.title} of the selected row ({d.field})"
    columns = tuple((c.title, column_meaning(c)) for c in view.columns if c.width > 0)
    return Legend(view.title, view.description, columns, enter)
