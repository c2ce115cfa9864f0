"""How a headless run (--batch, --metrics-addr) stops: signals, capture, exit.

SIGINT, SIGTERM and SIGHUP cancel the run's task, so the pipeline closes its
source (the probes are detached) and the --write capture is finalised; a
second signal, or an orderly stop stuck for ``STOP_GRACE_S`` behind a call
into bcc (the probes still compiling), leaves at once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from ctop_ebpf.capture.format import CaptureError

from .exit_codes import EXIT_OK
from .session import Session

# after SIGINT/SIGTERM/SIGHUP, how long an orderly stop may take before the
# process leaves anyway (a bcc compile in progress cannot be interrupted)
STOP_GRACE_S = 2.0
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def finalise(session: Session, holder: dict) -> None:
    """Close the --write capture (or discard it when nothing was recorded), release the session."""
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


def leave(session: Session, holder: dict, cleanups=()) -> None:
    """The orderly stop is stuck behind a call into bcc (the probes still
    compiling): finalise the capture and exit now. Every probe is attached
    through a file descriptor, so the kernel detaches them at exit."""
    for cleanup in cleanups:
        try:
            cleanup()
        except Exception:  # noqa: BLE001 - leaving anyway
            pass
    finalise(session, holder)
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        pass
    sys.stderr.flush()
    os._exit(EXIT_OK)


def interrupt_on_signals() -> None:
    """Until the run's task takes them over (stop_on_signals): SIGTERM and
    SIGHUP interrupt like SIGINT does (KeyboardInterrupt, an orderly exit 0)."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    for sig in STOP_SIGNALS:
        signal.signal(sig, interrupt)


def stop_on_signals(session: Session, holder: dict, cleanups=()) -> None:
    """In the running task: the stop signals cancel it (see the module doc)."""
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    stopping = False

    def stop() -> None:
        nonlocal stopping
        if stopping:  # a second signal: leave at once
            leave(session, holder, cleanups)
        stopping = True
        task.cancel()
        loop.call_later(STOP_GRACE_S, leave, session, holder, cleanups)

    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop)
