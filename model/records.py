"""The fine-grained records of one tick, each carrying its full context.

Records are plain dicts: filter fields use dotted names (``proc.name``,
``fd.name``, ``container.id`` …), counters plain names (``calls``,
``bytes_read`` …). Counters hold the amount during the tick; ``cpu_ns``
(processes: /proc at their last read; containers: their cgroup) is
cumulative, -1 when unknown. A field that does not apply to a record is
absent.
"""

from __future__ import annotations

import errno as _errno
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from . import events as ev
from .fdtable import FILE_KINDS, NET_KINDS, fd_fields

if TYPE_CHECKING:  # (state.py imports this module)
    from .state import Container, Process, TickStats

# captured in place of a process's empty per-tick dicts; never written to
_EMPTY: dict = {}

# The record kinds of a tick and the field namespaces each carries (a field
# name is in a namespace when it equals it or starts with it).
_CONTEXT = ("proc.", "user.", "container.", "k8s.")
RECORD_FIELDS: dict[str, tuple[str, ...]] = {
    "procs": _CONTEXT,
    "threads": _CONTEXT + ("thread.",),
    "fds": _CONTEXT + ("fd.",),
    "syscalls": _CONTEXT + ("evt.type",),
    "errnos": _CONTEXT + ("evt.",),
    "opens": _CONTEXT + ("fd.", "evt.failed"),
    "execs": _CONTEXT,
    "containers": ("container.", "k8s."),
}


@dataclass(slots=True)
class ProcessTick:
    """What one process did in the tick, kept for the lazily built records:
    its context fields, per-fd counters, open fds, per-syscall counters,
    per-(syscall, errno) counts and (tid, comm, cpu %, syscalls, exited) of
    its threads."""

    ctx: dict
    fd_stats: dict
    fds: dict
    syscalls: dict
    errnos: dict
    threads: list[tuple[int, str, float, int, bool]]


@dataclass
class TickRecords:
    """One tick's records. Processes, containers and the logs are built at
    once; fds, syscalls, errnos and threads only when a view or a filter asks
    (``of_kind``), from what the tick captured, so a 5,000-process host does
    not pay for records nobody looks at. ``dataclasses.replace`` keeps that."""

    LAZY: ClassVar[tuple[str, ...]] = ("fds", "syscalls", "errnos", "threads")

    ts: int = 0
    wall: float = 0.0
    interval_s: float = 0.0
    procs: list[dict] = field(default_factory=list)
    execs: list[dict] = field(default_factory=list)
    opens: list[dict] = field(default_factory=list)
    containers: list[dict] = field(default_factory=list)
    stats: dict = field(default_factory=dict)
    processes: list[ProcessTick] = field(default_factory=list, repr=False)
    _built: dict = field(default_factory=dict, init=False, repr=False)

    def of_kind(self, kind: str) -> list[dict]:
        if kind in self.LAZY:
            got = self._built.get(kind)
            if got is None:
                got = self._built[kind] = getattr(self, f"_build_{kind}")()
            return got
        return getattr(self, kind)

    @property
    def fds(self) -> list[dict]:
        return self.of_kind("fds")

    @property
    def syscalls(self) -> list[dict]:
        return self.of_kind("syscalls")

    @property
    def errnos(self) -> list[dict]:
        return self.of_kind("errnos")

    @property
    def threads(self) -> list[dict]:
        return self.of_kind("threads")

    def _build_fds(self) -> list[dict]:
        out = []
        for pt in self.processes:
            ctx = pt.ctx
            seen = set()
            for key, (info, c) in pt.fd_stats.items():
                seen.add(key)
                out.append({**ctx, **fd_fields(info, c.fd), "opens": c.opens, "errors": c.open_errors,
                            "bytes_read": c.bytes_read, "bytes_written": c.bytes_written,
                            "reads": c.reads, "writes": c.writes, "fd.open": False})
            for fd, info in pt.fds.items():
                key = info.identity()
                if key in seen:
                    continue
                seen.add(key)
                out.append({**ctx, **fd_fields(info, fd), "opens": 0, "errors": 0,
                            "bytes_read": 0, "bytes_written": 0, "reads": 0, "writes": 0,
                            "fd.open": True})
        return out

    def _build_syscalls(self) -> list[dict]:
        return [{**pt.ctx, "evt.type": name, "calls": c.calls, "errors": c.errors, "total_ns": c.total_ns}
                for pt in self.processes for name, c in pt.syscalls.items()]

    def _build_errnos(self) -> list[dict]:
        return [{**pt.ctx, "evt.type": name, "evt.errno": code, "evt.errname": errname(code),
                 "evt.failed": True, "count": count}
                for pt in self.processes for (name, code), count in pt.errnos.items()]

    def _build_threads(self) -> list[dict]:
        return [{**pt.ctx, "thread.tid": tid, "thread.name": comm, "cpu_pct": cpu, "syscalls": calls,
                 "exited": exited}
                for pt in self.processes for tid, comm, cpu, calls, exited in pt.threads]


def errname(code: int) -> str:
    return _errno.errorcode.get(code, f"E{code}")


def _on_the_wall(log: list[dict], t: ev.Tick) -> list[dict]:
    """The log, every entry with its wall time: the state gives one to the
    entries it makes after its first tick (see SystemState.wall_of); those
    made before get theirs from this tick, on a copy."""
    if not log or "wall" in log[0]:
        return log
    return [entry if "wall" in entry else {**entry, "wall": round(t.wall - (t.ts - entry["ts"]) / 1e9, 6)}
            for entry in log]


def build_records(t: ev.Tick, processes: Collection[Process], containers: Iterable[Container],
                  exec_log: list[dict], open_log: list[dict], context: Callable[[Process], dict],
                  stats: TickStats) -> TickRecords:
    """The records of tick ``t`` from the state at its end: the processes and
    containers, this tick's exec and open logs, ``context(process)`` (the
    fields each record of a process carries) and the tick's counts. Reads
    its inputs only."""
    out = TickRecords(ts=t.ts, wall=t.wall, interval_s=t.interval_s)
    captured = out.processes
    for p in processes:
        ctx = context(p)
        file_r = file_w = net_r = net_w = opens = 0
        for info, c in p.fd_stats.values():
            opens += c.opens
            if info.kind in NET_KINDS or info.kind == "unix":
                net_r += c.bytes_read
                net_w += c.bytes_written
            elif info.kind in FILE_KINDS:
                file_r += c.bytes_read
                file_w += c.bytes_written
        calls = errors = total_ns = 0
        for c in p.syscalls.values():
            calls += c.calls
            errors += c.errors
            total_ns += c.total_ns
        # the per-tick dicts are replaced (not cleared) when the tick ends, and
        # an empty one is not captured at all (it stays the process's, so it
        # fills up next tick); the fd table and threads change in place, so
        # they are copied (a shallow copy: an fd's identity is taken when the
        # fds records are built)
        captured.append(ProcessTick(
            ctx, p.fd_stats or _EMPTY, dict(p.fds) if p.fds else _EMPTY,
            p.syscalls or _EMPTY, p.errnos or _EMPTY,
            [(th.tid, th.comm, th.cpu_pct, th.syscalls, th.exited) for th in p.threads.values()],
        ))
        out.procs.append({
            **ctx, "cpu_pct": p.cpu_pct, "cpu_ns": p.cpu_ns, "rss_bytes": p.rss_bytes, "threads": p.nthreads,
            "syscalls": calls, "syscall_errors": errors, "syscall_ns": total_ns,
            "file_bytes": file_r + file_w, "file_bytes_read": file_r, "file_bytes_written": file_w,
            "net_bytes": net_r + net_w, "net_bytes_read": net_r, "net_bytes_written": net_w,
            "opens": opens, "fds": len(p.fds), "exited": p.exited, "exit_code": p.exit_code,
        })
    out.execs = _on_the_wall(exec_log, t)
    out.opens = _on_the_wall(open_log, t)
    for c in containers:
        out.containers.append({
            **c.fields(), "container.full_id": c.id, "container.state": c.state,
            "cpu_pct": c.cpu_pct, "cpu_ns": c.cpu_ns, "memory_bytes": c.memory_bytes,
            "present": c.present,
            "sandbox": c.sandbox,
        })
    out.stats = {"events": stats.events, "lost": stats.lost, "log_dropped": stats.log_dropped,
                 "processes": len(processes)}
    return out
