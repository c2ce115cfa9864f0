"""Builders of synthetic event streams for model, view and TUI tests."""

from __future__ import annotations

from ctop_ebpf.model import events as ev

T0 = 1_000_000_000_000


def snapshot(pid, comm, *, ppid=1, argv=None, uid=0, container="", runtime="", fds=()):
    return ev.ProcSnapshot(pid=pid, ppid=ppid, comm=comm, exe=f"/usr/bin/{comm}",
                           argv=tuple(argv or (comm,)), uid=uid, start_ns=T0 - pid,
                           container_id=container, runtime=runtime, threads=((pid, comm),), fds=tuple(fds))


def tick(n, *, interval=1.0, syscalls=(), errnos=(), fdio=(), samples=(), containers=(), lost=0, events=0,
         present=()):
    return ev.Tick(ts=T0 + n * 1_000_000_000, wall=1_700_000_000.0 + n, interval_s=interval,
                   syscalls=tuple(syscalls), errnos=tuple(errnos), fdio=tuple(fdio),
                   samples=tuple(samples), containers=tuple(containers), lost=lost, events=events,
                   present=tuple(present))


def users(uid: int) -> str:
    return {0: "root", 1000: "alice"}.get(uid, str(uid))
