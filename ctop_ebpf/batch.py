"""--batch: one JSON line or text table per tick on stdout."""

from __future__ import annotations

import asyncio
import os
import signal
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

# after SIGINT/SIGTERM/SIGHUP, how long an orderly stop may take before the
# process leaves anyway (a bcc compile in progress cannot be interrupted)
STOP_GRACE_S = 2.0


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
        _finalise(session, holder)


def _finalise(session: Session, holder: dict) -> None:
    source = holder.get("source")
    writer = getattr(source, "writer", None)
    if writer is not None:
        try:
            if getattr(source, "_recorded", 1) == 0:
                writer.discard()  # stopped before anything was recorded
            else:
                writer.close()
        except CaptureError as exc:
            print(f"ctop-ebpf: {exc}", file=sys.stderr)
    session.close()


def _leave(session: Session, holder: dict) -> None:
    """The orderly stop is stuck behind a call into bcc (the probes still
    compiling): finalise the capture and exit now. Every probe is attached
    through a file descriptor, so the kernel detaches them at exit."""
    _finalise(session, holder)
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        pass
    sys.stderr.flush()
    os._exit(0)


async def _run(session: Session, holder: dict) -> int:
    from .recording import warn_stderr  # noqa: PLC0415

    try:
        source = session.make_source(replay_pace="fast", warn=warn_stderr, push_filter=True)
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

    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    stopping = False

    def stop() -> None:
        nonlocal stopping
        if stopping:  # a second signal: leave at once
            _leave(session, holder)
        stopping = True
        task.cancel()
        loop.call_later(STOP_GRACE_S, _leave, session, holder)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, stop)
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
