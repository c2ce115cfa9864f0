"""Snapshot tests of the main views (pytest-textual-snapshot).

Deterministic: the demo scenario (fixed events and wall clock), a fixed host
(no real hostname, kernel or clock), UTC, a fixed terminal size. Update after
a deliberate change with ``pytest tests/test_tui_snapshots.py --snapshot-update``
and check the report.
"""

from __future__ import annotations

import os
import time

import pytest

from ctop_ebpf.tui.app import CtopApp
from tests.scenario import demo_host, demo_source, demo_state

SIZE = (160, 36)


@pytest.fixture(autouse=True)
def utc(restore_tz):
    os.environ["TZ"] = "UTC"
    time.tzset()


def demo_app(**kwargs) -> CtopApp:
    return CtopApp(demo_source(), host=demo_host, state_factory=demo_state, **kwargs)


def keys(*presses):
    async def run_before(pilot) -> None:
        app = pilot.app
        while app.source_state not in ("ended", "failed"):
            await pilot.pause(0.01)
        await pilot.pause()
        for key in presses:
            await pilot.press(key)
            await pilot.pause()
        inp = app.screen.query("#prompt-input")
        for widget in inp:  # no blinking cursor in a snapshot
            widget.cursor_blink = False
        await pilot.pause()
    return run_before


@pytest.mark.parametrize("view", ["containers", "processes", "files", "connections",
                                  "syscalls", "errors"])
def test_main_views(snap_compare, view):
    assert snap_compare(demo_app(view=view), terminal_size=SIZE, run_before=keys())


def test_drill_down_container_processes_files(snap_compare):
    # web -> its processes -> the first worker's files
    assert snap_compare(demo_app(), terminal_size=SIZE, run_before=keys("enter", "enter"))


def test_drill_down_then_syscalls_with_history(snap_compare):
    assert snap_compare(demo_app(), terminal_size=SIZE, run_before=keys("down", "enter", "5", "g"))


def test_filter_error_in_place(snap_compare):
    async def run_before(pilot) -> None:
        await keys("backslash")(pilot)
        pilot.app.main.prompt.input.value = "proc.name = = nginx"
        await pilot.press("enter")
        await pilot.pause()
    assert snap_compare(demo_app(), terminal_size=SIZE, run_before=run_before)


def test_help_screen(snap_compare):
    assert snap_compare(demo_app(), terminal_size=SIZE, run_before=keys("f1"))


def test_view_picker(snap_compare):
    assert snap_compare(demo_app(), terminal_size=SIZE, run_before=keys("f2"))


def test_error_screen(snap_compare):
    from ctop_ebpf.probes.errors import KernelHeadersError

    def factory(progress):
        raise KernelHeadersError(
            "bcc needs the kernel headers of the running kernel to compile the probes, and none "
            "were found under /lib/modules/6.1.0-demo/build.\n"
            "Install them: sudo apt-get install linux-headers-$(uname -r)")

    app = CtopApp(factory, host=demo_host)

    async def run_before(pilot) -> None:
        while pilot.app.source_state != "failed":
            await pilot.pause(0.01)
        await pilot.pause()
    assert snap_compare(app, terminal_size=(120, 24), run_before=run_before)
