"""Where the kernel headers come from, in order, on hosts that have none.

The selection is tested on folders and archives made here; the steps a host
without headers needs are also tested for real: an archive in the layout of
the kernel's /sys/kernel/kheaders.tar.xz (this kernel has no CONFIG_IKHEADERS,
so the archive is built from the installed Debian headers and handed to the
code as a parameter), unpacked, and bcc compiling the probes against it; the
same unpacked set as a shipped folder; and, as a control, bcc failing against
a set with no headers in it, which shows the folder named is the one used."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from ctop_ebpf.probes import environment
from ctop_ebpf.probes.environment import ENV_SOURCE, KernelHeadersError, ensure_kernel_headers


def header_set(d: Path, marker: str = "") -> Path:
    (d / "include" / "linux").mkdir(parents=True)
    (d / "arch" / "x86" / "include").mkdir(parents=True)
    (d / "include" / "linux" / "kconfig.h").write_text(f"/* {marker} */\n")
    return d


def tarball(path: Path, members: list[tuple[str, bytes | None, str]]) -> Path:
    """(name, data or None for a folder, link target or "") entries, xz-compressed."""
    with tarfile.open(path, "w:xz") as tar:
        for name, data, link in members:
            info = tarfile.TarInfo(name)
            if link:
                info.type, info.linkname = tarfile.SYMTYPE, link
                tar.addfile(info)
            elif data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def empty(tmp_path):
    """No host headers, no installed set, no archive, nothing shipped."""
    return dict(modules_root=tmp_path / "modules", src_root=tmp_path / "src", kheaders=tmp_path / "none.tar.xz",
                shipped=(tmp_path / "shipped",))


def test_failing_all_lists_what_was_tried(empty):
    with pytest.raises(KernelHeadersError) as err:
        ensure_kernel_headers("6.18.4", environ={ENV_SOURCE: "/nowhere"}, **empty)
    text = str(err.value)
    for step in (f"{ENV_SOURCE}=/nowhere", "modules/6.18.4/build", "linux-headers-*", "none.tar.xz",
                 "shipped", "apt-get install linux-headers"):
        assert step in text, step


def test_named_folder_after_the_hosts_and_before_the_shipped(tmp_path, empty):
    named = header_set(tmp_path / "named")
    shipped = header_set(tmp_path / "shipped")
    env = {ENV_SOURCE: str(named)}
    assert ensure_kernel_headers("6.18.4", environ=env, **empty) == named
    assert env[ENV_SOURCE] == str(named)
    # the node's own headers win: the name is taken out of bcc's environment
    build = header_set(tmp_path / "modules" / "6.18.4" / "build")
    env = {ENV_SOURCE: str(named)}
    assert ensure_kernel_headers("6.18.4", environ=env, **empty) == build
    assert ENV_SOURCE not in env
    build.rename(tmp_path / "away")
    # a named folder that holds no headers: the shipped set
    env = {ENV_SOURCE: str(tmp_path / "modules")}
    assert ensure_kernel_headers("6.18.4", environ=env, **empty) == shipped
    assert env[ENV_SOURCE] == str(shipped)


def test_kernel_archive_unpacked_and_named_to_bcc(tmp_path, empty):
    archive = tarball(tmp_path / "kheaders.tar.xz", [
        ("include", None, ""), ("include/linux", None, ""), ("include/linux/kconfig.h", b"/* kheaders */", ""),
        ("arch/x86/include/asm/ptrace.h", b"/* asm */", ""),
        ("include/linux/up.h", None, "../../arch/x86/include/asm/ptrace.h"),  # a link that stays inside
        ("../evil.h", b"x", ""), ("/tmp/abs-evil.h", b"x", ""),  # paths that leave: skipped
        ("include/linux/out.h", None, "../../../../etc/passwd"),  # a link that leaves: skipped
    ])
    env: dict = {}
    got = ensure_kernel_headers("6.18.4", environ=env, **{**empty, "kheaders": archive})
    assert env[ENV_SOURCE] == str(got) and got.name.startswith("ctop-ebpf-kheaders-")
    assert (got / "include/linux/kconfig.h").read_text() == "/* kheaders */"
    assert (got / "include/linux/up.h").read_text() == "/* asm */"
    assert not (got / "include/linux/out.h").exists()
    assert not (got.parent / "evil.h").exists() and not Path("/tmp/abs-evil.h").exists()
    # an archive that is not one: the next step, and the reason in the message
    bad = tmp_path / "bad.tar.xz"
    bad.write_bytes(b"not an archive")
    with pytest.raises(KernelHeadersError) as err:
        ensure_kernel_headers("6.18.4", environ={}, **{**empty, "kheaders": bad})
    assert "cannot unpack" in str(err.value)


def test_shipped_sets_nearest_version(tmp_path, empty):
    base = tmp_path / "shipped"
    for version in ("5.10.0", "6.1.0", "6.12.0"):
        header_set(base / version, version)
    env: dict = {}
    assert ensure_kernel_headers("6.18.4", environ=env, **empty) == base / "6.12.0"
    assert ensure_kernel_headers("6.2.1", environ={}, **empty) == base / "6.1.0"
    assert env[ENV_SOURCE] == str(base / "6.12.0")


def test_host_headers_come_before_the_fallbacks(tmp_path, empty):
    build = header_set(tmp_path / "modules" / "6.18.4" / "build")
    archive = tarball(tmp_path / "k.tar.xz", [("include/linux/kconfig.h", b"", "")])
    env: dict = {}
    assert ensure_kernel_headers("6.18.4", environ=env, **{**empty, "kheaders": archive}) == build
    assert ENV_SOURCE not in env


COMPILE = r"""
import json, os, sys
from pathlib import Path
from ctop_ebpf.probes import environment, loader
from bcc import BPF
how, arg, empty = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
os.environ.pop("BCC_KERNEL_SOURCE", None)
roots = dict(modules_root=empty / "m", src_root=empty / "s", kheaders=empty / "none", shipped=(empty / "none",))
if how == "kheaders":
    roots["kheaders"] = arg
elif how == "shipped":
    roots["shipped"] = (arg,)
else:
    os.environ["BCC_KERNEL_SOURCE"] = str(arg)
used = environment.ensure_kernel_headers(**roots)
try:
    b = BPF(text=loader.build_text(loader.default_defines()).encode())
    n = len(loader.install_handlers(b, loader.build_text(loader.default_defines())))
    b.cleanup()
    print(json.dumps({"used": str(used), "env": os.environ.get("BCC_KERNEL_SOURCE"), "handlers": n}))
except Exception as exc:
    print(json.dumps({"used": str(used), "error": str(exc)[:200]}))
"""


@pytest.mark.kernel
def test_probes_compile_against_an_archive_and_a_shipped_set(kernel, tmp_path):
    """The honest simulation of a host without headers: Debian's installed 6.1 headers
    packed in the kheaders layout (include/, arch/x86/), unpacked by the code, bcc
    compiling the probes; then the same set shipped as a folder; then a set with no
    headers, which bcc must fail on."""
    common = sorted(Path("/usr/src").glob("linux-headers-*-common"))
    if not common:
        pytest.skip("no Debian kernel headers installed: apt-get install linux-headers-amd64")
    arch_dir = Path(str(common[-1]).replace("-common", f"-{environment._debian_arch()}"))
    archive = tmp_path / "kheaders.tar.xz"
    with tarfile.open(archive, "w:xz", preset=0) as tar:
        for top in (common[-1], arch_dir):
            tar.add(top / "include", "include")
            tar.add(top / "arch" / "x86", "arch/x86")
    empty = tmp_path / "empty"
    empty.mkdir()

    def run(how: str, arg: Path) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", COMPILE, how, str(arg), str(empty)], capture_output=True,
                              text=True, timeout=300, env={k: v for k, v in os.environ.items()
                                                           if k != ENV_SOURCE})

    def compile_with(how: str, arg: Path) -> dict:
        out = run(how, arg)
        assert out.returncode == 0, out.stderr[-2000:]
        return json.loads(out.stdout.strip().splitlines()[-1])

    got = compile_with("kheaders", archive)
    assert "ctop-ebpf-kheaders-" in got["used"] and got["env"] == got["used"], got
    assert got.get("handlers", 0) > 10, got
    unpacked = tmp_path / "shipped"
    with tarfile.open(archive) as tar:
        tar.extractall(unpacked)  # made above from the installed headers
    got = compile_with("shipped", unpacked)
    assert got["used"] == str(unpacked) and got.get("handlers", 0) > 10, got
    # the control: a named folder with no real headers in it; bcc fails on it (its
    # error, or a crash of libbcc after it), so the folders above were the ones used
    out = run("named", header_set(tmp_path / "hollow"))
    assert "'linux/types.h' file not found" in out.stderr, out.stderr[-2000:]
    assert out.returncode != 0 or "error" in out.stdout
