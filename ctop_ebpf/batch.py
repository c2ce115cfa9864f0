"""--batch: one JSON line or text table per tick on stdout."""

from __future__ import annotations

import asyncio
import sys
import time

from ctop_ebpf.capture.format import CaptureError
from ctop_ebpf.gc_policy import configure_gc
from ctop_ebpf.model.source import run_pipeline
from ctop_ebpf.probes.errors import ProbeError
from ctop_ebpf.views import engine
from ctop_ebpf.views.loss import HINT_EVERY_S, loss_hint
from ctop_ebpf.views.output import json_line, text_table

from .exit_codes import EXIT_OK, EXIT_USAGE
from .session import Session, UsageError
from .stopping import finalise, stop_on_signals


def run_batch(session: Session) -> int:
    try:
        session.preflight()
    except ProbeError as exc:
        print(f"ctop-ebpf: {exc}", file=sys.stderr)
        return exc.exit_code
    except UsageError as exc:
        print(f"ctop-ebpf: {exc}", file=sys.stderr)
        return EXIT_USAGE
    holder: dict = {}
    configure_gc()
    try:
        return asyncio.run(_run(session, holder))
    except KeyboardInterrupt:
        return EXIT_OK
    finally:
        # the capture is finalised whatever ended the run (SIGINT, SIGTERM, an error)
        finalise(session, holder)


async def _run(session: Session, holder: dict) -> int:
    from .recording import terminal_warner  # noqa: PLC0415

    try:
        source = session.make_source(replay_pace="fast", warn=terminal_warner(),
                                     push_filter=True)
    except UsageError as exc:
        print(f"ctop-ebpf: {exc}", file=sys.stderr)
        return EXIT_USAGE
    holder["source"] = source
    state = session.make_state(source)
    printed = 0
    out = sys.stdout
    hinted = -HINT_EVERY_S
    # a container or pid filter would be applied in the kernel (unless one is)
    suggest_filter = getattr(source, "scope", None) is None

    def on_tick(records) -> bool:
        nonlocal printed, hinted
        if records.interval_s == 0:  # the baseline tick taken at start
            return True
        lost = records.stats.get("lost", 0)
        if lost and time.monotonic() - hinted >= HINT_EVERY_S:
            hinted = time.monotonic()
            pages = None if session.read else session.buffer_pages
            print(f"ctop-ebpf: {loss_hint(lost, pages, kernel_filter=suggest_filter)}", file=sys.stderr)
        rows = engine.compute(session.view, records, session.query, session.sort, session.sort_desc)
        if session.output == "json":
            out.write(json_line(session.view, rows, records.interval_s, records.stats, records.wall) + "\n")
        else:
            out.write(text_table(session.view, rows, records.interval_s, records.stats, records.wall,
                                 limit=session.limit) + "\n")
        out.flush()
        printed += 1
        return not (session.iterations and printed >= session.iterations)

    stop_on_signals(session, holder)
    try:
        await run_pipeline(source, state, on_tick)
    except ProbeError as exc:
        print(f"ctop-ebpf: {exc}", file=sys.stderr)
        return exc.exit_code
    except CaptureError as exc:
        print(f"ctop-ebpf: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except asyncio.CancelledError:
        return EXIT_OK
    except BrokenPipeError:
        return EXIT_OK
    return EXIT_OK
