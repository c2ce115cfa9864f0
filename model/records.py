"""The fine-grained records of one tick, each carrying its full context.

Records are plain dicts: filter fields use dotted names (``proc.name``,
``fd.name``, ``container.id`` …), counters plain names (``calls``,
``bytes_read`` …). Counters hold the amount during the tick. A field that
does not apply to a record is absent.
"""

from __future__ import annotations

import errno as _errno
from dataclasses import dataclass, field
from typing import ClassVar

from . import events as ev
from .fdtable import FILE_KINDS, NET_KINDS

# captured in place of a process's empty per-tick dicts; never written to
_EMPTY: dict = {}

KINDS = ("procs", "threads", "fds", "syscalls", "errnos", "execs", "opens", "containers")


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
    # per process: (ctx, fd_stats, fds, syscalls, errnos, threads)
    _captured: list[tuple] = field(default_factory=list, repr=False)
    _fd_fields: object = field(default=None, repr=False)
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
        fd_fields = self._fd_fields
        for ctx, fd_stats, fds, _, _, _ in self._captured:
            seen = set()
            for key, (info, c) in fd_stats.items():
                seen.add(key)
                out.append({**ctx, **fd_fields(info, c.fd), "opens": c.opens, "errors": c.open_errors,
                            "bytes_read": c.bytes_read, "bytes_written": c.bytes_written,
                            "reads": c.reads, "writes": c.writes, "fd.open": False})
            for fd, info in fds.items():
                key = info.identity()
                if key in seen:
                    continue
                seen.add(key)
                out.append({**ctx, **fd_fields(info, fd), "opens": 0, "errors": 0,
                            "bytes_read": 0, "bytes_written": 0, "reads": 0, "writes": 0,
                            "fd.open": True})
        return out

    def _build_syscalls(self) -> list[dict]:
        return [{**ctx, "evt.type": name, "calls": c.calls, "errors": c.errors, "total_ns": c.total_ns}
                for ctx, _, _, syscalls, _, _ in self._captured for name, c in syscalls.items()]

    def _build_errnos(self) -> list[dict]:
        return [{**ctx, "evt.type": name, "evt.errno": code, "evt.errname": errname(code),
                 "evt.failed": True, "count": count}
                for ctx, _, _, _, errnos, _ in self._captured for (name, code), count in errnos.items()]

    def _build_threads(self) -> list[dict]:
        return [{**ctx, "thread.tid": tid, "thread.name": comm, "cpu_pct": cpu, "syscalls": calls,
                 "exited": exited}
                for ctx, _, _, _, _, threads in self._captured for tid, comm, cpu, calls, exited in threads]


def errname(code: int) -> str:
    return _errno.errorcode.get(code, f"E{code}")


def build_records(state, t: ev.Tick) -> TickRecords:
    out = TickRecords(ts=t.ts, wall=t.wall, interval_s=t.interval_s)
    out._fd_fields = state.fd_fields
    captured = out._captured
    for p in state.processes.values():
        ctx = state.context(p)
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
        captured.append((
            ctx, p.fd_stats or _EMPTY, dict(p.fds) if p.fds else _EMPTY,
            p.syscalls or _EMPTY, p.errnos or _EMPTY,
            [(th.tid, th.comm, th.cpu_pct, th.syscalls, th.exited) for th in p.threads.values()],
        ))
        out.procs.append({
            **ctx, "cpu_pct": p.cpu_pct, "rss_bytes": p.rss_bytes, "threads": p.nthreads,
            "syscalls": calls, "syscall_errors": errors, "syscall_ns": total_ns,
            "file_bytes": file_r + file_w, "file_bytes_read": file_r, "file_bytes_written": file_w,
            "net_bytes": net_r + net_w, "net_bytes_read": net_r, "net_bytes_written": net_w,
            "opens": opens, "fds": len(p.fds), "exited": p.exited, "exit_code": p.exit_code,
        })
    # kernel timestamps are CLOCK_MONOTONIC, like Tick.ts: place them on the wall clock
    for entry in state.exec_log:
        entry["wall"] = round(t.wall - (t.ts - entry["ts"]) / 1e9, 6)
    for entry in state.open_log:
        entry["wall"] = round(t.wall - (t.ts - entry["ts"]) / 1e9, 6)
    out.execs = state.exec_log
    out.opens = state.open_log
    for c in state.containers.values():
        rec = {"container.id": c.short_id, "container.name": c.display_name,
               "container.image": c.image, "container.runtime": c.runtime,
               "container.full_id": c.id, "container.state": c.state,
               "cpu_pct": c.cpu_pct, "memory_bytes": c.memory_bytes, "present": c.present}
        rec.update(c.label_fields())
        out.containers.append(rec)
    out.stats = {"events": state.stats.events, "lost": state.stats.lost,
                 "log_dropped": state.stats.log_dropped,
                 "processes": len(state.processes)}
    return out
