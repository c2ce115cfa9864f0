"""Every view not covered elsewhere, on live data, each with a filter."""

from __future__ import annotations

import subprocess
import textwrap
import uuid

import pytest

from tests.batch_run import BatchRun, named_python, rows

pytestmark = [pytest.mark.kernel, pytest.mark.usefixtures("kernel")]

WORKLOAD = textwrap.dedent("""
    import os, socket, sys, threading, time
    d = sys.argv[1]
    os.makedirs(d, exist_ok=True)
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    print(srv.getsockname()[1], flush=True)
    def serve():
        while True:
            c, _ = srv.accept()
            c.recv(100)
            c.sendall(b"pong")
            c.close()
    threading.Thread(target=serve, daemon=True, name="server").start()
    while True:
        with open(os.path.join(d, "data.bin"), "wb") as f:
            f.write(b"z" * 4096)
        c = socket.create_connection(srv.getsockname())
        c.sendall(b"ping")
        c.recv(100)
        c.close()
        try:
            open(os.path.join(d, "missing"))
        except FileNotFoundError:
            pass
        time.sleep(0.2)
""")


@pytest.fixture
def workload(tmp_path):
    name = f"ctopv_{uuid.uuid4().hex[:8]}"
    py = named_python(tmp_path, name)
    d = str(tmp_path / "work")
    yield name, py, d
    # the test starts the process itself, after the tools are ready


def start(py, d):
    proc = subprocess.Popen([py, "-c", WORKLOAD, d], stdout=subprocess.PIPE, text=True)
    port = int(proc.stdout.readline())
    return proc, port


def test_views_on_live_data(workload):
    name, py, d = workload
    runs = {
        "processes": BatchRun("processes", "--filter", f"proc.name = {name}"),
        "threads": BatchRun("threads", "--filter", f"proc.name = {name}"),
        "directories": BatchRun("directories", "--filter", f"fd.directory = {d}"),
        "ports": BatchRun("ports", "--filter", f"proc.name = {name}"),
        "io_types": BatchRun("io_types", "--filter", f"proc.name = {name}"),
        "opens": BatchRun("opens", "--filter", f"proc.name = {name} and fd.name startswith {d}"),
    }
    for r in runs.values():
        r.__enter__()
    proc = None
    try:
        for r in runs.values():
            r.wait_ready()
        proc, port = start(py, d)

        procs = runs["processes"].collect_until(
            lambda t: any(r["syscalls"] and r["net_bytes"] and r["file_bytes"] for r in rows(t[-1:])), settle=0)
        row = [r for r in rows(procs[-1:])][0]
        assert row["pid"] == proc.pid and row["name"] == name and row["container"] == "host"
        assert {r["pid"] for r in rows(procs)} == {proc.pid}

        threads = runs["threads"].collect_until(lambda t: len({r["tid"] for r in rows(t)}) >= 2, settle=0)
        assert {r["pid"] for r in rows(threads)} == {proc.pid}

        dirs = runs["directories"].collect_until(
            lambda t: any(r["bytes_written"] for r in rows(t)) and any(r["errors"] for r in rows(t)), settle=0)
        assert {r["directory"] for r in rows(dirs)} == {d}
        assert all(r["bytes_written"] % 4096 == 0 for r in rows(dirs))

        ports = runs["ports"].collect_until(
            lambda t: any(r["port"] == port and r["connections"] for r in rows(t)), settle=0)
        assert {r["port"] for r in rows(ports)} == {port}  # server side and client side both name it
        hit = [r for r in rows(ports) if r["port"] == port and r["connections"]]
        assert hit and hit[0]["proto"] == "tcp" and name in hit[0]["procs"]

        io = runs["io_types"].collect_until(
            lambda t: {"file", "ipv4"} <= {r["type"] for r in rows(t) if r["bytes_written"]}, settle=0)
        files = [r for r in rows(io) if r["type"] == "file"]
        assert sum(r["bytes_written"] for r in files) % 4096 == 0

        opens = runs["opens"].collect_until(
            lambda t: {"ENOENT"} <= {r["result"] for r in rows(t)} and any(r["result"].isdigit() for r in rows(t)),
            settle=0)
        names = {r["name"] for r in rows(opens)}
        assert names == {f"{d}/data.bin", f"{d}/missing"}
        assert all(r["pid"] == proc.pid and r["syscall"] == "openat" for r in rows(opens))
        times = [r["time"] for r in rows(opens[-1:])]
        assert times == sorted(times)
    finally:
        if proc is not None:
            proc.kill()
            proc.wait()
        for r in runs.values():
            r.__exit__(None, None, None)
