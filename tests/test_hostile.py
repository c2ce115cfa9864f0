"""Hostile strings end to end: names, command lines and paths a process controls.

A process whose comm and argv hold terminal escapes (OSC title change, clear
screen, C1 CSI), Rich markup, control characters, invalid UTF-8 and a 4 KiB
argument opens files with such names. Against the real kernel:

- ``--batch --output json`` lines are valid JSON and lossless:
  ``os.fsencode(json.loads(...))`` gives the bytes back (argv, paths);
- ``--output text`` holds no C0/C1 control character, the strings show escaped;
- filters match them (``contains``, and ``quote_value`` round trips);
- the TUI in tmux shows them escaped: no title change, no markup interpreted.

Everything runs through argv lists; nothing here reaches a shell.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from ctop_ebpf.views.filter import quote_value
from tests.batch_run import CTOP, ROOT, BatchRun

pytestmark = pytest.mark.kernel

# comm is cut by the kernel at 15 bytes: this fits whole
COMM = b"\x1b]0;PWN\x07[b]\xfe\x01"
ARGS = [
    b"\x1b]0;PWN\x07",          # OSC 0: set the terminal title
    b"\x1b[2J\x1b[31mred",       # clear screen, SGR
    b"[bold red]x[/]",           # Rich markup
    b"\xc2\x9b31mC1",            # U+009B (C1 CSI), valid UTF-8
    b"ctl\x01\x08\x7f\tend",     # C0, DEL, tab
    b"bad\xff\xfe\x9butf8",      # not UTF-8
    b"\xe2\x80\xaertl",          # U+202E right-to-left override
]
LONG = b"L" * 4096               # a multi-kilobyte argument
FILE_NAMES = [
    b"f\x1b]0;PWN\x07",
    b"f[bold red]PWNx[blink]",  # no "/" in a file name
    b"f\x1b[2J\x01PWN\xff",
    b"f\xc2\x9bPWN" + b"n" * 150,
]
ARG_LEN = 127  # exec events carry each argument cut to this many bytes (probes/bpf/common.h)

SCRIPT = """\
import os, sys, time
d = os.fsencode(sys.argv[-2])
names = sorted(os.listdir(d))
while True:
    for n in names:
        with open(os.path.join(d, n), "rb") as f:
            f.read()
    time.sleep(0.1)
"""

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")


class Hostile:
    """A python3 with the hostile comm and argv, opening the hostile files."""

    def __init__(self, tmp: Path, tag: str) -> None:
        self.dir = tmp / f"files-{tag}"
        self.dir.mkdir()
        self.paths = [os.fsencode(self.dir) + b"/" + n for n in FILE_NAMES]
        for path in self.paths:
            with open(path, "wb") as f:
                f.write(b"data\n")
        link = os.fsencode(tmp) + b"/" + COMM
        if not os.path.lexists(link):
            os.symlink(os.path.realpath(sys.executable), link)
        script = tmp / "hostile.py"
        script.write_text(SCRIPT)
        self.argv = [COMM, os.fsencode(script), *ARGS, os.fsencode(self.dir), LONG]
        self.link = link

    def start(self) -> "Hostile":
        self.proc = subprocess.Popen(self.argv, executable=self.link, stdin=subprocess.DEVNULL)
        return self

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


def fsbytes(value: str) -> bytes:
    return os.fsencode(value)


def replay(capture: Path, *args: str, output: str = "json") -> subprocess.CompletedProcess:
    done = subprocess.run([*CTOP, "--read", str(capture), "--batch", "--output", output, *args],
                          cwd=ROOT, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    assert b"Traceback" not in done.stderr
    return done


def json_ticks(done: subprocess.CompletedProcess) -> list[dict]:
    out = done.stdout
    assert out.isascii(), "JSON output is ASCII (ensure_ascii)"
    return [json.loads(line) for line in out.splitlines()]


def assert_inert(text_bytes: bytes) -> str:
    text = text_bytes.decode("utf-8")  # strict: valid UTF-8, no lone surrogates
    bad = CONTROL.findall(text)
    assert not bad, f"control characters in text output: {sorted(set(bad))!r}"
    return text


@pytest.fixture(scope="module")
def hostile_run(kernel, tmp_path_factory):
    """One live run (processes view, filtered, recording): one process started
    before ctop-ebpf (found in /proc) and one after (seen exec'ing)."""
    tmp = tmp_path_factory.mktemp("hostile")
    early = Hostile(tmp, "early").start()
    late = Hostile(tmp, "late")
    capture = tmp / "hostile.ctop"
    run = BatchRun("processes", "--filter", "proc.name contains PWN", "--no-docker",
                   "--write", str(capture), delay=0.5)
    try:
        with run:
            run.wait_ready(timeout=180)
            late.start()
            run.collect_until(lambda ts: any(r["pid"] == late.proc.pid for t in ts for r in t["rows"]),
                              timeout=30, settle=3)
        assert run.proc.returncode == 0, run.stderr
        assert "Traceback" not in run.stderr
        yield run, early, late, capture
    finally:
        early.stop()
        if hasattr(late, "proc"):
            late.stop()


def expected_cmdline(argv: list[bytes], cut: int | None = None) -> bytes:
    return b" ".join(a[:cut] if cut else a for a in argv)


def test_live_json_is_valid_and_lossless(hostile_run):
    run, early, late, _ = hostile_run
    rows = {r["pid"]: r for t in run.ticks for r in t["rows"]}
    # the filter matched both, and only processes named like them
    assert early.proc.pid in rows and late.proc.pid in rows
    assert all("PWN" in r["name"] for r in rows.values())
    for pid in (early.proc.pid, late.proc.pid):
        assert fsbytes(rows[pid]["name"]) == COMM
    # found in /proc at start: the whole command line, every byte
    assert fsbytes(rows[early.proc.pid]["cmdline"]) == expected_cmdline(early.argv)
    # seen exec'ing: each argument as far as the exec event carries it, exact
    # (or all of it, when the /proc sampler read the new process first)
    got = fsbytes(rows[late.proc.pid]["cmdline"])
    assert got in (expected_cmdline(late.argv, ARG_LEN), expected_cmdline(late.argv)), (len(got), got)


def test_replayed_views_are_lossless(hostile_run):
    _, early, late, capture = hostile_run
    files = json_ticks(replay(capture, "--view", "files", "--filter", "fd.name contains PWN"))
    names = {fsbytes(r["name"]) for t in files for r in t["rows"]}
    assert set(early.paths) <= names and set(late.paths) <= names
    assert all(b"PWN" in n for n in names)
    execs = json_ticks(replay(capture, "--view", "execs", "--filter", "proc.name contains PWN"))
    cmdlines = [fsbytes(r["cmdline"]) for t in execs for r in t["rows"] if r["pid"] == late.proc.pid]
    assert cmdlines == [expected_cmdline(late.argv, ARG_LEN)]  # the exec event itself


def test_text_output_has_no_control_characters(hostile_run):
    _, early, late, capture = hostile_run
    for view, flt in (("processes", "proc.name contains PWN"), ("files", "fd.name contains PWN"),
                      ("execs", "proc.name contains PWN"), ("opens", "fd.name contains PWN")):
        text = assert_inert(replay(capture, "--view", view, "--filter", flt, output="text").stdout)
        assert "hostile0/files-" in text or "PWN" in text, view  # long paths are cut at the column
    text = assert_inert(replay(capture, "--view", "processes", "--filter", "proc.name contains PWN",
                               output="text").stdout)
    assert "\\x1b]0;PWN\\x07[b]\\xfe\\x01" in text   # the comm, escaped byte for byte
    # text lines are cut at 200 columns: the arguments after the script path show in part
    assert "hostile.py \\x1b]0;PWN" in text


def test_filters_match_hostile_values_exactly(hostile_run):
    _, early, late, capture = hostile_run
    name = os.fsdecode(COMM)
    by_name = json_ticks(replay(capture, "--view", "processes", "--filter", f"proc.name = {quote_value(name)}"))
    pids = {r["pid"] for t in by_name for r in t["rows"]}
    assert {early.proc.pid, late.proc.pid} <= pids
    for raw in early.paths:
        path = os.fsdecode(raw)
        files = json_ticks(replay(capture, "--view", "files", "--filter", f"fd.name = {quote_value(path)}"))
        assert {fsbytes(r["name"]) for t in files for r in t["rows"]} == {raw}
    arg = os.fsdecode(ARGS[2])
    got = json_ticks(replay(capture, "--view", "processes", "--filter",
                            f"proc.cmdline contains {quote_value(arg)}"))
    assert {early.proc.pid, late.proc.pid} <= {r["pid"] for t in got for r in t["rows"]}


# ---- the TUI in tmux ----------------------------------------------------------

BINARY = ROOT / ".venv" / "bin" / "ctop-ebpf"


def tmux(socket: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["tmux", "-L", socket, *args], capture_output=True, text=True,
                          timeout=10, check=check, errors="surrogateescape")


def check_styled(styled: str) -> None:
    """A ``capture-pane -e`` screen holds only SGR sequences (ESC [ ... m):
    no OSC, no clear screen, no other control character."""
    for seq in re.findall(r"\x1b[^\[]|\x1b\[[0-9;:?]*[^0-9;:?]", styled):
        assert seq.startswith("\x1b[") and seq.endswith("m"), repr(seq)
    plain = re.sub(r"\x1b\[[0-9;:]*m", "", styled)
    assert not CONTROL.findall(plain), sorted(set(CONTROL.findall(plain)))


def test_tui_shows_hostile_strings_inert(kernel, tmp_path):
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed: apt-get install tmux")
    if not BINARY.exists():
        pytest.skip(f"{BINARY} missing: make setup")
    short = Path(tempfile.mkdtemp(prefix="h", dir="/tmp"))  # the Files view cuts long paths
    proc = Hostile(short, "t").start()
    socket = f"ctop-hostile-{os.getpid()}"
    try:
        # the command is a fixed argv (no untrusted string in it)
        tmux(socket, "new-session", "-d", "-s", "h", "-x", "250", "-y", "40",
             "env", "-u", "COLUMNS", "-u", "LINES", str(BINARY), "--no-docker", "--view", "processes",
             "--filter", f"proc.name contains PWN and proc.pid = {proc.proc.pid}")
        tmux(socket, "select-pane", "-t", "h", "-T", "ctop-title-before")
        deadline = time.monotonic() + 180
        text = ""
        while time.monotonic() < deadline:
            text = tmux(socket, "capture-pane", "-p", "-t", "h").stdout
            if "PWN" in text and "\\x1b]0;PWN" in text and str(proc.proc.pid) in text:
                break
            time.sleep(0.5)
        else:
            raise AssertionError(f"the hostile process never showed; the pane:\n{text}")
        time.sleep(2)  # a few more refreshes
        text = tmux(socket, "capture-pane", "-p", "-t", "h").stdout
        title = tmux(socket, "display", "-p", "-t", "h", "#{pane_title}").stdout.strip()
        assert "PWN" not in title and title == "ctop-title-before", title
        # the comm shows escaped ([b] literally, not as bold)
        assert "\\x1b]0;PWN\\x07[b]" in text
        assert "Traceback" not in text
        check_styled(tmux(socket, "capture-pane", "-p", "-e", "-t", "h").stdout)
        # drill into its files: their names show escaped, the markup literally
        tmux(socket, "send-keys", "-t", "h", "Enter")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            text = tmux(socket, "capture-pane", "-p", "-t", "h").stdout
            if "PWNx[blink]" in text:
                break
            time.sleep(0.5)
        else:
            raise AssertionError(f"the hostile files never showed; the pane:\n{text}")
        assert "f[bold red]PWNx[blink]" in text
        assert "f\\x1b]0;PWN\\x07" in text
        assert "f\\x1b[2J\\x01PWN\\xff" in text
        assert "f\\x9bPWNnnn" in text
        check_styled(tmux(socket, "capture-pane", "-p", "-e", "-t", "h").stdout)
        title = tmux(socket, "display", "-p", "-t", "h", "#{pane_title}").stdout.strip()
        assert title == "ctop-title-before", title
        tmux(socket, "send-keys", "-t", "h", "q")
    finally:
        tmux(socket, "kill-server", check=False)
        proc.stop()
        shutil.rmtree(short, ignore_errors=True)
