"""A real service under load: nginx (one worker) on 127.0.0.1 under wrk,
requests/s bare, with the empty probes (floor), with ctop-ebpf, and with
the peers syscount-bpfcc and strace -f -c, alternating over rounds."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from contextlib import contextmanager

from .common import FLOOR_TP, bpf_program, ctop_batch, interrupt, log, median, nothing

PORT = 18080
CONF = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location / {{ root {dir}/www; }}
    }}
}}
"""


@contextmanager
def nginx():
    d = tempfile.mkdtemp(prefix="ctop-bench-nginx-")
    os.chmod(d, 0o755)  # the worker runs as www-data: it must read www/
    os.makedirs(f"{d}/www")
    with open(f"{d}/www/index.html", "w") as f:
        f.write("x" * 612)
    with open(f"{d}/nginx.conf", "w") as f:
        f.write(CONF.format(dir=d, port=PORT))
    proc = subprocess.Popen(["nginx", "-c", f"{d}/nginx.conf"], stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(d, ignore_errors=True)


def wrk(seconds: int) -> float:
    out = subprocess.run(["wrk", "-t1", "-c8", f"-d{seconds}s", f"http://127.0.0.1:{PORT}/index.html"],
                         capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out:  # measure the service, not its error path
        raise RuntimeError(f"nginx answered with errors:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


@contextmanager
def peer(cmd: list[str], nginx_pid: int | None = None):
    if nginx_pid is not None:
        cmd = [c.replace("{pid}", str(nginx_pid)) for c in cmd]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(4.0)  # bcc peers compile; strace attaches at once
    try:
        yield proc
    finally:
        interrupt(proc, 10)


def run(rounds: int = 5, seconds: int = 5) -> dict:
    results: dict[str, list[float]] = {}
    with nginx() as server:
        worker = int(subprocess.run(["pgrep", "-P", str(server.pid)], capture_output=True,
                                    text=True).stdout.split()[0])
        modes = {
            "bare": nothing,
            "floor": lambda: bpf_program(FLOOR_TP),
            "ctop": lambda: ctop_batch("--view", "connections"),
            "syscount": lambda: peer(["syscount-bpfcc", "-i", "1"]),
            "strace": lambda: peer(["strace", "-f", "-c", "-p", "{pid}"], worker),
        }
        results = {m: [] for m in modes}
        wrk(1)  # warm up
        for r in range(rounds):
            for name, ctx in modes.items():
                with ctx():
                    results[name].append(wrk(seconds))
            log(f"  round {r + 1}: " + ", ".join(f"{m} {v[-1]:.0f}" for m, v in results.items()))
    med = {m: median(v) for m, v in results.items()}
    bare = med["bare"]
    loss = {m: 1 - med[m] / bare for m in med}
    return {
        "req_per_s": med,
        "loss": loss,
        "ratio_vs_floor": loss["ctop"] / loss["floor"] if loss["floor"] > 0 else float("nan"),
        "rounds": rounds,
        "seconds": seconds,
    }
