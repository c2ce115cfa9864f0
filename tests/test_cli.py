"""The command line as a user meets it: exit codes and messages, no tracebacks."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ctop_ebpf.probes import environment, loader
from tests.batch_run import ROOT


def ctop(*args, timeout=60):
    return subprocess.run([sys.executable, "-m", "ctop_ebpf", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT)


@pytest.mark.parametrize("args,needle", [
    (["--view", "nope"], "invalid choice"),
    (["--delay", "-1"], "positive number"),
    (["--delay", "abc"], "not a number"),
    (["--iterations", "0"], "at least 1"),
    (["--buffer-pages", "3"], "power of two"),
    (["--bogus"], "unrecognized arguments"),
    (["--batch", "--filter", "proc.nmae = x"], "did you mean proc.name"),
    (["--batch", "--filter", "proc.name ="], "column"),
    (["--batch", "--view", "files", "--sort", "nope"], "no column 'nope'"),
])
def test_bad_usage_exits_2_with_a_message(args, needle):
    done = ctop(*args)
    assert done.returncode == 2, done
    assert needle in done.stderr
    assert "Traceback" not in done.stderr


def test_info_options_need_no_privilege():
    assert ctop("--version").stdout.startswith("ctop-ebpf ")
    assert "--batch" in ctop("--help").stdout
    fields = ctop("--list-fields").stdout
    assert "proc.name" in fields and "fd.name" in fields
    views = ctop("--list-views").stdout
    for v in ("containers", "processes", "files", "connections", "syscalls", "errors", "execs", "opens"):
        assert v in views


def test_dump_probes_prints_every_source():
    text = loader.build_text(loader.default_defines())
    for name in loader.SOURCES:
        assert loader.read_source(name).strip().splitlines()[-1] in text
    assert "#define NR_read" in text and "SELF_TGID" in text


def test_kernel_headers_are_found_and_linked(tmp_path, monkeypatch):
    src = tmp_path / "src"
    (src / "linux-headers-6.1.0-9-amd64" / "include" / "generated").mkdir(parents=True)
    (src / "linux-headers-6.1.0-9-common" / "include" / "linux").mkdir(parents=True)
    (src / "linux-headers-5.10.0-1-amd64" / "include" / "generated").mkdir(parents=True)
    (src / "linux-headers-5.10.0-1-common").mkdir()
    mods = tmp_path / "modules"
    monkeypatch.setattr(environment.os, "geteuid", lambda: 0)
    build = environment.ensure_kernel_headers("6.18.4-custom", mods, src)
    assert build.resolve() == (src / "linux-headers-6.1.0-9-amd64").resolve()
    assert (mods / "6.18.4-custom" / "source").resolve() == (src / "linux-headers-6.1.0-9-common").resolve()


def test_no_kernel_headers_names_the_package(tmp_path):
    with pytest.raises(environment.KernelHeadersError) as err:
        environment.ensure_kernel_headers("6.18.4", tmp_path / "m", tmp_path / "none")
    assert "linux-headers" in str(err.value)


@pytest.mark.parametrize("option", ["--help", "--version", "--list-fields", "--list-views"])
def test_info_options_work_as_an_unprivileged_user(option):
    import os
    import shutil

    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("runs as root and drops privilege with setpriv")
    done = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
         sys.executable, "-m", "ctop_ebpf", option],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() and "Traceback" not in done.stderr
