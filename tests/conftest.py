"""Shared test set-up.

Under CI=true a skipped test fails the run: the kernel and Docker tests must
really run there (CI is root on a machine like the developers').
"""

from __future__ import annotations

import os
import time

import pytest

pytest_plugins = ["tests.conftest_docker", "tests.conftest_runtimes"]

IN_CI = os.environ.get("CI") == "true"
_skipped: list[str] = []


def pytest_runtest_logreport(report):
    if report.skipped:
        _skipped.append(f"{report.nodeid}: {report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr}")


def pytest_terminal_summary(terminalreporter):
    if IN_CI and _skipped:
        terminalreporter.section("skipped under CI=true (counted as failures)")
        for line in _skipped:
            terminalreporter.write_line(line)


def pytest_sessionfinish(session, exitstatus):
    if IN_CI and _skipped and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def restore_tz():
    """Whatever the test does to TZ is undone afterwards."""
    old = os.environ.get("TZ")
    yield
    if old is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = old
    time.tzset()


@pytest.fixture(scope="session")
def kernel():
    """Root, bcc and a BPF kernel: the live probes can run."""
    if os.geteuid() != 0:
        pytest.skip("needs root to load BPF programs")
    try:
        import bcc  # noqa: F401
    except ImportError:
        pytest.skip("bcc (python3-bpfcc) is not importable")
    return True
