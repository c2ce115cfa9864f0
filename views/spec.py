"""The shape of a view definition: plain data, no behaviour."""

from __future__ import annotations

from dataclasses import dataclass

# How rows with the same key are merged.
AGGREGATIONS = ("sum", "max", "min", "avg", "first", "last", "count", "count_distinct", "join_distinct")
# How a value is shown to people (batch JSON always carries the raw value).
FORMATS = ("str", "int", "bytes", "pct", "ns", "time", "bool", "count")


@dataclass(frozen=True, slots=True)
class Column:
    id: str
    title: str
    width: int
    field: str = ""  # record field it reads (defaults to id)
    agg: str = "first"
    fmt: str = "str"
    counter: bool = False  # an amount per tick (shown as a rate in the TUI)
    align: str = "left"

    def __post_init__(self) -> None:
        if self.agg not in AGGREGATIONS:
            raise ValueError(f"column {self.id}: unknown aggregation {self.agg!r}")
        if self.fmt not in FORMATS:
            raise ValueError(f"column {self.id}: unknown format {self.fmt!r}")

    @property
    def source(self) -> str:
        return self.field or self.id


@dataclass(frozen=True, slots=True)
class Drill:
    """Enter on a row: go to ``target`` adding ``field = <row's value of column>``."""

    target: str
    field: str
    column: str  # the row column whose value is taken
    also: tuple[tuple[str, str], ...] = ()  # more (field, column) clauses (a pod: its namespace too)


@dataclass(frozen=True, slots=True)
class View:
    id: str
    title: str
    description: str
    source: str  # record kind: procs, threads, fds, syscalls, errnos, execs, opens
    key: tuple[str, ...]  # record fields that identify a row (group-by key)
    columns: tuple[Column, ...]
    sort: str  # default sort column id
    sort_desc: bool = True
    drilldown: Drill | None = None
    base_filter: str = ""  # always applied (e.g. only file fds in the files view)
    applies_to: tuple[str, ...] = ()  # drill-down fields this view makes sense under
    log: bool = False  # a time-ordered list, not a group-by
    hotkey: str = ""
    enrich: str = ""  # a named post-step (containers: cgroup CPU/memory)

    def column(self, cid: str) -> Column | None:
        for c in self.columns:
            if c.id == cid:
                return c
        return None
