"""The watched host in one line, read live: ``HostSampler`` fills the
model's ``HostInfo`` from /proc and ``uname``, computing CPU use from the
difference between two reads of /proc/stat. A replayed capture has no live
host: the TUI takes the sampler as an optional provider.
"""

from __future__ import annotations

import os

from ctop_ebpf.model.host import HostInfo


def _read(path: str) -> str:
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def parse_stat_cpu(text: str) -> tuple[int, int] | None:
    """(busy, total) jiffies from the aggregate ``cpu`` line of /proc/stat."""
    for line in text.splitlines():
        if line.startswith("cpu "):
            try:
                values = [int(v) for v in line.split()[1:]]
            except ValueError:
                return None
            if len(values) < 4:
                return None
            idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
            # guest time is already counted in user/nice
            total = sum(values[:8])
            return total - idle, total
    return None


def parse_meminfo(text: str) -> tuple[int, int]:
    """(MemTotal, MemAvailable) in bytes, -1 when absent."""
    total = avail = -1
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        if name in ("MemTotal", "MemAvailable"):
            try:
                value = int(rest.split()[0]) * 1024
            except (ValueError, IndexError):
                continue
            if name == "MemTotal":
                total = value
            else:
                avail = value
    return total, avail


def parse_uptime(text: str) -> float:
    try:
        return float(text.split()[0])
    except (ValueError, IndexError):
        return -1.0


class HostSampler:
    """Calling it returns a fresh ``HostInfo`` of this host (cheap: a few small reads)."""

    def __init__(self, proc_root: str = "/proc") -> None:
        self.proc_root = proc_root
        uts = os.uname()
        self._hostname = uts.nodename
        self._kernel = uts.release
        self._cpus = os.cpu_count() or 0
        self._last: tuple[int, int] | None = parse_stat_cpu(_read(f"{proc_root}/stat"))
        self._pct = -1.0

    def __call__(self) -> HostInfo:
        cpu = parse_stat_cpu(_read(f"{self.proc_root}/stat"))
        if cpu is not None and self._last is not None:
            busy = cpu[0] - self._last[0]
            total = cpu[1] - self._last[1]
            if total > 0:  # else: called twice within a jiffy, keep the last value
                self._pct = max(0.0, min(100.0, busy * 100.0 / total))
                self._last = cpu
        elif cpu is not None:
            self._last = cpu
        pct = self._pct
        total, avail = parse_meminfo(_read(f"{self.proc_root}/meminfo"))
        return HostInfo(
            hostname=self._hostname, kernel=self._kernel,
            uptime_s=parse_uptime(_read(f"{self.proc_root}/uptime")), cpus=self._cpus,
            cpu_pct=pct, mem_total=total, mem_available=avail,
        )
