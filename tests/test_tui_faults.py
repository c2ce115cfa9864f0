"""The TUI under faults: the terminal shrunk to tiny and back, a container
removed while the user is drilled into it."""

from __future__ import annotations

from ctop_ebpf.model import events as ev
from tests.scenario import ManualSource, tick
from tests.test_tui import column, make_app, wait_for

WEB = "c" * 64


def _web_snapshot(pid: int) -> ev.ProcSnapshot:
    return ev.ProcSnapshot(pid=pid, ppid=1, comm="httpd", exe="/bin/httpd", argv=("httpd",), uid=0,
                           start_ns=pid, container_id=WEB, runtime="docker")


def _host_snapshot(pid: int) -> ev.ProcSnapshot:
    return ev.ProcSnapshot(pid=pid, ppid=0, comm="init", exe="/sbin/init", argv=("init",), uid=0,
                           start_ns=pid, container_id="", runtime="")


def _web_info() -> ev.ContainerInfo:
    return ev.ContainerInfo(WEB, "docker", "web", "busybox:latest", (), "running", 1_000, 4096)


def _samples(*pids) -> tuple:
    return tuple(ev.ProcSample(p, p, 1_000_000, 4096, 1) for p in pids)


async def test_resize_to_tiny_and_back_keeps_working():
    src = ManualSource()
    app = make_app(src, view="processes")
    async with app.run_test(size=(160, 40)) as pilot:
        src.put([_host_snapshot(1), _web_snapshot(200), tick(0, samples=_samples(1, 200))])
        await wait_for(pilot, lambda: app.ticks == 1)
        for size in ((20, 5), (1, 1), (40, 8), (160, 40)):
            await pilot.resize_terminal(*size)
            before = app.ticks
            src.put([tick(before, samples=_samples(1, 200))])
            await wait_for(pilot, lambda: app.ticks > before)  # a tick rendered at this size
            await pilot.pause()
        await wait_for(pilot, lambda: app.main.table.row_count == 2)
        assert sorted(column(app, "pid")) == ["1", "200"]
        await pilot.press("2")
        await pilot.pause()
        assert app.is_running
        src.end()


async def test_container_removed_while_drilled_into_it():
    src = ManualSource()
    app = make_app(src)  # starts at Containers
    async with app.run_test(size=(160, 40)) as pilot:
        src.put([_host_snapshot(1), _web_snapshot(200),
                 tick(0, samples=_samples(1, 200), containers=(_web_info(),))])
        await wait_for(pilot, lambda: app.ticks == 1 and app.main.table.row_count == 2)
        rows = column(app, "name")
        app.main.table.move_cursor(row=rows.index("web"))
        await pilot.press("enter")  # into web's processes
        await wait_for(pilot, lambda: app.main.nav.current.view.id == "processes")
        await wait_for(pilot, lambda: column(app, "pid") == ["200"])
        # the container stops: its process exits, the runtime no longer lists it
        src.put([ev.Exit(ts=0, pid=200, tid=200, code=137), tick(1, samples=_samples(1))])
        src.put([tick(2, samples=_samples(1))])
        await wait_for(pilot, lambda: app.ticks == 3)
        await wait_for(pilot, lambda: app.main.table.row_count == 0)
        assert app.is_running and app.main.nav.current.view.id == "processes"
        assert "gone" in str(app.main.query_one("#breadcrumb").render())
        await pilot.press("backspace")
        await wait_for(pilot, lambda: app.main.nav.current.view.id == "containers")
        await wait_for(pilot, lambda: column(app, "name") == ["host"])
        src.end()


def test_closing_the_terminal_finalises_the_capture(kernel, tmp_path):
    """SIGHUP (the terminal closed) quits like q: the capture replays without a warning."""
    import os
    import shutil
    import subprocess
    import time

    from tests.batch_run import ROOT

    if shutil.which("tmux") is None:
        import pytest

        pytest.skip("tmux is not installed")
    capture = tmp_path / "hup.ctop"
    sock = f"ctop-hup-{os.getpid()}"
    ctop = str(ROOT / ".venv" / "bin" / "ctop-ebpf")
    subprocess.run(["tmux", "-L", sock, "new-session", "-d", "-x", "150", "-y", "40",
                    f"{ctop} --write {capture}"], check=True, env={**os.environ, "TERM": "xterm-256color"})
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            pane = subprocess.run(["tmux", "-L", sock, "capture-pane", "-p"], capture_output=True, text=True).stdout
            if "LIVE" in pane and capture.exists() and capture.stat().st_size > 0:
                break
            time.sleep(0.5)
        time.sleep(2.5)  # a few ticks recorded
    finally:
        subprocess.run(["tmux", "-L", sock, "kill-server"], capture_output=True)  # SIGHUP to the app
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if subprocess.run(["pgrep", "-f", f"--write {capture}"], capture_output=True).returncode != 0:
            break
        time.sleep(0.5)
    done = subprocess.run([ctop, "--read", str(capture), "--batch", "--output", "json", "--view", "processes"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count('"view":"processes"') >= 1
    assert "warning" not in done.stderr  # finalised: it has its end record


async def test_an_empty_drill_down_is_not_called_gone():
    """Drilled into a process that has no files: empty, but it still exists."""
    src = ManualSource()
    app = make_app(src, view="processes")
    async with app.run_test(size=(160, 40)) as pilot:
        src.put([_host_snapshot(1), tick(0, samples=_samples(1))])
        await wait_for(pilot, lambda: app.ticks == 1 and app.main.table.row_count == 1)
        await pilot.press("enter")  # into pid 1's files: it has none
        await wait_for(pilot, lambda: app.main.nav.current.view.id == "files")
        src.put([tick(1, samples=_samples(1))])
        await wait_for(pilot, lambda: app.ticks == 2)
        await pilot.pause()
        assert app.main.table.row_count == 0
        assert "gone" not in str(app.main.query_one("#breadcrumb").render())
        src.end()
