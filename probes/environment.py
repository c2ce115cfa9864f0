"""What the probes need from the machine: privilege, tracefs, kernel headers.

bcc compiles our C at start-up and wants kernel headers under
/lib/modules/$(uname -r)/{build,source}. Our programs use only tracepoint
arguments and BPF helpers, never kernel struct layouts, so the headers of a
nearby kernel version serve as well; distributions often ship none for the
running kernel. ``ensure_kernel_headers`` finds the nearest installed set
and links it where bcc looks.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
from pathlib import Path

from .errors import KernelHeadersError, PrivilegeError, TracefsError  # noqa: F401 (re-exported)

CAP_SYS_ADMIN = 21
CAP_PERFMON = 38
CAP_BPF = 39

TRACEFS_DIRS = (Path("/sys/kernel/tracing"), Path("/sys/kernel/debug/tracing"))


def effective_caps(status_path: str = "/proc/self/status") -> int:
    try:
        with open(status_path) as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return int(line.split()[1], 16)
    except OSError:
        pass
    return 0


def check_privileges() -> None:
    """Raise PrivilegeError unless we are root or hold CAP_BPF + CAP_PERFMON."""
    if os.geteuid() == 0:
        return
    caps = effective_caps()
    missing = [
        name
        for bit, name in ((CAP_BPF, "CAP_BPF"), (CAP_PERFMON, "CAP_PERFMON"))
        if not caps & (1 << bit) and not caps & (1 << CAP_SYS_ADMIN)
    ]
    if missing:
        raise PrivilegeError(
            "ctop-ebpf loads eBPF programs into the kernel, which needs root or the "
            f"capabilities CAP_BPF and CAP_PERFMON (missing: {', '.join(missing)}). "
            "Run it with sudo (sudo ctop-ebpf), or grant the capabilities with "
            "`sudo setcap cap_bpf,cap_perfmon+ep` on the interpreter. "
            "Replaying a capture (--read FILE), --help, --version, --list-fields and "
            "--list-views work without privilege."
        )


def tracefs_dir() -> Path:
    """Return a mounted tracefs, mounting it at /sys/kernel/tracing when we can."""
    for d in TRACEFS_DIRS:
        if (d / "events").is_dir():
            return d
    target = TRACEFS_DIRS[0]
    if os.geteuid() == 0 and target.is_dir():
        result = subprocess.run(
            ["mount", "-t", "tracefs", "tracefs", str(target)],
            capture_output=True, text=True, check=False,
        )
        if (target / "events").is_dir():
            return target
        detail = result.stderr.strip()
    else:
        detail = "not root"
    raise TracefsError(
        "tracefs is not mounted, so the kernel's tracepoints cannot be attached "
        f"({detail}). Mount it as root: `mount -t tracefs tracefs /sys/kernel/tracing` "
        "(the kernel needs CONFIG_FTRACE)."
    )


def _version_key(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", text)[:3])


def _headers_ok(build: Path) -> bool:
    return (build / "include").is_dir() or (build / "Makefile").is_file()


def _find_header_sets(src_root: Path) -> list[tuple[Path, Path]]:
    """(build, source) pairs under /usr/src: Debian splits headers into
    linux-headers-V-ARCH (build, generated files) and linux-headers-V-common."""
    pairs = []
    try:
        dirs = sorted(p for p in src_root.iterdir() if p.name.startswith("linux-headers-"))
    except OSError:
        return pairs
    for d in dirs:
        if d.name.endswith("-common") or not (d / "include" / "generated").is_dir() and not (d / "arch").is_dir():
            continue
        m = re.match(r"linux-headers-(\d+\.\d+\.\d+-\d+)-", d.name)
        common = src_root / f"linux-headers-{m.group(1)}-common" if m else None
        if common is not None and common.is_dir():
            pairs.append((d, common))
        elif (d / "include" / "linux" / "kconfig.h").is_file():
            pairs.append((d, d))
    return pairs


def ensure_kernel_headers(
    release: str | None = None,
    modules_root: Path = Path("/lib/modules"),
    src_root: Path = Path("/usr/src"),
) -> Path:
    """Make sure bcc finds kernel headers; return the build directory used."""
    release = release or platform.release()
    build = modules_root / release / "build"
    if build.exists() and _headers_ok(build):
        return build
    pairs = _find_header_sets(src_root)
    if not pairs:
        arch = _debian_arch()
        raise KernelHeadersError(
            f"No kernel headers are installed, and bcc needs some to compile the probes "
            f"(it looked in {build} and {src_root}). Install them: on Debian "
            f"`apt-get install linux-headers-{arch}` (headers of a nearby version work: "
            "the probes use only tracepoints), on Ubuntu `apt-get install "
            f"linux-headers-{release}`, on Fedora `dnf install kernel-devel`."
        )
    want = _version_key(release)
    pairs.sort(key=lambda p: tuple(abs(a - b) for a, b in zip(_version_key(p[0].name[14:]), want)))
    chosen_build, chosen_source = pairs[0]
    if os.geteuid() != 0:
        raise KernelHeadersError(
            f"bcc looks for kernel headers in {build}, which is missing; headers are "
            f"installed in {chosen_build}. Run ctop-ebpf as root once so it can link them, "
            f"or link them yourself: `ln -s {chosen_build} {build}`."
        )
    (modules_root / release).mkdir(parents=True, exist_ok=True)
    for link, target in ((build, chosen_build), (modules_root / release / "source", chosen_source)):
        if link.is_symlink() or not link.exists():
            if link.is_symlink():
                link.unlink()
            link.symlink_to(target)
    return build


def _debian_arch() -> str:
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
