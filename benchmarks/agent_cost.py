"""The agent's own cost next to batch mode's, with 50 containers running.

Side by side in one run, modes alternating over rounds: ``--batch --output
json`` (containers view, stdout drained), ``--metrics-addr`` scraped every
second, and ``--metrics-addr --metrics-syscalls`` scraped every second; each
at 1 tick/s. Measured: CPU of the ctop-ebpf process (% of a core), its peak
RSS, and the series one scrape of the agent holds (what a node costs
Prometheus). Run alone: ``sudo .venv/bin/python -m benchmarks.agent_cost``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.request

from tests.docker_env import IMAGE, system_daemon

from .common import PY, ROOT, cpu_seconds, log, median, status_bytes

CONTAINERS = 50
# each container: a shell waking every second to read a file (a fork and exec of cat a second)
WORKLOAD = ("sh", "-c", "trap 'exit 0' TERM; while :; do cat /etc/hostname > /dev/null; sleep 1; done")
MODES = ("batch", "agent", "agent_syscalls")


def _free_port() -> int:
    import socket  # noqa: PLC0415

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _series(text: str) -> dict:
    lines = [x for x in text.splitlines() if x and not x.startswith("#")]
    return {
        "all": len(lines),
        "containers": sum(x.startswith("ctop_container_") for x in lines),
        "per_syscall": sum(x.startswith("ctop_container_syscall_") and "syscall=" in x for x in lines),
    }


def _measure(mode: str, seconds: float) -> dict:
    port = _free_port()
    if mode == "batch":
        cmd = [PY, "-m", "ctop_ebpf", "--batch", "--output", "json", "--view", "containers", "--delay", "1"]
    else:
        cmd = [PY, "-m", "ctop_ebpf", "--metrics-addr", f"127.0.0.1:{port}", "--delay", "1"]
        if mode == "agent_syscalls":
            cmd.append("--metrics-syscalls")
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/metrics"
    scraped: list[str] = []
    try:
        if mode == "batch":
            proc.stdout.readline()
            threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
        else:  # ready once a tick is in the metrics
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    body = urllib.request.urlopen(url, timeout=5).read().decode()
                    if "ctop_agent_tick_duration_seconds_count 0.0" not in body:
                        break
                except OSError:
                    pass
                time.sleep(0.2)
        time.sleep(2)  # the containers' processes are known, the first ticks are past
        c0, w0 = cpu_seconds(proc.pid), time.monotonic()
        end = w0 + seconds
        while time.monotonic() < end:
            if mode != "batch":  # a Prometheus scraping every second
                scraped.append(urllib.request.urlopen(url, timeout=5).read().decode())
            time.sleep(max(0.0, min(1.0, end - time.monotonic())))
        cpu = (cpu_seconds(proc.pid) - c0) / (time.monotonic() - w0) * 100
        rss = status_bytes(proc.pid, "VmHWM")
    finally:
        proc.terminate()
        proc.wait(30)
    out = {"cpu_pct": cpu, "peak_rss_bytes": rss}
    if scraped:
        out["series"] = _series(scraped[-1])
        out["scrape_bytes"] = len(scraped[-1].encode())
    return out


def run(rounds: int = 3, seconds: float = 10.0, containers: int = CONTAINERS) -> dict:
    daemon, started = system_daemon()
    daemon.ensure_image()
    names = [f"ctop-bench-agent-{os.getpid()}-{i}" for i in range(containers)]
    try:
        for name in names:
            daemon.run_container(name, *WORKLOAD)
        log(f"  {containers} containers running ({IMAGE})")
        by_mode: dict[str, list[dict]] = {m: [] for m in MODES}
        for r in range(rounds):
            for mode in MODES if r % 2 == 0 else reversed(MODES):
                got = _measure(mode, seconds)
                by_mode[mode].append(got)
                series = f", {got['series']['all']} series" if "series" in got else ""
                log(
                    f"  round {r + 1} {mode}: {got['cpu_pct']:.1f}% CPU, "
                    f"peak RSS {got['peak_rss_bytes'] >> 20} MiB{series}"
                )
    finally:
        for name in names:
            daemon.remove_container(name)
        if started:
            daemon.stop()
    result: dict = {"containers": containers, "rounds": rounds, "seconds": seconds}
    for mode, runs in by_mode.items():
        result[mode] = {
            "cpu_pct": median([x["cpu_pct"] for x in runs]),
            "peak_rss_bytes": median([x["peak_rss_bytes"] for x in runs]),
        }
        if "series" in runs[-1]:
            result[mode]["series"] = runs[-1]["series"]
            result[mode]["scrape_bytes"] = runs[-1]["scrape_bytes"]
    result["cpu_ratio_agent_vs_batch"] = result["agent"]["cpu_pct"] / max(result["batch"]["cpu_pct"], 1e-9)
    return result


def markdown(r: dict) -> list[str]:
    """The BENCHMARKS.md section."""
    b, a, s = r["batch"], r["agent"], r["agent_syscalls"]
    mib = 2**20
    return [
        f"## Agent mode next to batch mode ({r['containers']} containers)",
        "",
        f"`benchmarks/agent_cost.py`: {r['containers']} busybox containers each reading a file once a second "
        f"(a fork and exec of cat); 1 tick/s; modes alternating over {r['rounds']} rounds of "
        f"{r['seconds']:.0f} s, medians. The agent is scraped every second, as by a Prometheus.",
        "",
        "| mode | CPU (% of a core) | peak RSS | series per scrape | scrape size |",
        "|---|---|---|---|---|",
        f"| `--batch --output json` (containers view) | {b['cpu_pct']:.1f} % | "
        f"{b['peak_rss_bytes'] / mib:.0f} MiB | | |",
        f"| `--metrics-addr` | {a['cpu_pct']:.1f} % | {a['peak_rss_bytes'] / mib:.0f} MiB | "
        f"{a['series']['all']} ({a['series']['containers']} `ctop_container_*`) | "
        f"{a['scrape_bytes'] / 1024:.0f} KiB |",
        f"| `--metrics-addr --metrics-syscalls` | {s['cpu_pct']:.1f} % | "
        f"{s['peak_rss_bytes'] / mib:.0f} MiB | "
        f"{s['series']['all']} ({s['series']['per_syscall']} per system call or errno) | "
        f"{s['scrape_bytes'] / 1024:.0f} KiB |",
        "",
        f"Agent CPU / batch CPU = **{r['cpu_ratio_agent_vs_batch']:.2f}**.",
        "",
    ]


if __name__ == "__main__":
    res = run()
    print(json.dumps(res, indent=2))
    print("\n".join(markdown(res)), file=sys.stderr)
