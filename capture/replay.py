"""ReplaySource: a capture file as an EventSource (no root, no bcc, no kernel).

Each batch it yields ends with one recorded Tick (carrying its recorded
``wall``, so nothing of the replaying host's clock reaches the output).
``pace="recorded"`` spaces the ticks as they were recorded, for the TUI,
which can ``pause()`` and ``resume()`` it; ``pace="fast"`` replays as fast as possible, for batch output.

The SystemState fed by a replay should take its user names from the
capture: ``SystemState(user_name=source.user_name)``.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable, Sequence

from ctop_ebpf.model import events as ev

from .format import CaptureError, CaptureHeader, UserNames
from .reader import CaptureReader

PACES = ("recorded", "fast")
MAX_GAP_S = 10.0  # a longer pause in the recording (a suspended machine) is cut to this


def _stderr_warning(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


class ReplaySource:
    """Replays a capture. The constructor validates the file (CaptureError if unusable)."""

    def __init__(self, path: str, *, pace: str = "recorded",
                 warn: Callable[[str], None] | None = None, speed: float = 1.0) -> None:
        if pace not in PACES:
            raise ValueError(f"pace must be one of {PACES}")
        if not speed > 0:
            raise ValueError("speed must be positive")
        self.path = path
        self.pace = pace
        self.speed = speed
        self.warn = warn or _stderr_warning
        self._reader = CaptureReader(path)
        self.header: CaptureHeader = self._reader.header
        self._names: dict[int, str] = {}
        self._paused = False
        self._closed = False
        self._wake: asyncio.Event | None = None
        self.ticks = 0  # ticks yielded so far
        self.wall = self.header.start_wall  # recorded wall time of the last tick yielded

    # ---- what the model and the TUI ask ---------------------------------

    def user_name(self, uid: int) -> str:
        """The name the recording host had for ``uid`` (the number when it had none)."""
        return self._names.get(uid) or str(uid)

    @property
    def paused(self) -> bool:
        return self._paused

    def pause(self) -> None:
        self._paused = True
        self._poke()

    def resume(self) -> None:
        self._paused = False
        self._poke()

    @property
    def warnings(self) -> list[str]:
        return list(self._reader.warnings)

    # ---- EventSource ---------------------------------------------------

    def _poke(self) -> None:
        if self._wake is not None:
            self._wake.set()

    async def _sleep(self, delay: float) -> None:
        """Wait ``delay`` seconds of replay time; pausing stops the clock."""
        loop = asyncio.get_running_loop()
        remaining = delay
        while not self._closed:
            if self._paused:
                self._wake.clear()
                await self._wake.wait()
                continue
            if remaining <= 0:
                return
            self._wake.clear()
            start = loop.time()
            try:
                await asyncio.wait_for(self._wake.wait(), remaining)
            except TimeoutError:
                return
            remaining -= loop.time() - start

    async def events(self) -> AsyncIterator[Sequence[object]]:
        self._wake = asyncio.Event()
        loop = asyncio.get_running_loop()
        batch: list[object] = []
        last_ts: int | None = None
        due = loop.time()
        for rec in self._reader.records():
            if self._closed:
                return
            t = type(rec)
            if t is UserNames:
                self._names.update(rec.names)
                continue
            batch.append(rec)
            if t is not ev.Tick:
                continue
            if self.pace == "recorded":
                gap = 0.0
                if last_ts is not None and rec.interval_s > 0:
                    gap = min(MAX_GAP_S, max(0.0, (rec.ts - last_ts) / 1e9)) / self.speed
                due += gap
                now = loop.time()
                if due < now - 1.0:  # the consumer fell behind: no burst of ticks
                    due = now
                await self._sleep(due - now)
                if loop.time() - due > 0.5:  # was paused: the recorded clock restarts now
                    due = loop.time()
            else:
                await asyncio.sleep(0)  # let the UI breathe between ticks
                due = loop.time()
            last_ts = rec.ts
            if self._closed:
                return
            self.ticks += 1
            self.wall = rec.wall
            out, batch = batch, []
            yield out
            if self._closed:
                return
        # events after the last tick never reach a view: they are dropped
        for message in self._reader.warnings:
            self.warn(message)

    def close(self) -> None:
        """Stop and close the file (also what ``aclose`` does)."""
        self._closed = True
        self._poke()
        self._reader.close()

    async def aclose(self) -> None:
        self.close()


__all__ = ["CaptureError", "PACES", "ReplaySource"]
