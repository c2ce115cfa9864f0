"""What the probes need from the machine: privilege, tracefs, kernel headers.

bcc compiles our C at start-up and wants kernel headers. Our programs use
only tracepoint arguments and BPF helpers, never kernel struct layouts, so
the headers of a nearby kernel version serve as well; distributions often
ship none for the running kernel, and container-optimized OSes none at all.
``ensure_kernel_headers`` tries, in order:

1. the running kernel's own, ``/lib/modules/$(uname -r)/build``;
2. the nearest installed set under ``/usr/src`` (Debian's
   ``linux-headers-*``), linked where bcc looks;
3. the kernel's built-in archive ``/sys/kernel/kheaders.tar.xz``
   (CONFIG_IKHEADERS), unpacked into a private temporary folder;
4. a folder named by ``BCC_KERNEL_SOURCE``, then a set shipped beside the
   program (``SHIPPED_HEADERS``: a folder holding ``include/`` and
   ``arch/``, or one such folder per kernel version, the nearest taken),
   which is how an image for hosts without headers carries them.

bcc reads ``BCC_KERNEL_SOURCE`` before anything else, so it is set to what
was found for 3 and 4 and taken out of the environment for 1 and 2 (an
image that names its own set there still uses the node's headers when the
node has some). Failing all, KernelHeadersError (exit 3) lists what was tried.
"""

from __future__ import annotations

import atexit
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
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


KHEADERS = Path("/sys/kernel/kheaders.tar.xz")
ENV_SOURCE = "BCC_KERNEL_SOURCE"
# header sets shipped with the program: under the installation's prefix, or beside the package
SHIPPED_HEADERS = (Path(sys.prefix) / "share" / "ctop-ebpf" / "kernel-headers",
                   Path(__file__).resolve().parent.parent / "kernel-headers")


def _header_set(d: Path) -> bool:
    """A folder bcc can compile against: the kernel's ``include/`` and ``arch/``."""
    return (d / "include" / "linux").is_dir() and (d / "arch").is_dir()


def _nearest(sets: list[Path], release: str, name=lambda p: p.name) -> Path:
    want = _version_key(release)
    return min(sets, key=lambda p: tuple(abs(a - b) for a, b in zip(_version_key(name(p)) or (0,), want)))


def ensure_kernel_headers(
    release: str | None = None,
    modules_root: Path = Path("/lib/modules"),
    src_root: Path = Path("/usr/src"),
    *,
    kheaders: Path = KHEADERS,
    shipped: tuple[Path, ...] = SHIPPED_HEADERS,
    environ=None,
) -> Path:
    """Make sure bcc finds kernel headers; return the folder it will use.

    ``environ`` (os.environ by default) is where BCC_KERNEL_SOURCE is read and,
    for the archive and the shipped sets, written."""
    environ = os.environ if environ is None else environ
    release = release or platform.release()
    tried: list[str] = []
    named = environ.pop(ENV_SOURCE, "")  # bcc would take it before anything else
    build = modules_root / release / "build"
    if build.exists() and _headers_ok(build):
        return build
    tried.append(f"{build} (missing)")
    pairs = _find_header_sets(src_root)
    if pairs:
        return _link_nearest(pairs, release, modules_root, build)
    tried.append(f"{src_root}/linux-headers-* (none installed)")
    if kheaders.is_file():
        try:
            folder = _unpack_kheaders(kheaders)
        except (OSError, tarfile.TarError, EOFError, ValueError) as exc:
            tried.append(f"{kheaders} (cannot unpack: {exc})")
        else:
            environ[ENV_SOURCE] = str(folder)
            return folder
    else:
        tried.append(f"{kheaders} (the kernel has no CONFIG_IKHEADERS archive, or kheaders is not loaded)")
    if named:
        if _header_set(Path(named)):
            environ[ENV_SOURCE] = named
            return Path(named)
        tried.append(f"{ENV_SOURCE}={named} (no include/linux and arch/ there)")
    for base in shipped:
        sets = [base] if _header_set(base) else (
            sorted(p for p in base.iterdir() if p.is_dir() and _header_set(p)) if base.is_dir() else [])
        if sets:
            chosen = sets[0] if len(sets) == 1 else _nearest(sets, release)
            environ[ENV_SOURCE] = str(chosen)
            return chosen
        tried.append(f"{base} (no header set shipped there)")
    arch = _debian_arch()
    raise KernelHeadersError(
        "No kernel headers were found, and bcc needs some to compile the probes (headers of a "
        "nearby version work: the probes use only tracepoints). Tried: " + "; ".join(tried) + ". "
        f"Install them: on Debian `apt-get install linux-headers-{arch}`, on Ubuntu `apt-get install "
        f"linux-headers-{release}`, on Fedora `dnf install kernel-devel`; or load the kheaders module "
        f"(`modprobe kheaders`), or name a folder holding include/ and arch/ with {ENV_SOURCE}."
    )


def _link_nearest(pairs: list[tuple[Path, Path]], release: str, modules_root: Path, build: Path) -> Path:
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


def _unpack_kheaders(archive: Path) -> Path:
    """The kernel's header archive unpacked into a private folder (removed at exit).
    Only plain files, folders and links that stay inside are taken."""
    folder = Path(tempfile.mkdtemp(prefix="ctop-ebpf-kheaders-"))
    atexit.register(shutil.rmtree, folder, True)
    with tarfile.open(archive, "r:*") as tar:
        members = []
        for m in tar.getmembers():
            target = os.path.normpath(m.name)
            if target.startswith(("/", "..")) or not (m.isfile() or m.isdir() or m.issym()):
                continue
            if m.issym() and (m.linkname.startswith("/") or os.path.normpath(
                    os.path.join(os.path.dirname(target), m.linkname)).startswith("..")):
                continue
            members.append(m)
        if hasattr(tarfile, "data_filter"):
            tar.extractall(folder, members=members, filter="data")
        else:  # Python before 3.11.4 (Debian 12's 3.11.2): the members were checked above
            tar.extractall(folder, members=members)
    if not _header_set(folder):
        raise ValueError("no include/linux and arch/ in it")
    return folder


def _debian_arch() -> str:
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
