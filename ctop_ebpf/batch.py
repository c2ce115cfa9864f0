"""--batch: one JSON line or text table per tick on stdout."""

from __future__ import annotations

import asyncio
import signal
import sys

from model.source import run_pipeline
from model.state import SystemState
from probes.errors import ProbeError
from views import engine
from views.output import json_line, text_table

from .session import Session, UsageError


def run_batch(session: Session) -> int:
    try:
        session.preflight()
    except ProbeError as exc:
        print(f"ctop-ebpf: {exc}", file=sys.stderr)
        return exc.exit_code
    try:
        return asyncio.run(_run(session))
    except KeyboardInterrupt:
        return 0


async def _run(session: Session) -> int:
    try:
        source = session.make_source()
    except UsageError as exc:
        print(f"ctop-ebpf: {exc}", file=sys.stderr)
        return 2
    state = SystemState()
    printed = 0
    out = sys.stdout

    def on_tick(records) -> bool:
        nonlocal printed
        if records.interval_s == 0:  # the baseline tick taken at start
            return True
        rows = engine.compute(session.view, records, session.query, session.sort, session.sort_desc)
        if session.output == "json":
            out.write(json_line(session.view, rows, records.interval_s, records.stats, records.wall) + "\n")
        else:
            out.write(text_table(session.view, rows, records.interval_s, records.stats, records.wall,
                                 limit=session.limit) + "\n")
        out.flush()
        printed += 1
        return not (session.iterations and printed >= session.iterations)

    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, task.cancel)
    try:
        await run_pipeline(source, state, on_tick)
    except ProbeError as exc:
        print(f"ctop-ebpf: {exc}", file=sys.stderr)
        return exc.exit_code
    except asyncio.CancelledError:
        return 0
    except BrokenPipeError:
        return 0
    return 0
