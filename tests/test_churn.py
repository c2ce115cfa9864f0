"""Churn against the real kernel: counts stay exact, the model prunes, memory stays flat.

Each test runs the real ``ctop-ebpf --batch --output json`` beside a storm
(thousands of execs, a million opens, thousands of loopback TCP connections,
a PID reused by a new process) and checks the batch output against what the
workload did, then that ctop-ebpf's RSS, a few ticks after the storm, is
within 20 % of its RSS before it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time

import pytest

from tests.batch_run import BatchRun, named_python, rows, total

pytestmark = pytest.mark.kernel

RSS_SLACK = 0.20


def rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def ticks(run: BatchRun, n: int) -> list[dict]:
    return [run.next_tick() for _ in range(n)]


def baseline_rss(run: BatchRun) -> int:
    run.wait_ready(timeout=120)
    ticks(run, 4)  # past start-up allocations
    return rss(run.proc.pid)


def settled_rss(run: BatchRun, before: int) -> int:
    """RSS once the storm's processes and fds are pruned: a few ticks later."""
    ticks(run, 6)
    after = rss(run.proc.pid)
    assert after <= before * (1 + RSS_SLACK), \
        f"RSS grew from {before / 2**20:.1f} MiB to {after / 2**20:.1f} MiB after the storm"
    return after


def lost(run: BatchRun) -> int:
    return sum(t["stats"]["lost"] for t in run.ticks)


def test_exec_storm(kernel, tmp_path):
    n = 3000
    marker = tmp_path / "ctopchurn"
    marker.symlink_to(os.path.realpath("/bin/true"))
    driver = named_python(tmp_path, "churndrv")
    code = ("import os,sys\n"
            "for i in range(int(sys.argv[2])):\n"
            "    pid = os.fork()\n"
            "    if pid == 0:\n"
            "        os.execv(sys.argv[1], [sys.argv[1], str(i)])\n"
            "    os.waitpid(pid, 0)\n")
    with BatchRun("execs", "--no-docker", "--filter", "proc.name = ctopchurn", delay=0.5) as run:
        before = baseline_rss(run)
        t0 = time.monotonic()
        subprocess.run([driver, "-c", code, str(marker), str(n)], check=True, timeout=60)
        took = time.monotonic() - t0
        try:
            run.collect_until(lambda ts: sum(len(t["rows"]) for t in ts) >= n, timeout=20, settle=1)
        except AssertionError:
            pass  # counted below
        settled_rss(run, before)
    execs = [r for r in rows(run.ticks)]
    shown = sorted(int(r["cmdline"].split()[-1]) for r in execs)
    assert len(set(shown)) == len(shown) and set(shown) <= set(range(n))  # never twice, never made up
    # ctop-ebpf watches the whole host: a storm elsewhere (another test suite)
    # can fill the buffers too; a loss must then show in the stats
    assert len(execs) == n or lost(run) > 0, f"{len(execs)} execs shown for {n} made in {took:.1f}s, none lost"
    if lost(run) == 0:
        assert shown == list(range(n))
    assert run.proc.returncode == 0 and "Traceback" not in run.stderr


def test_exited_processes_are_pruned(kernel, tmp_path):
    """2,000 short processes: none of them is left in the processes view."""
    name = "ctopshort"
    prog = named_python(tmp_path, name)
    with BatchRun("processes", "--no-docker", "--filter", f"proc.name = {name}", delay=0.5) as run:
        before = baseline_rss(run)
        # forked children that exit at once (a python exec each would take 40 s)
        code = ("import os\n"
                "for i in range(2000):\n"
                "    pid = os.fork()\n"
                "    if pid == 0:\n"
                "        os._exit(0)\n"
                "    os.waitpid(pid, 0)\n")
        subprocess.run([prog, "-c", code], check=True, timeout=60)
        after_ticks = ticks(run, 6)
        settled_rss(run, before)
    assert after_ticks[-1]["rows"] == [], after_ticks[-1]["rows"][:5]
    seen = {r["pid"] for r in rows(run.ticks)}
    assert len(seen) >= 1  # the parent at least showed while it ran
    assert lost(run) == 0


def test_a_million_opens(kernel, tmp_path):
    n = 1_000_000
    fails = 100_000
    target = tmp_path / "storm-target"
    target.write_bytes(b"x")
    missing = tmp_path / "storm-missing"
    prog = named_python(tmp_path, "openstorm")
    code = ("import os, sys\n"
            "p, q, n, m = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])\n"
            "o, c = os.open, os.close\n"
            "for _ in range(n):\n"
            "    c(o(p, os.O_RDONLY))\n"
            "for _ in range(m):\n"
            "    try:\n"
            "        o(q, os.O_RDONLY)\n"
            "    except FileNotFoundError:\n"
            "        pass\n")
    with BatchRun("files", "--no-docker", "--filter", "proc.name = openstorm", delay=0.5) as run:
        before = baseline_rss(run)
        subprocess.run([prog, "-c", code, str(target), str(missing), str(n), str(fails)],
                       check=True, timeout=60)
        run.collect_until(lambda ts: total(ts, "opens", name=str(missing)) >= fails, timeout=30, settle=2)
        settled_rss(run, before)
    assert total(run.ticks, "opens", name=str(target)) == n
    assert total(run.ticks, "errors", name=str(target)) == 0
    assert total(run.ticks, "opens", name=str(missing)) == fails
    assert total(run.ticks, "errors", name=str(missing)) == fails
    assert lost(run) == 0
    unknown = [r["name"] for r in rows(run.ticks) if r["name"].startswith("<unknown")]
    assert not unknown, unknown[:3]


@pytest.mark.parametrize("pages", [256, 2048], ids=["default-buffers", "8MiB-buffers"])
def test_thousands_of_loopback_connections(kernel, tmp_path, pages):
    """2,000 connections in about half a second (4,000/s). With the default
    1 MiB per CPU the perf buffers overflow at this rate (about 2,800 events
    lost here): the loss must then be counted and nothing over-counted; with
    8 MiB every byte is attributed."""
    n, size = 2000, 100
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    port = srv.getsockname()[1]
    srv.close()
    server = named_python(tmp_path, "churnsrv")
    client = named_python(tmp_path, "churncli")
    server_code = ("import socket, sys\n"
                   "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
                   "s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(512)\n"
                   "print('ready', flush=True)\n"
                   "for _ in range(int(sys.argv[2])):\n"
                   "    c, _ = s.accept()\n"
                   "    got = 0\n"
                   "    while got < int(sys.argv[3]):\n"
                   "        d = c.recv(65536)\n"
                   "        if not d: break\n"
                   "        got += len(d)\n"
                   "    c.sendall(b'k'); c.close()\n")
    client_code = ("import socket, sys\n"
                   "for _ in range(int(sys.argv[2])):\n"
                   "    c = socket.create_connection(('127.0.0.1', int(sys.argv[1])))\n"
                   "    c.sendall(b'x' * int(sys.argv[3])); c.recv(1); c.close()\n")
    with BatchRun("connections", "--no-docker", "--filter", "proc.name in (churnsrv, churncli)",
                  "--buffer-pages", str(pages), delay=0.5) as run:
        before = baseline_rss(run)
        srv_proc = subprocess.Popen([server, "-c", server_code, str(port), str(n), str(size)],
                                    stdout=subprocess.PIPE, text=True)
        assert srv_proc.stdout.readline().strip() == "ready"
        subprocess.run([client, "-c", client_code, str(port), str(n), str(size)], check=True, timeout=60)
        srv_proc.wait(30)
        ticks(run, 3)
        settled_rss(run, before)
    sent = total(run.ticks, "bytes_sent", proc="churncli")
    received = total(run.ticks, "bytes_received", proc="churnsrv")
    assert run.ticks[-1]["rows"] == [], run.ticks[-1]["rows"][:3]  # closed sockets pruned
    if pages == 256 and lost(run):
        # overflowed: the loss shows in the stats, and what is shown is never too much
        assert sent <= n * size and received <= n * size
        return
    assert lost(run) == 0
    assert sent == n * size, f"client sent {sent}, server received {received}, expected {n * size}"
    assert received == n * size
    assert total(run.ticks, "bytes_sent", proc="churnsrv") == n


def _spawn_at_pid(pid: int, argv: list[str]) -> subprocess.Popen | None:
    """A process at exactly ``pid``: the next pid is set through ns_last_pid
    (root); other forks on the machine may race, so the caller retries."""
    with open("/proc/sys/kernel/ns_last_pid", "w") as f:
        f.write(str(pid - 1))
    proc = subprocess.Popen(argv)
    if proc.pid == pid:
        return proc
    proc.kill()
    proc.wait()
    return None


def test_pid_reuse(kernel, tmp_path):
    """A process exits and a new one gets its pid: the new one shows with its
    own name, command line and files, nothing of the old one."""
    old_file = tmp_path / "old-file"
    new_file = tmp_path / "new-file"
    for f in (old_file, new_file):
        f.write_bytes(b"x")
    old = named_python(tmp_path, "reuseold")
    new = named_python(tmp_path, "reusenew")
    holder = "import sys, time\nf = open(sys.argv[1])\nwhile True:\n    open(sys.argv[1]).close(); time.sleep(0.05)\n"
    with BatchRun("processes", "--no-docker", "--filter", "proc.name startswith reuse", delay=0.5) as run:
        run.wait_ready(timeout=120)
        first = subprocess.Popen([old, "-c", holder, str(old_file)])
        pid = first.pid
        run.collect_until(lambda ts: any(r["pid"] == pid for r in ts[-1]["rows"]), timeout=20, settle=1)
        first.kill()
        first.wait()
        ticks(run, 3)
        second = None
        for _ in range(50):
            second = _spawn_at_pid(pid, [new, "-c", holder, str(new_file), "marker-new"])
            if second is not None:
                break
        if second is None:
            pytest.skip("could not get the pid back (other forks raced)")
        try:
            run.collect_until(lambda ts: any(r["pid"] == pid and r["name"] == "reusenew" for r in ts[-1]["rows"]),
                              timeout=20, settle=2)
        finally:
            second.kill()
            second.wait()
    last = [r for r in run.ticks[-1]["rows"] if r["pid"] == pid]
    assert len(last) == 1
    assert last[0]["name"] == "reusenew" and "marker-new" in last[0]["cmdline"]
    assert str(old_file) not in last[0]["cmdline"]
    shown_after = [r for t in run.ticks[-3:] for r in t["rows"] if r["pid"] == pid]
    assert all(r["name"] == "reusenew" for r in shown_after)


@pytest.mark.kernel
def test_pid_reuse_files_are_the_new_process(kernel, tmp_path):
    """The files view of a reused pid holds the new process's file, not the old one's fds."""
    old_file = tmp_path / "old-held"
    new_file = tmp_path / "new-held"
    for f in (old_file, new_file):
        f.write_bytes(b"x")
    prog = named_python(tmp_path, "reusefd")
    holder = ("import sys, time\nf = open(sys.argv[1])\n"
              "while True:\n    f.seek(0); f.read(); time.sleep(0.05)\n")
    with BatchRun("files", "--no-docker", "--filter", "proc.name = reusefd", delay=0.5) as run:
        run.wait_ready(timeout=120)
        first = subprocess.Popen([prog, "-c", holder, str(old_file)])
        pid = first.pid
        run.collect_until(lambda ts: any(r["name"] == str(old_file) for r in ts[-1]["rows"]), timeout=20)
        first.kill()
        first.wait()
        ticks(run, 3)
        second = None
        for _ in range(50):
            second = _spawn_at_pid(pid, [prog, "-c", holder, str(new_file)])
            if second is not None:
                break
        if second is None:
            pytest.skip("could not get the pid back (other forks raced)")
        try:
            run.collect_until(lambda ts: any(r["name"] == str(new_file) for r in ts[-1]["rows"]), timeout=20,
                              settle=3)
        finally:
            second.kill()
            second.wait()
    for t in run.ticks[-3:]:
        names = {r["name"] for r in t["rows"]}
        assert str(old_file) not in names, names

