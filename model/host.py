"""The watched host in one line, as the TUI header shows it: plain data.

Filled by the live host sampler (probes/procfs/host.py) or, on a replay,
from the capture's header (the recording host's name and kernel).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class HostInfo:
    hostname: str = ""
    kernel: str = ""
    uptime_s: float = -1.0
    cpus: int = 0
    cpu_pct: float = -1.0  # busy share of all CPUs since the previous sample, -1 unknown
    mem_total: int = -1  # bytes
    mem_available: int = -1  # bytes

    @property
    def mem_used(self) -> int:
        if self.mem_total < 0 or self.mem_available < 0:
            return -1
        return self.mem_total - self.mem_available
