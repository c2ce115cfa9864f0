"""Helpers shared by the benchmarks: tracers started side by side, medians."""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")

# The floor: empty enter+exit programs, as the issue defines it.
FLOOR_TP = r"""
TRACEPOINT_PROBE(raw_syscalls, sys_enter) { return 0; }
TRACEPOINT_PROBE(raw_syscalls, sys_exit) { return 0; }
"""
FLOOR_RAW = r"""
RAW_TRACEPOINT_PROBE(sys_enter) { return 0; }
RAW_TRACEPOINT_PROBE(sys_exit) { return 0; }
"""

_LOADER = """
import sys, time
sys.path.insert(0, {root!r})
from ctop_ebpf.probes import environment
environment.ensure_kernel_headers()
from bcc import BPF
b = BPF(text=sys.stdin.read())
print("ready", flush=True)
while True:
    time.sleep(3600)
"""


@contextmanager
def bpf_program(text: str):
    """Load a BPF program in a helper process for the duration of the block."""
    proc = subprocess.Popen([PY, "-c", _LOADER.format(root=str(ROOT))], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    proc.stdin.write(text)
    proc.stdin.close()
    line = proc.stdout.readline()
    if line.strip() != "ready":
        proc.kill()
        raise RuntimeError("BPF program failed to load")
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


@contextmanager
def ctop_batch(*args: str):
    """ctop-ebpf --batch running (all probes), ready once it printed a tick."""
    proc = subprocess.Popen([PY, "-m", "ctop_ebpf", "--batch", "--output", "json", "--delay", "1", *args],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError(f"ctop-ebpf failed: {proc.stderr.read()}")
    # keep draining stdout so it never blocks on a full pipe
    import threading

    lines: list[str] = [line]
    t = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    t.start()
    try:
        yield proc, lines
    finally:
        interrupt(proc, 15)


def interrupt(proc: subprocess.Popen, timeout: float) -> None:
    """SIGINT, then SIGKILL if it has not left after ``timeout`` seconds."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def nothing():
    yield None


def median(values):
    return statistics.median(values)


def status_bytes(pid: int, field: str) -> int:
    """A kB field of /proc/PID/status (VmRSS, VmHWM) in bytes; 0 if absent."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def build_c(name: str) -> str:
    src = ROOT / "benchmarks" / f"{name}.c"
    out = Path("/tmp") / f"ctop-bench-{name}"
    if not out.exists() or out.stat().st_mtime < src.stat().st_mtime:
        subprocess.run(["gcc", "-O2", "-o", str(out), str(src)], check=True)
    return str(out)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def now() -> float:
    return time.monotonic()
