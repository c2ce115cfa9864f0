"""Build the BPF program text from the packaged .c files, compile, attach.

``build_text`` is pure (golden-testable and printed by ``--dump-probes``);
``load`` does the privileged work and turns every failure into a ProbeError.
"""

from __future__ import annotations

import os
import tempfile
from importlib import resources
from pathlib import Path

from . import environment
from .errors import BccMissingError, CompileError
from .syscall_numbers import io_defines

# Order matters: later files use maps declared by earlier ones.
SOURCES = ("common.h", "syscalls.c", "process.c", "files.c", "sockets.c")

# Syscall tracepoints that not every architecture has; each maps to a -D flag.
OPTIONAL_TRACEPOINTS = {
    "sys_enter_open": "HAVE_SYS_OPEN",
    "sys_enter_creat": "HAVE_SYS_CREAT",
    "sys_enter_dup2": "HAVE_SYS_DUP2",
    "sys_enter_pipe": "HAVE_SYS_PIPE",
    "sys_enter_accept": "HAVE_SYS_ACCEPT",
}


def read_source(name: str) -> str:
    return resources.files(__package__).joinpath("bpf", name).read_text()


def feature_defines(syscall_tracepoints: set[str]) -> list[str]:
    return [f"-D{flag}" for tp, flag in sorted(OPTIONAL_TRACEPOINTS.items()) if tp in syscall_tracepoints]


def build_text(defines: list[str]) -> str:
    """The complete program: our -D flags as #defines, then every source file."""
    lines = []
    for d in defines:
        name, _, value = d[2:].partition("=")
        lines.append(f"#define {name} {value}".rstrip())
    parts = ["\n".join(lines)]
    for name in SOURCES:
        text = read_source(name)
        if name == "common.h":
            parts.append(text)
        else:
            parts.append(f"/* ---- {name} ---- */\n{text}")
    return "\n\n".join(parts) + "\n"


def default_defines(tracefs: Path | None = None) -> list[str]:
    tps = environment.available_tracepoints("syscalls", tracefs)
    return io_defines() + feature_defines(tps) + [f"-DSELF_TGID={os.getpid()}"]


class _StderrCapture:
    """Send fd 2 to a temp file while libbcc/clang talk, so nothing reaches the terminal."""

    def __enter__(self):
        self._tmp = tempfile.TemporaryFile(mode="w+b")
        self._saved = os.dup(2)
        os.dup2(self._tmp.fileno(), 2)
        return self

    def __exit__(self, *exc):
        os.dup2(self._saved, 2)
        os.close(self._saved)
        self._tmp.seek(0)
        self.text = self._tmp.read().decode("utf-8", "replace")
        self._tmp.close()
        return False


def load(text: str | None = None):
    """Check the machine, compile and attach; returns the bcc.BPF object."""
    environment.check_privileges()
    tracefs = environment.tracefs_dir()
    environment.ensure_kernel_headers()
    try:
        from bcc import BPF  # noqa: PLC0415 (bcc is optional until we need the kernel)
    except ImportError as exc:
        raise BccMissingError(
            "The bcc Python module is not importable. Install it from your "
            "distribution (Debian/Ubuntu: `apt-get install python3-bpfcc`; Fedora: "
            "`dnf install python3-bcc`) and run ctop-ebpf with that distribution's "
            "python3, or from a venv made with --system-site-packages "
            f"(`make setup` does this). ({exc})"
        ) from None
    if text is None:
        text = build_text(default_defines(tracefs))
    capture = _StderrCapture()
    try:
        with capture:
            bpf = BPF(text=text)
    except Exception as exc:  # bcc raises bare Exception on compile/attach failure
        detail = getattr(capture, "text", "").strip()
        tail = "\n".join(detail.splitlines()[-15:])
        raise CompileError(
            f"The BPF programs failed to compile or attach: {exc}.\n{tail}\n"
            "Check that kernel headers are installed (Debian: linux-headers-<arch>) "
            "and that the kernel has BPF and tracepoints enabled."
        ) from None
    return bpf
