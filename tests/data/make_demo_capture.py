"""Record tests/data/demo.ctop: a short capture of a real run with two real containers.

Re-record it (as root, with Docker and busybox-static installed; takes ~20 s)::

    sudo .venv/bin/python -m tests.data.make_demo_capture [OUTPUT] [--ticks N]

What runs while ctop-ebpf records (``--delay 1``, N ticks, default 6):

- ``demo-web`` (busybox, ``--network none``): writes a page, serves it with
  ``httpd`` on 127.0.0.1:8080 and fetches it with ``wget`` in a loop, so the
  connections and ports views have loopback traffic inside a container;
- ``demo-worker`` (busybox, ``--network none``): writes, reads back and
  rewrites three files in /data, and opens a missing file (ENOENT) in a loop;
- ``demo-host-job`` on the host: a busybox shell appending to a file in /tmp.

The system Docker daemon is used (started, and stopped again, when none
answers), as in tests/docker_env.py. The containers are removed at the end.

Privacy: a capture holds the command lines and paths of every process on the
recording host, and the host this runs on is not ours to publish. So the raw
recording is filtered before it is written: only the two containers'
processes, the host job (and whatever any of them starts), and dockerd /
containerd / the shims are kept, with their events and per-tick aggregates;
every other process, and every other container, is dropped, and the header's
host name is replaced by ``demo-host``. The result is still a capture of the
real run, read and written by capture/, only narrower.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from ctop_ebpf import __version__
from ctop_ebpf.capture.format import UserNames
from ctop_ebpf.capture.reader import CaptureReader
from ctop_ebpf.capture.writer import CaptureWriter
from ctop_ebpf.model import events as ev
from tests import docker_env

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUTPUT = ROOT / "tests" / "data" / "demo.ctop"
WEB, WORKER = "demo-web", "demo-worker"
HOST_DAEMONS = ("dockerd", "containerd", "containerd-shim")

WEB_CMD = (
    "sh", "-c",
    "trap 'exit 0' TERM; mkdir -p /www; i=0; "
    "while [ $i -lt 200 ]; do echo \"<p>line $i of the ctop-ebpf demo page</p>\" >> /www/index.html; "
    "i=$((i+1)); done; "
    "httpd -p 127.0.0.1:8080 -h /www; "
    "while :; do wget -q -O /dev/null http://127.0.0.1:8080/index.html; sleep 0.3; done",
)
WORKER_CMD = (
    "sh", "-c",
    "trap 'exit 0' TERM; mkdir -p /data; i=0; "
    "while :; do n=$((i % 3)); dd if=/dev/zero of=/data/blob.$n bs=4096 count=32 2>/dev/null; "
    "cat /data/blob.$n > /dev/null; cat /etc/missing.conf 2>/dev/null; "
    "sleep 0.4; i=$((i+1)); done",
)
HOST_JOB = "while :; do echo demo >> /tmp/ctop-demo-host.log; sleep 0.5; done"


def record(raw: Path, ticks: int) -> tuple[set[str], int]:
    """Start the workload, record the live run into ``raw``, clean up.

    Returns the full ids of the two containers and the pid of the host job.
    """
    daemon, started = docker_env.system_daemon()
    job_dir = Path(tempfile.mkdtemp(prefix="ctop-demo-"))
    host_job = None
    try:
        daemon.ensure_image()
        for name in (WEB, WORKER):
            daemon.remove_container(name)
        ids = {daemon.run_container(WEB, *WEB_CMD, network="none"),
               daemon.run_container(WORKER, *WORKER_CMD, network="none")}
        # busybox runs the applet named by argv[0]; the process is named after the link
        link = job_dir / "demo-host-job"
        link.symlink_to(docker_env.BUSYBOX)
        host_job = subprocess.Popen(["sh", "-c", HOST_JOB], executable=str(link),
                                    stdin=subprocess.DEVNULL, cwd=job_dir)
        time.sleep(1.0)
        subprocess.run(
            [sys.executable, "-m", "ctop_ebpf", "--batch", "--output", "json", "--view", "containers",
             "--delay", "1", "--iterations", str(ticks), "--write", str(raw), "--force"],
            cwd=ROOT, check=True, stdout=subprocess.DEVNULL, timeout=180)
        return ids, host_job.pid
    finally:
        if host_job is not None:
            host_job.terminate()
            host_job.wait(10)
        shutil.rmtree(job_dir, ignore_errors=True)
        try:
            os.unlink("/tmp/ctop-demo-host.log")
        except OSError:
            pass
        for name in (WEB, WORKER):
            daemon.remove_container(name)
        if started:
            daemon.stop()


class Narrow:
    """Keeps the demo's processes and containers out of a whole-host event stream."""

    def __init__(self, container_ids: set[str], host_pids: set[int]) -> None:
        self.containers = container_ids
        self.pids = set(host_pids)

    def keeps_snapshot(self, s: ev.ProcSnapshot) -> bool:
        return (s.container_id in self.containers or s.pid in self.pids
                or s.comm.startswith(HOST_DAEMONS))

    def event(self, e) -> bool:
        t = type(e)
        if t is ev.ProcSnapshot:
            if self.keeps_snapshot(e):
                self.pids.add(e.pid)
                return True
            return False
        if t is ev.Fork:
            if e.ppid in self.pids:
                self.pids.add(e.pid)
                return True
            return False
        if t is ev.Exec and e.container_id in self.containers:
            self.pids.add(e.pid)
        return e.pid in self.pids

    def tick(self, t: ev.Tick, events: int) -> ev.Tick:
        keep = self.pids
        return replace(
            t,
            syscalls=tuple(s for s in t.syscalls if s.pid in keep),
            errnos=tuple(s for s in t.errnos if s.pid in keep),
            fdio=tuple(s for s in t.fdio if s.pid in keep),
            samples=tuple(s for s in t.samples if s.pid in keep),
            containers=tuple(c for c in t.containers if c.id in self.containers),
            events=events,
        )


def narrow(raw: Path, out: Path, container_ids: set[str], host_pids: set[int]) -> tuple[int, int]:
    """Copy ``raw`` to ``out`` keeping only the demo; returns (ticks, bytes)."""
    keep = Narrow(container_ids, host_pids)
    names: dict[int, str] = {}
    with CaptureReader(str(raw)) as reader:
        if reader.header.interval_s <= 0:
            raise SystemExit("raw capture has no interval")
        writer = CaptureWriter.create(
            str(out), tool_version=__version__, force=True, interval_s=reader.header.interval_s,
            user_name=lambda uid: names.get(uid, str(uid)), host="demo-host",
            kernel=reader.header.kernel, start_wall=reader.header.start_wall,
            extra={"demo": "tests/data/make_demo_capture.py: two busybox containers, "
                           "host processes other than the demo's removed"})
        batch: list = []
        for rec in reader.records():
            if type(rec) is UserNames:
                names.update(rec.names)
            elif type(rec) is ev.Tick:
                batch.append(keep.tick(rec, len(batch) if rec.interval_s else 0))
                writer.write_batch(batch)
                batch = []
            elif keep.event(rec):
                batch.append(rec)
        if reader.warnings or not reader.complete:
            raise SystemExit(f"raw capture incomplete: {reader.warnings}")
        writer.close()
    return writer.ticks, out.stat().st_size


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("output", nargs="?", default=str(DEFAULT_OUTPUT))
    p.add_argument("--ticks", type=int, default=6)
    args = p.parse_args(argv)
    if os.geteuid() != 0:
        print("make_demo_capture: run as root (it loads the BPF probes and uses Docker)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="ctop-demo-raw-") as tmp:
        raw = Path(tmp) / "raw.ctop"
        container_ids, host_pid = record(raw, args.ticks)
        ticks, size = narrow(raw, Path(args.output), container_ids, {host_pid})
    os.chmod(args.output, 0o644)  # a published fixture, not a private capture
    print(f"wrote {args.output}: {ticks} ticks (with the baseline), {size} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
