"""End to end: the real binary in tmux, as root, against real containers.

Start ``ctop-ebpf`` in a 160×45 tmux pane, see the containers, filter to one,
drill into it, switch to its files and its syscalls, back up, quit; every
assertion is on ``tmux capture-pane -p`` text, the way a user sees it.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.docker, pytest.mark.kernel]

ROOT = Path(__file__).resolve().parents[1]
BINARY = ROOT / ".venv" / "bin" / "ctop-ebpf"
NAME_WIDTH = 20  # the NAME column of the Containers view

WORK = ("sh", "-c", "trap 'exit 0' TERM; while :; do cat /etc/passwd > /dev/null; "
        "echo tick >> /tmp/ctop-e2e-{tag}.log; sleep 0.2; done")


def tmux(socket: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """tmux on a server of the test's own (-L): no other session's options or clients."""
    return subprocess.run(["tmux", "-L", socket, *args], capture_output=True, text=True,
                          timeout=10, check=check)


class Pane:
    def __init__(self, socket: str, session: str) -> None:
        self.socket = socket
        self.session = session

    def text(self) -> str:
        return tmux(self.socket, "capture-pane", "-p", "-t", self.session).stdout

    def keys(self, *keys: str, literal: bool = False) -> None:
        cmd = ["send-keys", "-t", self.session]
        if literal:
            cmd.append("-l")
        tmux(self.socket, *cmd, *keys)

    def wait(self, predicate, what: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = self.text()
            if predicate(text):
                return text
            time.sleep(0.25)
        size = tmux(self.socket, "display", "-p", "-t", self.session,
                    "#{window_width}x#{window_height}", check=False).stdout.strip()
        raise AssertionError(f"timed out waiting for {what}; the pane ({size}) shows:\n{text}")


def shown(name: str) -> str:
    """A container name as the NAME column shows it (cut with an ellipsis)."""
    return name if len(name) <= NAME_WIDTH else name[: NAME_WIDTH - 1] + "…"


@pytest.fixture
def tmux_session(tmp_path):
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed: apt-get install tmux")
    if not BINARY.exists():
        pytest.skip(f"{BINARY} missing: make setup")
    socket = f"ctop-e2e-{os.getpid()}"
    exit_file = tmp_path / "exit-code"
    yield socket, exit_file
    tmux(socket, "kill-server", check=False)


def test_tui_end_to_end_in_tmux(kernel, containers, tmux_session):
    web, _ = containers("web", *[w.format(tag="web") for w in WORK])
    db, _ = containers("db", *[w.format(tag="db") for w in WORK])
    socket, exit_file = tmux_session
    # COLUMNS/LINES from the environment tmux was started in would override the
    # pane's real size (shutil.get_terminal_size reads them first)
    command = f"unset COLUMNS LINES; cd {shlex.quote(str(ROOT))} && {shlex.quote(str(BINARY))}; " \
              f"echo $? > {shlex.quote(str(exit_file))}; sleep 60"
    tmux(socket, "new-session", "-d", "-s", "ctop", "-x", "160", "-y", "45", command)
    pane = Pane(socket, "ctop")
    size = tmux(socket, "display", "-p", "-t", "ctop", "#{window_width}x#{window_height}").stdout
    assert size.strip() == "160x45"

    # start: the probes compile, then the Containers view lists both containers
    text = pane.wait(lambda t: shown(web) in t and shown(db) in t and "▶ LIVE" in t,
                     "both containers in the Containers view", timeout=120)
    assert " Containers " in text.splitlines()[2]
    assert "Traceback" not in text

    # filter to one container: the other disappears, the filter shows in the breadcrumb
    pane.keys("\\", literal=True)
    pane.wait(lambda t: "Filter:" in t, "the filter bar")
    pane.keys(f"container.name = {web}", literal=True)
    pane.keys("Enter")
    text = pane.wait(lambda t: f"filter container.name = {web}" in t and shown(db) not in t,
                     "the filtered Containers view")
    assert shown(web) in text and "Filter:" not in text

    # drill in: the processes of that container
    pane.keys("Enter")
    text = pane.wait(lambda t: f"Containers › {web} › Processes" in t and " sleep 0.2" in t,
                     "the container's processes")
    rows = [line for line in text.splitlines()[4:] if line.strip() and "│" not in line]
    assert all(shown(db) not in line for line in rows)

    # its files: the log the container writes, /etc/passwd it reads
    pane.keys("3")
    text = pane.wait(lambda t: f"Containers › {web} › Files" in t
                     and "/tmp/ctop-e2e-web.log" in t, "the container's files")
    assert "/tmp/ctop-e2e-db.log" not in text

    # its syscalls
    pane.keys("5")
    text = pane.wait(lambda t: f"Containers › {web} › System Calls" in t and " openat" in t,
                     "the container's syscalls")
    assert " write" in text and " read" in text

    # back up: the Containers view again, still filtered to the one container
    pane.keys("BSpace")
    text = pane.wait(lambda t: "› System Calls" not in t and shown(web) in t
                     and " Containers " in t.splitlines()[2], "the Containers view after Backspace")
    assert shown(db) not in text

    # quit: the process ends with 0 and the terminal is restored
    pane.keys("q")
    deadline = time.monotonic() + 30
    while not exit_file.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert exit_file.read_text().strip() == "0"
    assert "Containers ›" not in pane.text() and " ctop-ebpf  │" not in pane.text()
