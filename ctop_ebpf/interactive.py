"""The composition root of the TUI: a Session in, an exit code out.

``run_tui(session)`` wires the live pieces into ``tui.app.CtopApp``: the event
source (built by ``session.make_source`` in the app's worker thread, with a
``progress`` callback the start-up screen shows and a ``warn`` callback that
becomes a notification, never stderr), the host sampler for the header (the
capture's host and kernel on ``--read``), the state factory (a replay names
users as the recording host did), and the start view, filter, sort, delay
and ``--readonly``.

Exit codes: 0 quit, 2 bad input found while starting (an unreadable
capture), 3 missing privilege or kernel support (``ProbeError.exit_code``),
each first shown as a readable screen with the fix.
"""

from __future__ import annotations

import os
import sys

from ctop_ebpf.gc_policy import configure_gc
from ctop_ebpf.model.host import HostInfo
from ctop_ebpf.probes.procfs.host import HostSampler

from .exit_codes import EXIT_OK, EXIT_USAGE
from .session import Session, UsageError


class StartupUsageError(Exception):
    """A usage error found only when the source is built (e.g. --read of a bad file)."""

    exit_code = EXIT_USAGE


def source_factory(session: Session, warn=None):
    """``progress -> EventSource``: checks privilege (or opens the capture), then builds
    the source. Runs in a worker thread of the app."""

    def make(progress):
        if session.read:
            progress(f"opening {os.path.basename(session.read)}")
        else:
            progress("checking privileges")
        try:
            session.preflight()
            return session.make_source(progress=progress, warn=warn)
        except UsageError as exc:
            raise StartupUsageError(str(exc)) from None

    return make


def replay_host(session: Session):
    """The recording host as the header shows it (name and kernel; nothing live)."""

    def host() -> HostInfo | None:
        replay = session.replay
        if replay is None:
            return None
        h = replay.header
        return HostInfo(hostname=h.host, kernel=h.kernel)

    return host


def build_app(session: Session, source=None, host=None):
    """The app for ``session``; ``source`` (an EventSource or factory) replaces the live one."""
    from ctop_ebpf.tui.app import CtopApp  # noqa: PLC0415 - Textual is only loaded for the TUI

    if host is None:
        host = replay_host(session) if session.read else HostSampler()
    label = f"replay {os.path.basename(session.read)}" if session.read else ""
    app = None

    def warn(message: str) -> None:  # called from the source, in any thread
        if app is not None:
            app.warn(message)

    app = CtopApp(
        source if source is not None else source_factory(session, warn),
        view=session.view, filter_text=session.filter_text, sort=session.sort,
        desc=session.sort_desc, delay=session.delay, readonly=session.readonly,
        host=host, source_label=label, replay=bool(session.read),
        state_factory=session.make_state, buffer_pages=session.buffer_pages,
    )
    return app


def run_tui(session: Session, source=None) -> int:
    configure_gc()
    try:
        app = build_app(session, source)
        app.run()
    finally:
        session.close()
    code = app.return_code
    code = code if isinstance(code, int) else EXIT_OK
    if code and app.error_text:  # the screen is gone: leave the reason in the terminal
        print(f"ctop-ebpf: {printable_lines(app.error_text)}", file=sys.stderr)
    return code


def printable_lines(text: str) -> str:
    from ctop_ebpf.views.safe_text import printable  # noqa: PLC0415

    return "\n".join(printable(line) for line in text.splitlines())
