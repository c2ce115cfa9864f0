"""Build the BPF program text from the packaged .c files, compile, attach.

``build_text`` is pure (golden-testable and printed by ``--dump-probes``);
``load`` does the privileged work and turns every failure into a ProbeError.
"""

from __future__ import annotations

import ctypes
import os
import re
import tempfile
from importlib import resources

from . import environment
from .errors import BccMissingError, CompileError
from .syscall_numbers import io_defines, syscall_names

# Order matters: later files use maps declared by earlier ones.
SOURCES = ("common.h", "syscalls.c", "process.c", "files.c", "sockets.c", "dispatch.c")

HANDLER_RE = re.compile(r"^SYSCALL_(ENTER|EXIT)\((\w+)\)", re.M)


def read_source(name: str) -> str:
    return resources.files(__package__).joinpath("bpf", name).read_text()


def handlers(text: str) -> list[tuple[str, str, str]]:
    """(array, function, syscall) for every SYSCALL_ENTER/SYSCALL_EXIT handler."""
    return [
        ("enter_progs" if kind == "ENTER" else "exit_progs", f"{kind.lower()}_{name}", name)
        for kind, name in HANDLER_RE.findall(text)
    ]


def install_handlers(bpf, text: str) -> list[str]:
    """Load each handler and put it in its tail-call array at its syscall's
    number. Syscalls this architecture lacks (open, creat, ...) are skipped."""
    from bcc import BPF  # noqa: PLC0415

    numbers = {name: nr for nr, name in syscall_names().items()}
    installed = []
    for array, func, syscall in handlers(text):
        nr = numbers.get(syscall)
        if nr is None or nr >= 1024:
            continue
        fn = bpf.load_func(func.encode(), BPF.RAW_TRACEPOINT)
        bpf[array][ctypes.c_int(nr)] = ctypes.c_int(fn.fd)
        installed.append(f"{func}@{nr}")
    return installed


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


def default_defines() -> list[str]:
    return io_defines() + [f"-DSELF_TGID={os.getpid()}"]


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
    environment.tracefs_dir()  # mounted, or a TracefsError with the fix
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
        text = build_text(default_defines())
    capture = _StderrCapture()
    try:
        with capture:
            bpf = BPF(text=text.encode())
            install_handlers(bpf, text)
    except Exception as exc:  # bcc raises bare Exception on compile/attach failure
        detail = getattr(capture, "text", "").strip()
        tail = "\n".join(detail.splitlines()[-15:])
        raise CompileError(
            f"The BPF programs failed to compile or attach: {exc}.\n{tail}\n"
            "Check that kernel headers are installed (Debian: linux-headers-<arch>) "
            "and that the kernel has BPF and tracepoints enabled."
        ) from None
    _release_compiler_heap()
    return bpf


def _release_compiler_heap() -> None:
    """Give the compiler's freed heap back to the system (glibc keeps it
    otherwise: ~20 MB of the resident set after a compile)."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass
