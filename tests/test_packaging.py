"""The package as a user installs it: a wheel built from the checkout holds one
import namespace (ctop_ebpf) with its BPF sources and styles, and the
installed ``ctop-ebpf`` runs live from a folder outside the checkout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.batch_run import ROOT

SYSTEM_PYTHON = "/usr/bin/python3"  # the distribution's Python: bcc comes with it


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(ROOT)],
                   check=True, timeout=300, capture_output=True)
    (found,) = out.glob("ctop_ebpf-*.whl")
    return found


def test_the_wheel_holds_one_namespace_with_its_data(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/", 1)[0] for n in names}
    assert tops == {"ctop_ebpf", next(t for t in tops if t.endswith(".dist-info"))}, tops
    bpf = {os.path.basename(n) for n in names if n.startswith("ctop_ebpf/probes/bpf/")}
    assert bpf == {p.name for p in (ROOT / "probes" / "bpf").iterdir() if p.suffix in (".c", ".h")}
    assert "ctop_ebpf/tui/ctop.tcss" in names
    for package in ("probes/procfs", "probes/containers", "capture", "views/filter", "tui/screens", "metrics"):
        assert f"ctop_ebpf/{package}/__init__.py" in names
    # development fixtures stay in the checkout
    assert not [n for n in names if "scenario" in n or "screenshots" in n or n.startswith("tests/")]


def test_every_source_package_is_in_the_wheel(wheel):
    """A new folder with an __init__.py must be listed in pyproject.toml."""
    names = set(zipfile.ZipFile(wheel).namelist())
    mapping = {"ctop_ebpf": "ctop_ebpf", "probes": "ctop_ebpf/probes", "model": "ctop_ebpf/model",
               "capture": "ctop_ebpf/capture", "views": "ctop_ebpf/views", "tui": "ctop_ebpf/tui",
               "metrics": "ctop_ebpf/metrics"}
    for folder, installed in mapping.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.relative_to(ROOT / folder).as_posix()
            assert f"{installed}/{rel}" in names, f"{folder}/{rel} is not packaged"


@pytest.mark.kernel
def test_the_installed_program_runs_live_outside_the_checkout(kernel, wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([SYSTEM_PYTHON, "-m", "venv", "--system-site-packages", str(venv)], check=True,
                   timeout=120)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", str(wheel)],
                   check=True, timeout=600, capture_output=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    ctop = str(venv / "bin" / "ctop-ebpf")
    version = subprocess.run([ctop, "--version"], cwd=elsewhere, env=env, capture_output=True, text=True,
                             timeout=60)
    assert version.returncode == 0 and version.stdout.startswith("ctop-ebpf "), version
    done = subprocess.run([ctop, "--batch", "--output", "json", "--view", "processes", "--iterations", "1",
                           "--delay", "0.5"], cwd=elsewhere, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    tick = json.loads(done.stdout.splitlines()[0])
    # live: the kernel counted system calls of the processes it lists
    assert sum(row["syscalls"] for row in tick["rows"]) > 0, tick
    # what it imported came from the venv, not from this checkout
    where = subprocess.run([str(venv / "bin" / "python"), "-c",
                            "import ctop_ebpf.probes.loader as m; print(m.__file__)"],
                           cwd=elsewhere, env=env, capture_output=True, text=True, timeout=60)
    assert where.stdout.startswith(str(venv)), where
    site = next((venv / "lib").glob("python3*/site-packages"))
    installed = {p.name for p in site.iterdir()}
    for stray in ("model", "probes", "views", "tui", "capture", "metrics"):
        assert stray not in installed
