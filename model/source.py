"""The seam between event producers and the model.

An EventSource yields batches of events (model.events); a ``Tick`` in a
batch ends a sampling interval. The live probes (probes/live.py), a capture
file (capture/replay.py) and synthetic test data (tests/synthetic.py) all
implement it, so the model and everything after it cannot tell them apart.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import Protocol, runtime_checkable

from .events import Tick
from .records import TickRecords
from .state import SystemState


@runtime_checkable
class EventSource(Protocol):
    def events(self) -> AsyncIterator[Sequence[object]]:
        """Batches of events, in order, until the source ends or is closed."""

    async def aclose(self) -> None:
        """Stop producing and release what the source holds (probes, files)."""


TickCallback = Callable[[TickRecords], bool | None]


async def run_pipeline(
    source: EventSource,
    state: SystemState,
    on_tick: TickCallback,
    on_batch: Callable[[Sequence[object]], None] | None = None,
) -> None:
    """Feed the source into the state; call ``on_tick`` with each tick's records.

    ``on_tick`` returning ``False`` stops the pipeline (and closes the source).
    ``on_batch`` sees every batch before it is applied (the capture writer).
    """
    apply = state.apply
    try:
        async for batch in source.events():
            if on_batch is not None:
                on_batch(batch)
            for e in batch:
                if type(e) is Tick:
                    if on_tick(state.end_tick(e)) is False:
                        return
                else:
                    apply(e)
    finally:
        await source.aclose()
