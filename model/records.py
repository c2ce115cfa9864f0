"""The fine-grained records of one tick, each carrying its full context.

Records are plain dicts: filter fields use dotted names (``proc.name``,
``fd.name``, ``container.id`` …), counters plain names (``calls``,
``bytes_read`` …). Counters hold the amount during the tick. A field that
does not apply to a record is absent.
"""

from __future__ import annotations

import errno as _errno
from dataclasses import dataclass, field

from . import events as ev
from .fdtable import FILE_KINDS, NET_KINDS

KINDS = ("procs", "threads", "fds", "syscalls", "errnos", "execs", "opens", "containers")


@dataclass(slots=True)
class TickRecords:
    ts: int = 0
    wall: float = 0.0
    interval_s: float = 0.0
    procs: list[dict] = field(default_factory=list)
    threads: list[dict] = field(default_factory=list)
    fds: list[dict] = field(default_factory=list)
    syscalls: list[dict] = field(default_factory=list)
    errnos: list[dict] = field(default_factory=list)
    execs: list[dict] = field(default_factory=list)
    opens: list[dict] = field(default_factory=list)
    containers: list[dict] = field(default_factory=list)
    stats: dict = field(default_factory=dict)

    def of_kind(self, kind: str) -> list[dict]:
        return getattr(self, kind)


def errname(code: int) -> str:
    return _errno.errorcode.get(code, f"E{code}")


def build_records(state, t: ev.Tick) -> TickRecords:
    out = TickRecords(ts=t.ts, wall=t.wall, interval_s=t.interval_s)
    for p in state.processes.values():
        ctx = state.context(p)
        file_r = file_w = net_r = net_w = opens = 0
        seen = set()
        for key, (info, c) in p.fd_stats.items():
            seen.add(key)
            rec = {**ctx, **state.fd_fields(info, c.fd), "opens": c.opens, "errors": c.open_errors,
                   "bytes_read": c.bytes_read, "bytes_written": c.bytes_written,
                   "reads": c.reads, "writes": c.writes, "fd.open": False}
            out.fds.append(rec)
            opens += c.opens
            if info.kind in NET_KINDS or info.kind == "unix":
                net_r += c.bytes_read
                net_w += c.bytes_written
            elif info.kind in FILE_KINDS:
                file_r += c.bytes_read
                file_w += c.bytes_written
        nfds = 0
        for fd, info in p.fds.items():
            nfds += 1
            key = info.identity()
            if key in seen:
                continue
            seen.add(key)
            out.fds.append({**ctx, **state.fd_fields(info, fd), "opens": 0, "errors": 0,
                            "bytes_read": 0, "bytes_written": 0, "reads": 0, "writes": 0,
                            "fd.open": True})
        calls = errors = total_ns = 0
        for name, c in p.syscalls.items():
            calls += c.calls
            errors += c.errors
            total_ns += c.total_ns
            out.syscalls.append({**ctx, "evt.type": name, "calls": c.calls, "errors": c.errors,
                                 "total_ns": c.total_ns})
        for (name, code), count in p.errnos.items():
            out.errnos.append({**ctx, "evt.type": name, "evt.errno": code, "evt.errname": errname(code),
                               "evt.failed": True, "count": count})
        for th in p.threads.values():
            out.threads.append({**ctx, "thread.tid": th.tid, "thread.name": th.comm,
                                "cpu_pct": th.cpu_pct, "syscalls": th.syscalls,
                                "exited": th.exited})
        out.procs.append({
            **ctx, "cpu_pct": p.cpu_pct, "rss_bytes": p.rss_bytes, "threads": p.nthreads,
            "syscalls": calls, "syscall_errors": errors, "syscall_ns": total_ns,
            "file_bytes": file_r + file_w, "file_bytes_read": file_r, "file_bytes_written": file_w,
            "net_bytes": net_r + net_w, "net_bytes_read": net_r, "net_bytes_written": net_w,
            "opens": opens, "fds": nfds, "exited": p.exited, "exit_code": p.exit_code,
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
        pod = c.labels.get("io.kubernetes.pod.name")
        if pod is not None:
            rec["k8s.pod.name"] = pod
        ns = c.labels.get("io.kubernetes.pod.namespace")
        if ns is not None:
            rec["k8s.ns.name"] = ns
        proj = c.labels.get("com.docker.compose.project")
        if proj is not None:
            rec["container.compose_project"] = proj
        out.containers.append(rec)
    out.stats = {"events": state.stats.events, "lost": state.stats.lost,
                 "log_dropped": state.stats.log_dropped,
                 "processes": len(state.processes)}
    return out
