"""The composition root of the TUI: a Session in, an exit code out.

``run_tui(session)`` wires the live pieces into ``tui.app.CtopApp``: the event
source (built by ``session.make_source`` in the app's worker, with a
``progress`` callback that the start-up screen shows), the host sampler for
the header, and the start view, filter, sort, delay and ``--readonly``.

Exit codes: 0 quit, 2 bad input (a usage error found while starting), 3
missing privilege or kernel support (``ProbeError.exit_code``), shown first
as a readable screen with the fix.
"""

from __future__ import annotations

from model.hostinfo import HostSampler

from .session import Session, UsageError

EXIT_OK, EXIT_USAGE = 0, 2


class StartupUsageError(Exception):
    """A usage error found only when the source is built (e.g. --read of a bad file)."""

    exit_code = EXIT_USAGE


def source_factory(session: Session):
    """``progress -> EventSource``: checks privilege, then builds the source."""

    def make(progress):
        progress("checking privileges" if not session.read else f"opening {session.read}")
        session.preflight()
        try:
            return session.make_source(progress=progress)
        except UsageError as exc:
            raise StartupUsageError(str(exc)) from None

    return make


def build_app(session: Session, source=None, host=None):
    """The app for ``session``; ``source`` (an EventSource or factory) replaces the live one."""
    from tui.app import CtopApp  # noqa: PLC0415 - Textual is only loaded for the TUI

    if host is None and not session.read:
        host = HostSampler()
    label = f"replay {session.read}" if session.read else ""
    return CtopApp(
        source if source is not None else source_factory(session),
        view=session.view, filter_text=session.filter_text, sort=session.sort,
        desc=session.sort_desc, delay=session.delay, readonly=session.readonly,
        host=host, source_label=label,
    )


def run_tui(session: Session, source=None) -> int:
    from tui.app import configure_gc  # noqa: PLC0415

    configure_gc()
    app = build_app(session, source)
    app.run()
    code = app.return_code
    return code if isinstance(code, int) else EXIT_OK
