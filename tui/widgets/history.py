"""The history panel: sparklines of the selected row over the last ticks.

``RowHistory`` (plain data) remembers, for every row key of the current view,
the last ``HISTORY_LEN`` values of the view's history columns (CPU and
syscalls/s, bytes/s for files and connections ...). ``HistoryPanel`` draws
the selected row's series with Textual ``Sparkline``s.
"""

from __future__ import annotations

from collections import deque

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Sparkline, Static

from views.format import format_value
from views.safe_text import printable
from views.spec import Column, View

HISTORY_LEN = 60
FORGET_AFTER = 30  # ticks a row may be absent before its history is dropped

HISTORY_COLUMNS: dict[str, tuple[str, ...]] = {
    "containers": ("cpu_pct", "syscalls", "net_bytes"),
    "processes": ("cpu_pct", "syscalls", "file_bytes"),
    "threads": ("cpu_pct", "syscalls"),
    "files": ("bytes_read", "bytes_written", "opens"),
    "directories": ("bytes_read", "bytes_written", "opens"),
    "connections": ("bytes_received", "bytes_sent"),
    "ports": ("bytes_in", "bytes_out"),
    "syscalls": ("calls", "errors", "total_ns"),
    "errors": ("count",),
    "io_types": ("bytes_read", "bytes_written"),
}


def history_columns(view: View) -> list[Column]:
    ids = HISTORY_COLUMNS.get(view.id)
    if ids is None:
        ids = tuple(c.id for c in view.columns if c.counter or c.fmt == "pct")[:3]
    return [c for c in (view.column(i) for i in ids) if c is not None]


class RowHistory:
    """Per row key, the recent values of the history columns (rates for counters)."""

    def __init__(self) -> None:
        self.view: View | None = None
        self.columns: list[Column] = []
        self.series: dict[str, list[deque]] = {}
        self._last_seen: dict[str, int] = {}
        self._tick = 0

    def reset(self, view: View) -> None:
        self.view = view
        self.columns = history_columns(view)
        self.series.clear()
        self._last_seen.clear()

    def record(self, keyed_rows, rate: float | None) -> None:
        """``keyed_rows``: (row key string, engine row) for every row of this tick."""
        if not self.columns:
            return
        self._tick += 1
        tick = self._tick
        cols = self.columns
        series = self.series
        seen = self._last_seen
        for key, row in keyed_rows:
            s = series.get(key)
            if s is None:
                s = series[key] = [deque(maxlen=HISTORY_LEN) for _ in cols]
            values = row.values
            for d, c in zip(s, cols):
                v = values.get(c.id) or 0
                if c.counter and rate:
                    v = v / rate
                d.append(float(v) if isinstance(v, (int, float)) else 0.0)
            seen[key] = tick
        if tick % 10 == 0:
            for key in [k for k, t in seen.items() if tick - t > FORGET_AFTER]:
                del seen[key]
                series.pop(key, None)

    def of(self, key: str | None) -> list[list[float]]:
        s = self.series.get(key) if key is not None else None
        if s is None:
            return [[] for _ in self.columns]
        return [list(d) for d in s]


MAX_LINES = 3


class HistoryPanel(Vertical):
    """Sparklines of the selected row; toggled with ``g``."""

    def compose(self) -> ComposeResult:
        yield Static("", id="history-title")
        for _ in range(MAX_LINES):
            with Horizontal(classes="history-line"):
                yield Label("", classes="history-label")
                yield Sparkline([0.0], summary_function=max, classes="history-spark")

    def show_series(self, title: str, columns: list[Column], series: list[list[float]]) -> None:
        self.query_one("#history-title", Static).update(
            Text(f" History of {printable(title, limit=80)} (last {HISTORY_LEN} ticks)",
                 style="bold", no_wrap=True, overflow="ellipsis")
        )
        lines = list(self.query(".history-line"))
        for i, line in enumerate(lines):
            if i >= len(columns):
                line.display = False
                continue
            line.display = True
            col, data = columns[i], series[i]
            shown = format_value(col, data[-1]) + ("/s" if col.counter else "") if data else "-"
            peak = format_value(col, max(data)) if data else "-"
            label = Text(f" {col.title:<9}", style="bold", no_wrap=True, end="")
            label.append(f"{shown:>11} ")
            label.append(f"max {peak:<10}", style="dim")
            line.query_one(".history-label", Label).update(label)
            line.query_one(".history-spark", Sparkline).data = data or [0.0]
