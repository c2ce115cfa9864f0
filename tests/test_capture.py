"""Capture files: the format, the replay source, and --write / --read as a user meets them."""

from __future__ import annotations

import asyncio
import errno
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
import time
import tracemalloc
import typing
import uuid
import zlib
from dataclasses import fields, is_dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ctop_ebpf.capture import format as capture
from ctop_ebpf.capture import reader
from ctop_ebpf.capture.format import (
    FORMAT_VERSION,
    MAGIC,
    CaptureError,
    CaptureWriteError,
    UserNames,
)
from ctop_ebpf.capture.reader import CaptureReader
from ctop_ebpf.capture.replay import ReplaySource
from ctop_ebpf.capture.writer import CaptureWriter, RecordingSource
from ctop_ebpf.model import events as ev
from ctop_ebpf.model.source import run_pipeline
from ctop_ebpf.model.state import SystemState
from ctop_ebpf.views import engine
from ctop_ebpf.views.catalogue import VIEWS_BY_ID
from ctop_ebpf.views.output import json_line, text_table
from tests.batch_run import ROOT
from tests.synthetic import T0, SyntheticSource, snapshot, tick

DEMO = ROOT / "tests" / "data" / "demo.ctop"
CLI = [sys.executable, "-m", "ctop_ebpf"]
WEB = "b" * 64

HOSTILE = [
    "",
    "plain",
    os.fsdecode(b"\xff\xfe/etc/\x80bad\xc3("),  # invalid UTF-8 kept as surrogate escapes
    "\x1b[31mred\x1b[0m\x1b]0;title\x07",  # terminal escapes
    "[bold red]markup[/] [link=file:///etc/passwd]x[/link]",  # Rich markup
    "$(rm -rf /) `id` ; | & {}",  # shell
    '{"json": ["inside"]}\n["Tick", 1]\n',  # a record inside a string
    "\x00nul\ttab\r\n\u2028\u2029\u202e",
    "\U0001f600 emoji \u00e9\u00e8 \u4e2d\u6587",
    "\\u0041 \\udcff backslashes \\",
    "x" * 5000,
]


def read_events(path: str):
    """Everything in a (small) capture at once: header, records, warnings."""
    with CaptureReader(path) as r:
        recs = list(r.records())
        return r.header, recs, r.warnings


def cli(*args, timeout=60, env=None, **kw):
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT, env=env, **kw)


def _sample(tp, s: str):
    """A value of type ``tp`` with every string ``s`` (for event types added later)."""
    if tp is int:
        return 7
    if tp is bool:
        return True
    if tp is float:
        return 1.5
    if tp is str:
        return s
    if typing.get_origin(tp) is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return (_sample(args[0], s),)
        return tuple(_sample(a, s) for a in args)
    hints = typing.get_type_hints(tp, vars(ev))
    return tp(**{f.name: _sample(hints[f.name], s) for f in fields(tp)})


def all_events(s: str = "x") -> list:
    """One of every top-level event type, every field set, strings ``s``."""
    fd = ev.FdSnapshot(3, "ipv4", s, "tcp", "127.0.0.1", 80, "10.0.0.1", 5555, True)
    written = _all_events(s, fd)
    have = {type(e).__name__ for e in written}
    return [_sample(ev.EVENT_TYPES[n], s) for n in capture.TOP_LEVEL if n not in have] + written


def _all_events(s, fd) -> list:
    return [
        ev.ProcSnapshot(100, 1, s, s, (s, s), 4242, T0, WEB, "docker", ((100, s), (101, s)), (fd,)),
        ev.Fork(T0 + 1, 100, 102, 102, False, s, 7),
        ev.Exec(T0 + 2, 102, 102, 0, s, s, (s, "-c", s), True, 7, WEB, "docker"),
        ev.Exit(T0 + 3, 102, 102, -1),
        ev.Open(T0 + 4, 100, 100, "openat", s, 0o2101, -2),
        ev.Close(T0 + 5, 100, 100, 5, 0, 10, 20, 1, 2),
        ev.Dup(T0 + 6, 100, 3, 9),
        ev.Pipe(T0 + 7, 100, 10, 11),
        ev.Socket(T0 + 8, 100, 12, 10, 1, 6),
        ev.SockAddr(T0 + 9, 100, 100, "connect", 12, -115, 10, "::1", 40000, "::1", 443, s),
        ev.Tick(T0 + 10, 1_700_000_000.123456789, 0.5,
                (ev.SyscallStat(100, 101, "read", 5, 1, 999),),
                (ev.ErrnoStat(100, "openat", 2, 1),),
                (ev.FdIO(100, 3, 1, 2, 3, 4),),
                (ev.ProcSample(100, 100, 123, 4096, 2), ev.ProcSample(100, 101, 23, 0, 0)),
                (ev.ContainerInfo(WEB, "docker", s, s, ((s, s), ("k", "v")), "running", 5, 6),),
                3, 42),
    ]


def write_capture(path, batches, *, close=True, users=None, **kw) -> CaptureWriter:
    w = CaptureWriter.create(str(path), tool_version="test", interval_s=1.0,
                             user_name=users or (lambda uid: {0: "root", 4242: "alice"}.get(uid, str(uid))),
                             **kw)
    for b in batches:
        w.write_batch(b)
    if close:
        w.close()
    return w


def workload_batches(n_ticks: int, start: int = 1) -> list[list]:
    """A small realistic stream: a process in a container writing a file each tick."""
    out = [[snapshot(100, "app", uid=4242, container=WEB, runtime="docker", argv=("app", "--serve")),
            snapshot(1, "init"), tick(0, interval=0.0)]]
    for n in range(start, start + n_ticks):
        out.append([
            ev.Open(T0 + n * 10**9 - 5000, 100, 100, "openat", f"/data/f{n % 3}", 0o101, 5),
            ev.Close(T0 + n * 10**9 - 4000, 100, 100, 5, 0, 0, 4096 * n, 0, 1),
            tick(n, syscalls=[ev.SyscallStat(100, 100, "write", n, 0, 1000 * n)],
                 samples=[ev.ProcSample(100, 100, n * 10**7, 1 << 20, 1)],
                 containers=[ev.ContainerInfo(WEB, "docker", "web", "busybox", (), "running", n * 10**7, 1 << 20)],
                 events=2),
        ])
    return out


def events_of(records) -> list:
    return [r for r in records if type(r) is not UserNames]


def replay_lines(path, view="files", pace="fast", **kw) -> list[str]:
    """What --batch --output json prints for a replay, in-process."""
    src = ReplaySource(str(path), pace=pace, warn=kw.pop("warn", lambda m: None))
    state = SystemState(user_name=src.user_name)
    lines = []

    def on_tick(records):
        if records.interval_s:
            rows = engine.compute(VIEWS_BY_ID[view], records)
            lines.append(json_line(VIEWS_BY_ID[view], rows, records.interval_s, records.stats, records.wall))

    asyncio.run(run_pipeline(src, state, on_tick))
    return lines


# ---- the format ----------------------------------------------------------------


@pytest.mark.parametrize("s", HOSTILE, ids=range(len(HOSTILE)))
def test_every_event_type_round_trips_exactly(tmp_path, s):
    events = all_events(s)
    assert {type(e).__name__ for e in events} == set(capture.TOP_LEVEL)
    path = tmp_path / "c.ctop"
    write_capture(path, [events])
    header, records, warnings = read_events(str(path))
    assert warnings == []
    got = events_of(records)
    assert got == events
    for a, b in zip(got, events):  # same types too: bool stays bool, float stays float
        for f in fields(a):
            assert type(getattr(a, f.name)) is type(getattr(b, f.name)), f.name
    assert UserNames(((0, "root"), (4242, "alice"))) in records
    assert header.tool_version == "test" and header.format == FORMAT_VERSION
    assert header.kernel == os.uname().release and header.host
    # the file is ASCII JSON inside zlib: no raw control byte of the strings reaches it
    raw = path.read_bytes()
    assert raw.startswith(MAGIC)


def test_surrogate_escaped_bytes_come_back_as_the_same_bytes(tmp_path):
    raw_name = b"/tmp/\xff\xfe\x80caf\xc3\xa9 \xe2\x82"
    name = os.fsdecode(raw_name)
    path = tmp_path / "c.ctop"
    write_capture(path, [[ev.Open(1, 2, 2, "openat", name, 0, 3), tick(1)]])
    _, records, _ = read_events(str(path))
    assert os.fsencode(events_of(records)[0].path) == raw_name


BOUNDED = {  # what a live run can produce (the reader refuses the rest)
    "ts": st.integers(0, 2**63 - 1),
    "start_ns": st.integers(0, 2**63 - 1),
    "wall": st.floats(0, 2.0**34),
    "interval_s": st.floats(0, 1e6),
}


def _strategy(tp):
    if tp is int:
        return st.integers(min_value=-(2**63), max_value=2**64 - 1)
    if tp is bool:
        return st.booleans()
    if tp is float:
        return st.floats(allow_nan=False, allow_infinity=False)
    if tp is str:
        return st.text(alphabet=st.characters(exclude_categories=("Cs",))
                       | st.sampled_from([chr(c) for c in range(0xDC80, 0xDD00)]), max_size=20)
    if typing.get_origin(tp) is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return st.lists(_strategy(args[0]), max_size=3).map(tuple)
        return st.tuples(*map(_strategy, args))
    if is_dataclass(tp):
        hints = typing.get_type_hints(tp, vars(ev))
        return st.builds(tp, **{f.name: BOUNDED[f.name] if f.name in BOUNDED else _strategy(hints[f.name]) for f in fields(tp)})
    raise TypeError(tp)


ANY_EVENT = st.one_of(*[_strategy(ev.EVENT_TYPES[n]) for n in capture.TOP_LEVEL])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(ANY_EVENT, max_size=12))
def test_random_events_round_trip(tmp_path, events):
    path = tmp_path / f"{uuid.uuid4().hex}.ctop"
    write_capture(path, [events])
    _, records, warnings = read_events(str(path))
    assert events_of(records) == events and warnings == []


def test_users_are_recorded_once_before_they_are_needed(tmp_path):
    path = tmp_path / "c.ctop"
    b1 = [snapshot(1, "init", uid=0), snapshot(2, "app", uid=4242), tick(0, interval=0.0)]
    b2 = [ev.Exec(T0, 3, 3, 4242, "x", "/x", ("x",), False, 1), ev.Exec(T0, 4, 4, 7, "y", "/y", ("y",), False, 1), tick(1)]
    write_capture(path, [b1, b2], users=lambda uid: {0: "root", 4242: "alice"}.get(uid, str(uid)))
    _, records, _ = read_events(str(path))
    names = [r for r in records if type(r) is UserNames]
    assert names == [UserNames(((0, "root"), (4242, "alice"))), UserNames(((7, "7"),))]
    assert records.index(names[0]) == 0 and records.index(names[1]) < records.index(b2[0])


def test_replay_shows_the_recorded_user_names_not_the_local_ones(tmp_path):
    path = tmp_path / "c.ctop"
    uid = 54321  # a uid this machine has no name for
    write_capture(path, [[snapshot(100, "app", uid=uid), tick(0, interval=0.0)], [tick(1)]],
                  users=lambda u: "recorder-user" if u == uid else str(u))
    src = ReplaySource(str(path), pace="fast")
    state = SystemState(user_name=src.user_name)
    seen = []
    asyncio.run(run_pipeline(src, state, lambda r: seen.extend(p["user.name"] for p in r.procs)))
    assert seen == ["recorder-user", "recorder-user"]


def test_cli_replay_uses_the_recorded_user_names(tmp_path):
    path = tmp_path / "c.ctop"
    write_capture(path, [[snapshot(100, "app", uid=54321), tick(0, interval=0.0)], [tick(1)]],
                  users=lambda u: "recorder-user" if u == 54321 else str(u))
    done = cli("--batch", "--output", "json", "--view", "processes", "--read", str(path))
    assert done.returncode == 0, done.stderr
    (line,) = done.stdout.splitlines()
    assert [r["user"] for r in json.loads(line)["rows"]] == ["recorder-user"]


def test_capture_is_compact_and_memory_stays_flat(tmp_path):
    def peak(n):
        path = tmp_path / f"m{n}.ctop"
        tracemalloc.start()
        write_capture(path, workload_batches(n))
        _, write_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        with CaptureReader(str(path)) as r:
            count = sum(1 for e in r.records() if type(e) is ev.Tick)
        _, read_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert count == n + 1
        return path.stat().st_size, write_peak, read_peak

    size_small, _, _ = peak(200)
    size_big, write_peak, read_peak = peak(2000)
    # the batches themselves are built up front; what the writer and reader add is bounded
    assert read_peak < 2 * 1024 * 1024, read_peak
    assert size_big < 2000 * 120, size_big  # ~1 KB of JSON per tick compresses well
    assert size_big > size_small


def test_one_frame_per_tick_flushed_to_the_file_at_once(tmp_path):
    path = tmp_path / "c.ctop"
    w = write_capture(path, workload_batches(1), close=False)
    size = path.stat().st_size
    w.write_batch([ev.Open(T0, 100, 100, "openat", "/x", 0, 5)])  # no tick: stays in memory
    assert path.stat().st_size == size
    w.write_batch([tick(9)])
    assert path.stat().st_size > size
    # readable right now, while recording goes on
    _, records, warnings = read_events(str(path))
    assert sum(type(r) is ev.Tick for r in records) == 3
    assert warnings and "no end record" in warnings[0]
    w.close()
    _, records, warnings = read_events(str(path))
    assert warnings == []


# ---- files: creation, safety ----------------------------------------------------


def test_capture_is_created_mode_0600_whatever_the_umask(tmp_path):
    old = os.umask(0)
    try:
        write_capture(tmp_path / "c.ctop", [[tick(1)]])
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "c.ctop").stat().st_mode) == 0o600


def test_existing_file_is_refused_without_force_and_replaced_with_it(tmp_path):
    path = tmp_path / "c.ctop"
    path.write_text("precious")
    os.chmod(path, 0o644)
    with pytest.raises(CaptureError, match="already exists: pass --force"):
        write_capture(path, [[tick(1)]])
    assert path.read_text() == "precious"
    write_capture(path, [[tick(1)]], force=True)
    assert path.read_bytes().startswith(MAGIC)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_force_replaces_a_symlink_not_its_target(tmp_path):
    target = tmp_path / "target"
    target.write_text("keep me")
    link = tmp_path / "c.ctop"
    link.symlink_to(target)
    with pytest.raises(CaptureError, match="already exists"):
        write_capture(link, [[tick(1)]])
    write_capture(link, [[tick(1)]], force=True)
    assert target.read_text() == "keep me"
    assert not link.is_symlink() and link.read_bytes().startswith(MAGIC)


def test_force_never_replaces_a_directory_or_a_fifo(tmp_path):
    (tmp_path / "dir").mkdir()
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(CaptureError, match="is a directory"):
        write_capture(tmp_path / "dir", [[tick(1)]], force=True)
    with pytest.raises(CaptureError, match="not a regular file"):
        write_capture(tmp_path / "fifo", [[tick(1)]], force=True)
    assert stat.S_ISFIFO(os.lstat(tmp_path / "fifo").st_mode)


def test_unwritable_paths_give_a_clear_error(tmp_path):
    for bad in (tmp_path / "no" / "such" / "dir.ctop", Path("/proc/ctop.ctop")):
        with pytest.raises(CaptureError, match="cannot create capture file"):
            write_capture(bad, [[tick(1)]])


def test_disk_full_while_recording_raises_and_keeps_what_was_written(tmp_path, monkeypatch):
    path = tmp_path / "c.ctop"
    w = write_capture(path, workload_batches(3), close=False)
    real_write = os.write

    def full(fd, data):
        if fd == w._fd:
            real_write(fd, bytes(data[: len(data) // 2]))  # a partial write, then ENOSPC
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(CaptureWriteError, match="No space left on device"):
        for b in workload_batches(3, start=10)[1:]:
            w.write_batch(b)
    w.close()  # after a failure: just closes
    monkeypatch.undo()
    _, records, warnings = read_events(str(path))
    assert sum(type(r) is ev.Tick for r in records) == 4
    assert "cut off" in warnings[0]


# ---- reading damaged, foreign and cut files ---------------------------------------


def good_capture(tmp_path, n=5) -> Path:
    path = tmp_path / "good.ctop"
    if not path.exists():
        write_capture(path, workload_batches(n))
    return path


def frame_offsets(path) -> list[int]:
    data = Path(path).read_bytes()
    _, _, hlen = capture.PREFIX.unpack_from(data)
    pos = capture.PREFIX.size + hlen + 4
    out = []
    while pos < len(data):
        out.append(pos)
        length, _ = capture.FRAME.unpack_from(data, pos)
        pos += 8 + length
    assert pos == len(data)
    return out


def test_a_truncated_capture_replays_to_the_last_complete_tick(tmp_path):
    path = good_capture(tmp_path)
    data = path.read_bytes()
    offsets = frame_offsets(path)
    assert len(offsets) == 7  # baseline + 5 ticks + end
    cut = tmp_path / "cut.ctop"
    for end in range(offsets[0], len(data)):
        cut.write_bytes(data[:end])
        ticks_before = sum(1 for o in offsets[:-1] if o + 8 < end and _frame_end(data, o) <= end)
        with CaptureReader(str(cut)) as r:
            got = sum(1 for e in r.records() if type(e) is ev.Tick)
            assert got == ticks_before, end
            assert len(r.warnings) == 1 and not r.complete


def _frame_end(data, offset):
    return offset + 8 + capture.FRAME.unpack_from(data, offset)[0]


def test_a_zero_filled_tail_counts_as_a_cut(tmp_path):
    path = good_capture(tmp_path)
    data = path.read_bytes()
    offsets = frame_offsets(path)
    cut = tmp_path / "zeros.ctop"
    cut.write_bytes(data[: offsets[3]] + b"\0" * 4096)
    with CaptureReader(str(cut)) as r:
        assert sum(1 for e in r.records() if type(e) is ev.Tick) == 3
        assert "cut off" in r.warnings[0]


def test_cli_replays_a_truncated_copy_partially_with_a_warning(tmp_path):
    path = good_capture(tmp_path)
    data = path.read_bytes()
    offsets = frame_offsets(path)
    cut = tmp_path / "cut.ctop"
    cut.write_bytes(data[: offsets[4] + 20])
    done = cli("--batch", "--output", "json", "--view", "files", "--read", str(cut))
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 3
    assert "warning" in done.stderr and "cut off at byte" in done.stderr
    assert "Traceback" not in done.stderr
    full = cli("--batch", "--output", "json", "--view", "files", "--read", str(path))
    assert full.stdout.splitlines()[:3] == done.stdout.splitlines()
    assert len(full.stdout.splitlines()) == 5 and full.stderr == ""


def newer_version(data: bytes) -> bytes:
    return data[:9] + (FORMAT_VERSION + 1).to_bytes(2, "big") + data[11:]


REJECTED = {
    "empty": (lambda d: b"", "empty"),
    "random": (lambda d: os.urandom(4096), "not a ctop-ebpf capture"),
    "gzip": (lambda d: zlib.compress(b"hello") , "not a ctop-ebpf capture"),
    "json lines": (lambda d: b'{"view":"files"}\n', "not a ctop-ebpf capture"),
    "wrong magic": (lambda d: b"\x89CTOQ" + d[5:], "not a ctop-ebpf capture"),
    "newer version": (newer_version, "newer than this ctop-ebpf reads"),
    "cut in header": (lambda d: d[:40], "cut off inside its header"),
    "header flipped": (lambda d: d[:20] + bytes([d[20] ^ 1]) + d[21:], "header is damaged"),
    "frame flipped": (lambda d: d[:-30] + bytes([d[-30] ^ 0x40]) + d[-29:], "damaged at byte"),
    "frame length": (lambda d: d + b"\xff\xff\xff\xff\0\0\0\0", "damaged at byte"),
}


@pytest.mark.parametrize("case", list(REJECTED))
def test_damaged_empty_foreign_and_newer_files_are_rejected_with_exit_2(tmp_path, case):
    make, needle = REJECTED[case]
    bad = tmp_path / "bad.ctop"
    bad.write_bytes(make(good_capture(tmp_path).read_bytes()))
    done = cli("--batch", "--output", "json", "--read", str(bad))
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert needle in done.stderr
    assert "Traceback" not in done.stderr and done.stderr.startswith("ctop-ebpf: ")
    with pytest.raises(CaptureError, match=needle):
        with CaptureReader(str(bad)) as r:
            list(r.records())


def test_missing_file_and_directory_are_rejected_with_exit_2(tmp_path):
    for path, needle in ((tmp_path / "nope.ctop", "No such file"), (tmp_path, "is a directory")):
        done = cli("--batch", "--read", str(path))
        assert done.returncode == 2 and needle in done.stderr and "Traceback" not in done.stderr


def test_a_hostile_file_name_is_not_printed_raw(tmp_path):
    bad = tmp_path / "evil\x1b[2J\x1b]0;pwned\x07.ctop"
    bad.write_bytes(b"junk")
    done = cli("--batch", "--read", str(bad))
    assert done.returncode == 2 and "\x1b" not in done.stderr and "\\x1b" in done.stderr


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=2048))
def test_fuzz_reader_with_random_bytes(tmp_path, data):
    _read_all_or_capture_error(tmp_path, data)
    _read_all_or_capture_error(tmp_path, MAGIC + data)
    _read_all_or_capture_error(tmp_path, MAGIC + b"\0\1" + data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_fuzz_reader_with_mutated_captures(tmp_path, data):
    good = good_capture(tmp_path, 3).read_bytes()
    buf = bytearray(good)
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
        pos = data.draw(st.integers(0, max(0, len(buf) - 1)))
        if op == "flip" and buf:
            buf[pos] ^= data.draw(st.integers(1, 255))
        elif op == "cut":
            del buf[pos:]
        elif op == "insert":
            buf[pos:pos] = data.draw(st.binary(min_size=1, max_size=16))
        elif buf:
            del buf[pos:pos + data.draw(st.integers(1, 16))]
    _read_all_or_capture_error(tmp_path, bytes(buf))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=12,
)
TAGS = st.sampled_from([*capture.TOP_LEVEL, "Users", "End", "FdSnapshot", "Nope"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(st.tuples(TAGS, st.lists(JSON, max_size=12)).map(lambda t: [t[0], *t[1]]),
                          JSON), max_size=6))
def test_fuzz_reader_with_well_framed_garbage_records(tmp_path, records):
    """Checksums right, compression right, records wrong: CaptureError, nothing else."""
    lines = b"".join(json.dumps(r).encode() + b"\n" for r in records)
    _read_all_or_capture_error(tmp_path, _framed(lines))


def _framed(lines: bytes) -> bytes:
    header = json.dumps({"magic": "ctop-ebpf capture", "format": FORMAT_VERSION, "tool_version": "t",
                         "host": "h", "kernel": "k", "start_wall": 0.0,
                         "schema": capture.SCHEMA}).encode()
    payload = zlib.compress(lines)
    return (capture.PREFIX.pack(MAGIC, FORMAT_VERSION, len(header)) + header
            + capture.CRC.pack(zlib.crc32(header))
            + capture.FRAME.pack(len(payload), zlib.crc32(payload)) + payload)


def test_lone_surrogates_outside_escaped_bytes_are_rejected(tmp_path):
    for s in ("\\ud800", "\\udc00", "\\udfff"):
        line = ('["Open",1,2,2,"openat","/x' + s + '",0,3]\n').encode()
        path = tmp_path / "s.ctop"
        path.write_bytes(_framed(line))
        with pytest.raises(CaptureError, match="surrogate"), CaptureReader(str(path)) as r:
            list(r.records())


def test_a_decompression_bomb_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(reader, "MAX_RECORD", 1 << 20)
    path = tmp_path / "bomb.ctop"
    path.write_bytes(_framed(b"[" + b" " * (4 << 20)))
    with pytest.raises(CaptureError, match="longer than"), CaptureReader(str(path)) as r:
        list(r.records())


def _read_all_or_capture_error(tmp_path, data: bytes) -> None:
    path = tmp_path / "fuzz.ctop"
    path.write_bytes(data)
    try:
        with CaptureReader(str(path)) as r:
            for rec in r.records():
                assert type(rec) is UserNames or type(rec).__name__ in capture.TOP_LEVEL
    except CaptureError as exc:
        assert str(exc)


VIEWS = sorted(VIEWS_BY_ID)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(ANY_EVENT, max_size=6), min_size=1, max_size=4))
def test_whatever_a_valid_capture_holds_every_view_renders(tmp_path, batches):
    """A crafted capture that passes the reader cannot crash the model or the views."""
    path = tmp_path / f"{uuid.uuid4().hex}.ctop"
    write_capture(path, [[*b, tick(i + 1)] for i, b in enumerate(batches)])
    src = ReplaySource(str(path), pace="fast")
    state = SystemState(user_name=src.user_name)

    def on_tick(records):
        for v in VIEWS:
            rows = engine.compute(VIEWS_BY_ID[v], records)
            json_line(VIEWS_BY_ID[v], rows, records.interval_s, records.stats, records.wall)
            text_table(VIEWS_BY_ID[v], rows, records.interval_s, records.stats, records.wall).encode()

    asyncio.run(run_pipeline(src, state, on_tick))


# ---- the replay source ---------------------------------------------------------


def test_fast_replay_equals_feeding_the_events_directly(tmp_path):
    batches = workload_batches(6)
    path = tmp_path / "c.ctop"
    write_capture(path, batches)
    direct = []

    def collect(into):
        def on_tick(records):
            if records.interval_s:
                rows = engine.compute(VIEWS_BY_ID["files"], records)
                into.append(json_line(VIEWS_BY_ID["files"], rows, records.interval_s, records.stats,
                                      records.wall))
        return on_tick

    users = {0: "root", 4242: "alice"}
    asyncio.run(run_pipeline(SyntheticSource(batches),
                             SystemState(user_name=lambda u: users.get(u, str(u))), collect(direct)))
    assert replay_lines(path) == direct
    assert len(direct) == 6


async def test_recorded_pace_pause_and_resume(tmp_path):
    path = tmp_path / "c.ctop"
    batches = workload_batches(6)
    write_capture(path, batches)
    src = ReplaySource(str(path), pace="recorded", speed=10.0)  # ticks 1 s apart → 0.1 s
    times = []
    it = src.events().__aiter__()
    start = time.monotonic()
    for _ in range(3):  # baseline at once, then two paced ticks
        await it.__anext__()
        times.append(time.monotonic() - start)
    assert times[0] < 0.05
    assert 0.08 < times[1] < 0.3 and 0.17 < times[2] < 0.5
    src.pause()
    assert src.paused
    nxt = asyncio.ensure_future(it.__anext__())
    await asyncio.sleep(0.4)
    assert not nxt.done()  # paused: nothing comes
    src.resume()
    await asyncio.wait_for(nxt, 1.0)
    rest = [b async for b in it]
    assert len(rest) == 3
    assert src.ticks == 7
    assert src.wall == batches[-1][-1].wall
    await src.aclose()


async def test_aclose_stops_a_paced_replay(tmp_path):
    path = tmp_path / "c.ctop"
    write_capture(path, workload_batches(5))
    src = ReplaySource(str(path), pace="recorded")
    state = SystemState(user_name=src.user_name)
    seen = []
    task = asyncio.ensure_future(run_pipeline(src, state, seen.append))
    await asyncio.sleep(0.2)
    await src.aclose()
    await asyncio.wait_for(task, 2.0)
    assert len(seen) == 1


async def test_recording_source_tees_every_batch_and_finalises_on_close(tmp_path):
    path = tmp_path / "c.ctop"
    batches = workload_batches(3)
    w = CaptureWriter.create(str(path), tool_version="t", user_name=str)
    src = RecordingSource(SyntheticSource(batches), w)
    await run_pipeline(src, SystemState(), lambda r: None)
    assert w.closed
    _, records, warnings = read_events(str(path))
    assert events_of(records) == [e for b in batches for e in b] and warnings == []


async def test_recording_source_removes_the_file_when_the_source_fails_at_start(tmp_path):
    class Failing:
        async def events(self):
            raise RuntimeError("attach failed")
            yield  # pragma: no cover

        async def aclose(self):
            pass

    path = tmp_path / "c.ctop"
    src = RecordingSource(Failing(), CaptureWriter.create(str(path), tool_version="t", user_name=str))
    with pytest.raises(RuntimeError):
        await run_pipeline(src, SystemState(), lambda r: None)
    assert not path.exists()


# ---- the command line --------------------------------------------------------------


def test_write_to_an_unwritable_path_fails_before_probes_attach(tmp_path, monkeypatch, capsys):
    """In-process: privilege check passed, the file cannot be made: exit 2, no LiveSource."""
    from ctop_ebpf import cli as cli_mod
    from ctop_ebpf.probes import environment

    monkeypatch.setattr(environment, "check_privileges", lambda: None)
    from ctop_ebpf.probes import live

    def boom(*a, **k):
        raise AssertionError("probes must not be touched")

    monkeypatch.setattr(live, "LiveSource", boom)
    monkeypatch.setattr(live.loader, "load", boom)
    existing = tmp_path / "exists.ctop"
    existing.write_text("x")
    for target, needle in ((tmp_path / "no" / "dir" / "c.ctop", "cannot create capture file"),
                           (existing, "already exists: pass --force")):
        rc = cli_mod.main(["--batch", "--output", "json", "--write", str(target)])
        err = capsys.readouterr().err
        assert rc == 2 and needle in err and err.startswith("ctop-ebpf: ")
    assert existing.read_text() == "x"


@pytest.mark.skipif(os.geteuid() != 0, reason="the real CLI gets past its privilege check as root only")
def test_write_to_an_unwritable_path_fails_fast_as_root(tmp_path):
    start = time.monotonic()
    done = cli("--batch", "--write", str(tmp_path / "missing" / "c.ctop"), timeout=30)
    assert done.returncode == 2 and "cannot create capture file" in done.stderr
    assert "Traceback" not in done.stderr and "compiling" not in done.stderr
    assert time.monotonic() - start < 4.0  # no BPF compile (that takes several seconds)


@pytest.mark.skipif(not DEMO.exists(), reason="tests/data/demo.ctop not recorded yet")
def test_two_replays_of_the_shipped_capture_are_identical_in_every_view():
    for view in VIEWS:
        outs = []
        for seed in ("1", "2"):
            env = {**os.environ, "PYTHONHASHSEED": seed, "TZ": "UTC"}
            done = cli("--batch", "--output", "json", "--view", view, "--read", str(DEMO), env=env)
            assert done.returncode == 0 and done.stderr == "", done.stderr
            outs.append(done.stdout)
        assert outs[0] == outs[1], view
        lines = [json.loads(line) for line in outs[0].splitlines()]
        assert len(lines) >= 3 and all(line["view"] == view for line in lines)
    text = cli("--batch", "--view", "containers", "--read", str(DEMO), env={**os.environ, "TZ": "UTC"})
    assert text.returncode == 0 and "demo-web" in text.stdout and "demo-worker" in text.stdout


@pytest.mark.skipif(not DEMO.exists(), reason="tests/data/demo.ctop not recorded yet")
def test_shipped_capture_is_small_complete_and_shows_both_containers():
    assert DEMO.stat().st_size < 400 * 1024
    header, records, warnings = read_events(str(DEMO))
    assert warnings == [] and header.format == FORMAT_VERSION
    ticks = [r for r in records if type(r) is ev.Tick]
    assert len(ticks) >= 4
    names = {c.name for t in ticks for c in t.containers}
    assert {"demo-web", "demo-worker"} <= names
    lines = replay_lines(DEMO, view="connections")
    conns = [r for line in lines for r in json.loads(line)["rows"]]
    assert any(r["container"] == "demo-web" and "127.0.0.1:8080" in (r["local"] + r["remote"])
               for r in conns)
    files = [r for line in replay_lines(DEMO, view="files") for r in json.loads(line)["rows"]]
    assert any(r["container"] == "demo-worker" and r["bytes_written"] > 0 for r in files)


def _replay_guard_script(path: str, view: str) -> str:
    return textwrap.dedent(f"""
        import sys
        sys.modules["bcc"] = None  # importing bcc now fails
        from ctop_ebpf.cli import main
        rc = main(["--batch", "--output", "json", "--view", {view!r}, "--read", {path!r}])
        loaded = sorted(m for m in sys.modules if m == "bcc" and sys.modules[m] is not None
                        or m in ("ctop_ebpf.probes.live", "ctop_ebpf.probes.loader", "ctop_ebpf.probes.environment"))
        assert not loaded, loaded
        sys.exit(rc)
    """)


def test_replay_needs_no_bcc_and_loads_no_probes(tmp_path):
    path = good_capture(tmp_path)
    done = subprocess.run([sys.executable, "-c", _replay_guard_script(str(path), "processes")],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 5


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root to drop to nobody")
def test_replay_runs_as_an_unprivileged_user(tmp_path):
    path = good_capture(tmp_path)
    public = Path("/tmp") / f"ctop-capture-{uuid.uuid4().hex}.ctop"
    shutil.copy(path, public)
    os.chmod(public, 0o644)
    try:
        done = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c",
             _replay_guard_script(str(public), "files")],
            capture_output=True, text=True, timeout=60, cwd=ROOT,
            env={**os.environ, "HOME": "/tmp", "PYTHONDONTWRITEBYTECODE": "1"})
    finally:
        public.unlink()
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 5


# ---- live: record, then replay (root, bcc, BPF) ------------------------------------------

WORKLOAD = """
import sys, time
end = time.monotonic() + float(sys.argv[2])
n = 0
while time.monotonic() < end:
    with open(sys.argv[1], "ab") as f:
        f.write(b"k" * 4096)
    n += 1
    time.sleep(0.05)
print(n)
"""


@pytest.mark.kernel
def test_live_run_recorded_then_replayed_gives_the_same_ticks(kernel, tmp_path):
    capture_path = tmp_path / "live.ctop"
    known = f"/tmp/ctop-capture-known-{uuid.uuid4().hex}"
    work = subprocess.Popen([sys.executable, "-c", WORKLOAD, known, "60"], stdout=subprocess.PIPE, text=True)
    try:
        live = cli("--batch", "--output", "json", "--view", "files", "--delay", "0.5", "--iterations", "3",
                   "--write", str(capture_path), timeout=120)
    finally:
        work.terminate()
        work.wait(10)
        if os.path.exists(known):
            os.unlink(known)
    assert live.returncode == 0, live.stderr
    assert stat.S_IMODE(capture_path.stat().st_mode) == 0o600
    live_lines = live.stdout.splitlines()
    assert len(live_lines) == 3
    written = sum(r["bytes_written"] for line in live_lines for r in json.loads(line)["rows"]
                  if r["name"] == known)
    assert written > 0 and written % 4096 == 0

    header, records, warnings = read_events(str(capture_path))
    assert warnings == [] and header.interval_s == 0.5 and header.kernel == os.uname().release
    assert sum(type(r) is ev.Tick for r in records) == 4  # the baseline and three
    assert any(type(r) is ev.ProcSnapshot for r in records)

    replays = [cli("--batch", "--output", "json", "--view", "files", "--read", str(capture_path))
               for _ in range(2)]
    for rep in replays:
        assert rep.returncode == 0 and rep.stderr == ""
    assert replays[0].stdout == replays[1].stdout
    assert replays[0].stdout.splitlines() == live_lines  # same rows, same totals, same ts


@pytest.mark.kernel
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_capture_is_finalised_on_sigint_and_sigterm(kernel, tmp_path, sig):
    path = tmp_path / "sig.ctop"
    proc = subprocess.Popen([*CLI, "--batch", "--output", "json", "--view", "syscalls", "--delay", "0.5",
                             "--write", str(path)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(2):
            assert proc.stdout.readline(), proc.stderr.read() if proc.poll() is not None else ""
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0 and "Traceback" not in err
    with CaptureReader(str(path)) as r:
        ticks = sum(1 for e in r.records() if type(e) is ev.Tick)
        assert r.complete and r.warnings == [] and ticks >= 3
