"""The history panel: sparklines of the selected row over the last ticks.

``RowHistory`` (plain data) remembers, for every row key of the current view,
the last ``HISTORY_LEN`` values of the view's history columns (CPU and
syscalls/s, bytes/s for files and connections ...). ``HistoryPanel`` draws
the selected row's series as sparklines: one bar per tick, newest on the
right, scaled from zero to the series' peak (so a flat line of zeros stays
at the bottom, unlike ``textual.widgets.Sparkline`` which scales min..max).
"""

from __future__ import annotations

from collections import deque

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Static

from ctop_ebpf.views.format import format_value
from ctop_ebpf.views.safe_text import printable
from ctop_ebpf.views.spec import Column, View

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
    """Per row key, the recent values of the history columns (rates for counters).

    Recording costs one tuple per row and tick (it runs for every row of the
    view, shown or not, so that a row's history is there when it is selected);
    the series are built only for the row shown.
    """

    def __init__(self) -> None:
        self.view: View | None = None
        self.columns: list[Column] = []
        self._ids: tuple[str, ...] = ()
        self.series: dict[str, deque] = {}  # key -> deque of (rate, values of the row)
        self._last_seen: dict[str, int] = {}
        self._tick = 0

    def reset(self, view: View) -> None:
        self.view = view
        self.columns = history_columns(view)
        self._ids = tuple(c.id for c in self.columns)
        self.series.clear()
        self._last_seen.clear()

    def record(self, keyed_values, rate: float | None) -> None:
        """``keyed_values``: (row key, engine row values) for every row of this tick."""
        if not self._ids:
            return
        self._tick += 1
        tick = self._tick
        series = self.series
        seen = self._last_seen
        for key, values in keyed_values:
            d = series.get(key)
            if d is None:
                d = series[key] = deque(maxlen=HISTORY_LEN)
            d.append((rate, values))  # the engine's dict, shared (never changed): no copy
            seen[key] = tick
        if tick % 10 == 0:
            for key in [k for k, t in seen.items() if tick - t > FORGET_AFTER]:
                del seen[key]
                series.pop(key, None)

    def of(self, key: str | None) -> list[list[float]]:
        """One series per history column for row ``key`` (counters as rates)."""
        entries = self.series.get(key) if key is not None else None
        out: list[list[float]] = [[] for _ in self.columns]
        if not entries:
            return out
        for i, c in enumerate(self.columns):
            series = out[i]
            cid = c.id
            for rate, values in entries:
                v = values.get(cid)
                if not isinstance(v, (int, float)):
                    v = 0.0
                if c.counter and rate:
                    v = v / rate
                series.append(float(v))
        return out


MAX_LINES = 3
BARS = "▁▂▃▄▅▆▇█"


def spark_text(values: list[float], width: int = HISTORY_LEN) -> Text:
    """One bar per value (the last ``width``), right-aligned, scaled 0..peak."""
    values = values[-width:]
    peak = max(values, default=0.0)
    t = Text(" " * (width - len(values)), no_wrap=True, end="")
    top = len(BARS) - 1
    for v in values:
        if peak <= 0 or v <= 0:
            t.append(BARS[0], style="dim")
        else:
            t.append(BARS[max(0, min(top, round(v / peak * top)))], style="green")
    return t


class HistoryPanel(Vertical):
    """Sparklines of the selected row; toggled with ``g``."""

    def compose(self) -> ComposeResult:
        yield Static("", id="history-title")
        for _ in range(MAX_LINES):
            with Horizontal(classes="history-line"):
                yield Label("", classes="history-label")
                yield Static("", classes="history-spark")

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
            unit = "/s" if col.counter else ""
            shown = format_value(col, data[-1]) + unit if data else "-"
            peak = format_value(col, max(data)) + unit if data else "-"
            label = Text(f" {col.title:<9}", style="bold", no_wrap=True, end="")
            label.append(f"{shown:>11} ")
            label.append(f"max {peak:<10}", style="dim")
            line.query_one(".history-label", Label).update(label)
            line.query_one(".history-spark", Static).update(spark_text(data))
