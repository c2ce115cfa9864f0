"""The two header lines: the host, then the event flow and the refresh state."""

from __future__ import annotations

import time
from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static

from ctop_ebpf.model.host import HostInfo
from ctop_ebpf.views.format import fmt_bytes, fmt_count
from ctop_ebpf.views.safe_text import printable

SEP = "  │  "


@dataclass(slots=True)
class FlowStatus:
    """What the header's second line shows."""

    events_per_s: float = 0.0
    lost_total: int = 0
    lost_tick: int = 0
    delay: float = 1.0
    paused: bool = False
    state: str = "starting"  # starting, live, ended, failed
    rows: int = 0
    wall: float = 0.0  # the wall clock of the tick shown (recorded time on a replay)
    replay: bool = False


def fmt_uptime(seconds: float) -> str:
    if seconds < 0:
        return "?"
    s = int(seconds)
    days, s = divmod(s, 86400)
    hours, s = divmod(s, 3600)
    minutes = s // 60
    return f"{days}d {hours:02d}:{minutes:02d}" if days else f"{hours:02d}:{minutes:02d}"


def fmt_delay(delay: float) -> str:
    return f"{delay:g}s"


def host_line(host: HostInfo | None, source_label: str = "") -> Text:
    t = Text(" ctop-ebpf", style="bold", no_wrap=True, end="")
    if host is None:
        if source_label:
            t.append(SEP)
            t.append(printable(source_label, limit=60))
        return t
    t.append(SEP)
    t.append(printable(host.hostname or "?", limit=40), style="bold")
    if host.kernel:
        t.append(SEP)
        t.append(f"Linux {printable(host.kernel, limit=40)}")
    if host.uptime_s >= 0:  # a replay knows the host's name and kernel only
        t.append(SEP)
        t.append(f"up {fmt_uptime(host.uptime_s)}")
    if host.cpu_pct >= 0:
        t.append(SEP)
        t.append("CPU ")
        t.append(f"{host.cpu_pct:.1f}%", style="bold")
        if host.cpus:
            t.append(f" of {host.cpus}")
    if host.mem_total > 0:
        t.append(SEP)
        t.append("MEM ")
        t.append(fmt_bytes(host.mem_used), style="bold")
        t.append(f" / {fmt_bytes(host.mem_total)}")
    if source_label:
        t.append(SEP)
        t.append(printable(source_label, limit=60))
    return t


def flow_line(s: FlowStatus) -> Text:
    t = Text(" events ", no_wrap=True, end="")
    t.append(f"{fmt_count(s.events_per_s)}/s", style="bold")
    t.append(SEP)
    if s.lost_total:
        extra = f" (+{fmt_count(s.lost_tick)})" if s.lost_tick else ""
        t.append(f" lost {fmt_count(s.lost_total)}{extra} ", style="bold white on red")
    else:
        t.append("lost 0")
    t.append(SEP)
    t.append(f"refresh {fmt_delay(s.delay)}")
    t.append(SEP)
    if s.paused:
        t.append(" ❚❚ PAUSED ", style="bold black on yellow")
    elif s.state == "live":
        t.append("▶ REPLAY" if s.replay else "▶ LIVE", style="bold green")
    elif s.state == "ended":
        t.append("■ ENDED", style="bold")
    elif s.state == "failed":
        t.append("✖ FAILED", style="bold red")
    else:
        t.append("… starting")
    t.append(SEP)
    t.append(f"{s.rows:,} rows")
    if s.wall:
        t.append(SEP)
        t.append(f"at {time.strftime('%H:%M:%S', time.localtime(s.wall))}")
    return t


class HeaderBar(Static):
    """Host information and event flow; updated once per tick."""

    def __init__(self, **kwargs) -> None:
        super().__init__("", **kwargs)
        self.host: HostInfo | None = None
        self.source_label = ""
        self.status = FlowStatus()

    def refresh_info(self) -> None:
        text = host_line(self.host, self.source_label)
        text.append("\n")
        text.append_text(flow_line(self.status))
        self.update(text)
