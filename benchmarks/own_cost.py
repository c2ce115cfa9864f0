"""The tool's own cost: CPU of the ctop-ebpf process at 1 tick/s on an idle
host and with 5,000 extra processes, its peak RSS, and time to first output."""

from __future__ import annotations

import subprocess
import time

from .common import PY, ROOT, cpu_seconds, log, status_bytes


def _measure(seconds: float) -> dict:
    t0 = time.monotonic()
    proc = subprocess.Popen([PY, "-m", "ctop_ebpf", "--batch", "--output", "json", "--view", "processes",
                             "--delay", "1"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    proc.stdout.readline()
    first = time.monotonic() - t0
    c0, w0 = cpu_seconds(proc.pid), time.monotonic()
    end = w0 + seconds
    while time.monotonic() < end:
        proc.stdout.readline()
    cpu = (cpu_seconds(proc.pid) - c0) / (time.monotonic() - w0) * 100
    rss = status_bytes(proc.pid, "VmHWM")
    proc.terminate()
    proc.wait()
    return {"cpu_pct": cpu, "peak_rss_bytes": rss, "first_output_s": first}


def run(seconds: float = 10.0, extra_procs: int = 5000) -> dict:
    idle = _measure(seconds)
    log(f"  idle: {idle['cpu_pct']:.1f}% CPU, peak RSS {idle['peak_rss_bytes'] >> 20} MiB, "
        f"first output {idle['first_output_s']:.1f}s")
    sleepers = subprocess.Popen(["/bin/sh", "-c", f"for i in $(seq {extra_procs}); do sleep 600 & done; wait"])
    time.sleep(5)
    try:
        busy = _measure(seconds)
    finally:
        subprocess.run(["pkill", "-P", str(sleepers.pid)])
        sleepers.kill()
        sleepers.wait()
    log(f"  {extra_procs} processes: {busy['cpu_pct']:.1f}% CPU, peak RSS {busy['peak_rss_bytes'] >> 20} MiB")
    return {"idle": idle, f"with_{extra_procs}_processes": busy}
