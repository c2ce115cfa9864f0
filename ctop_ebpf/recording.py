"""--write and --read: the capture writer and the replay source, as the CLI opens them.

Any failure to open a capture becomes a UsageError (exit 2, one line on stderr).
Importing this module loads no bcc (only the host's passwd reader).
"""

from __future__ import annotations

import os
import sys

from ctop_ebpf.capture.format import CaptureError
from ctop_ebpf.capture.replay import ReplaySource
from ctop_ebpf.capture.writer import CaptureWriter, RecordingSource
from ctop_ebpf.probes.procfs.users import user_name

from . import __version__
from .session import UsageError


def warn_stderr(message: str) -> None:
    print(f"ctop-ebpf: warning: {message}", file=sys.stderr, flush=True)


def terminal_warner():
    """A ``warn`` that writes to the stderr of now, even while the probes
    compile (the compiler's chatter is kept off the terminal by pointing fd 2
    elsewhere, and a runtime's notice from another thread may come meanwhile)."""
    try:
        err = os.fdopen(os.dup(2), "w", buffering=1)
    except OSError:
        return warn_stderr

    def write(message: str) -> None:
        try:
            print(f"ctop-ebpf: warning: {message}", file=err, flush=True)
        except (OSError, ValueError):
            warn_stderr(message)

    return write


def open_replay(path: str, pace: str = "recorded") -> ReplaySource:
    """The capture at ``path`` as an EventSource; UsageError if it cannot be replayed."""
    try:
        return ReplaySource(path, pace=pace, warn=warn_stderr)
    except CaptureError as exc:
        raise UsageError(str(exc)) from None


def open_writer(path: str, *, force: bool = False, interval_s: float = 0.0) -> CaptureWriter:
    """Create the capture file (mode 0600); UsageError if it exists (without force) or
    cannot be created."""
    try:
        return CaptureWriter.create(path, tool_version=__version__, user_name=user_name,
                                    force=force, interval_s=interval_s)
    except CaptureError as exc:
        raise UsageError(str(exc)) from None


__all__ = ["CaptureError", "RecordingSource", "open_replay", "open_writer", "terminal_warner", "warn_stderr"]
