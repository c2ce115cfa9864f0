"""Builders of synthetic event streams for model, view and TUI tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Sequence

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


class SyntheticSource:
    """Replays a fixed list of batches: the test and screenshot source."""

    def __init__(self, batches: Iterable[Sequence[object]], delay: float = 0.0) -> None:
        self._batches = list(batches)
        self._delay = delay
        self._closed = False

    async def events(self) -> AsyncIterator[Sequence[object]]:
        for batch in self._batches:
            if self._closed:
                return
            if self._delay:
                await asyncio.sleep(self._delay)
            yield batch

    async def aclose(self) -> None:
        self._closed = True
