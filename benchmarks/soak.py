"""Soak: ctop-ebpf --batch for minutes under a mixed load; RSS must stay flat.

    sudo .venv/bin/python -m benchmarks.soak [--minutes 3] [--sample 5]   (make soak)

The load, all on 127.0.0.1: nginx (Debian's, one worker) under wrk (new
connections every few seconds, so sockets churn), a burst of short execs every
few seconds, and an open storm on a fresh path every few seconds (the files
table churns too). Every ``--sample`` seconds the ctop-ebpf process's VmRSS
and CPU time are read from /proc. At the end a summary is printed (markdown,
for BENCHMARKS.md) and the exit code is 1 if events were lost or RSS at the
end is more than 20 % above RSS after the warm-up. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid

from .common import PY, ROOT, build_c, cpu_seconds, log, status_bytes
from .nginx_wrk import PORT, nginx

RSS_SLACK = 0.20
WARMUP_FRACTION = 0.2  # RSS is compared with the first sample after this part of the run


class Load:
    """The mixed load in background threads; counts what it did."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.requests = 0
        self.wrk_runs = 0
        self.execs = 0
        self.opens = 0
        self.storm = build_c("openstorm")
        self.threads = [threading.Thread(target=f, daemon=True) for f in (self._wrk, self._execs, self._opens)]

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def join(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(30)

    def _wrk(self) -> None:
        # short wrk runs: each opens its connections anew (socket churn)
        while not self.stop.is_set():
            out = subprocess.run(["wrk", "-t1", "-c8", "-d3s", f"http://127.0.0.1:{PORT}/index.html"],
                                 capture_output=True, text=True).stdout
            for line in out.splitlines():
                parts = line.split()
                if "requests in" in line and parts and parts[0].isdigit():
                    self.requests += int(parts[0])
            self.wrk_runs += 1

    def _execs(self) -> None:
        while not self.stop.wait(2.0):
            subprocess.run(["/bin/sh", "-c", "i=0; while [ $i -lt 200 ]; do /bin/true $i; i=$((i+1)); done"],
                           check=False)
            self.execs += 200

    def _opens(self) -> None:
        while not self.stop.wait(3.0):
            path = f"/tmp/ctop-soak-{uuid.uuid4().hex}"
            subprocess.run([self.storm, path, "100000"], capture_output=True, check=False)
            try:
                os.unlink(path)
            except OSError:
                pass
            self.opens += 100_001


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="benchmarks.soak", description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=3.0)
    p.add_argument("--sample", type=float, default=5.0, help="seconds between RSS/CPU samples")
    p.add_argument("--view", default="processes")
    p.add_argument("--json", metavar="FILE", help="also write the numbers as JSON")
    args = p.parse_args(argv)
    if os.geteuid() != 0:
        print("benchmarks.soak: run as root (make soak)", file=sys.stderr)
        return 3
    for tool in ("nginx", "wrk", "gcc"):
        if shutil.which(tool) is None:
            print(f"benchmarks.soak: {tool} missing (apt-get install nginx-light wrk gcc)", file=sys.stderr)
            return 3

    duration = args.minutes * 60
    proc = subprocess.Popen([PY, "-m", "ctop_ebpf", "--batch", "--output", "json", "--view", args.view,
                             "--delay", "1", "--no-docker"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ticks = {"n": 0, "events": 0, "lost": 0, "max_rows": 0, "bad": 0, "lossy_ticks": 0}

    def read() -> None:
        for line in proc.stdout:
            try:
                t = json.loads(line)
            except ValueError:
                ticks["bad"] += 1
                continue
            ticks["n"] += 1
            ticks["events"] += t["stats"].get("events", 0)
            ticks["lost"] += t["stats"].get("lost", 0)
            ticks["lossy_ticks"] += bool(t["stats"].get("lost", 0))
            ticks["max_rows"] = max(ticks["max_rows"], len(t["rows"]))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    t_start = time.monotonic()
    while ticks["n"] == 0:
        if proc.poll() is not None:
            print(f"ctop-ebpf failed: {proc.stderr.read()}", file=sys.stderr)
            return 1
        time.sleep(0.2)
    log(f"soak: ctop-ebpf ready after {time.monotonic() - t_start:.1f}s; {args.minutes:g} min of load")

    samples: list[tuple[float, int, float]] = []  # (t, rss, cpu % over the last interval)
    with nginx():
        load = Load()
        load.start()
        t0 = time.monotonic()
        last_cpu, last_t = cpu_seconds(proc.pid), t0
        try:
            while time.monotonic() - t0 < duration and proc.poll() is None:
                time.sleep(args.sample)
                now, cpu = time.monotonic(), cpu_seconds(proc.pid)
                samples.append((now - t0, status_bytes(proc.pid, "VmRSS"), 100.0 * (cpu - last_cpu) / (now - last_t)))
                last_cpu, last_t = cpu, now
                t, r, c = samples[-1]
                log(f"  {t:6.0f}s  RSS {r / 2**20:7.1f} MiB  CPU {c:5.1f}%  ticks {ticks['n']}  lost {ticks['lost']}")
        finally:
            load.join()
    # after the load: a few quiet ticks, then the final RSS (pruned)
    time.sleep(5)
    settled = status_bytes(proc.pid, "VmRSS")
    proc.send_signal(2)
    try:
        rc = proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = proc.wait()
    err = proc.stderr.read()

    warm = next((s for s in samples if s[0] >= duration * WARMUP_FRACTION), samples[0])
    peak = max(s[1] for s in samples)
    under_load = samples[-1][1]
    cpus = [s[2] for s in samples]
    growth = (settled - warm[1]) / warm[1]
    why = [text for bad, text in ((ticks["lost"] > 0, f"{ticks['lost']} events lost"),
                                  (growth > RSS_SLACK, f"RSS grew {100 * growth:.0f} %"),
                                  (rc != 0 or "Traceback" in err, f"exit {rc}"),
                                  (ticks["bad"] > 0, f"{ticks['bad']} bad JSON lines")) if bad]
    ok = not why
    result = {
        "minutes": args.minutes, "view": args.view, "ticks": ticks["n"], "events": ticks["events"],
        "events_per_s": ticks["events"] / duration, "lost": ticks["lost"], "lossy_ticks": ticks["lossy_ticks"], "bad_lines": ticks["bad"],
        "rss_warm_mib": warm[1] / 2**20, "rss_peak_mib": peak / 2**20, "rss_end_load_mib": under_load / 2**20,
        "rss_settled_mib": settled / 2**20, "rss_growth_pct": 100 * growth,
        "cpu_avg_pct": sum(cpus) / len(cpus), "cpu_max_pct": max(cpus),
        "requests": load.requests, "wrk_runs": load.wrk_runs, "execs": load.execs, "opens": load.opens,
        "exit_code": rc, "pass": ok,
    }
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    print(f"""\
## Soak ({args.minutes:g} min, `make soak`)

ctop-ebpf `--batch --output json --view {args.view} --delay 1` for {args.minutes:g} minutes beside nginx
under wrk on 127.0.0.1 ({load.requests:,} requests in {load.wrk_runs} short wrk runs, so connections
churn), {load.execs:,} short execs (bursts of 200 every 2 s) and {load.opens:,} opens (a storm of
100,001 on a fresh path every 3 s). RSS and CPU of the ctop-ebpf process sampled every {args.sample:g} s.

| measure | value |
|---|---|
| ticks printed | {ticks['n']} |
| events streamed | {ticks['events']:,} ({ticks['events'] / duration:,.0f}/s) |
| events lost | {ticks['lost']} (in {ticks['lossy_ticks']} ticks) |
| RSS after warm-up ({warm[0]:.0f} s) | {warm[1] / 2**20:.1f} MiB |
| RSS peak under load | {peak / 2**20:.1f} MiB |
| RSS at end of load | {under_load / 2**20:.1f} MiB |
| RSS 5 s after the load | {settled / 2**20:.1f} MiB ({100 * growth:+.1f} % vs warm-up) |
| CPU (one core = 100 %) | avg {sum(cpus) / len(cpus):.1f} %, max {max(cpus):.1f} % |
| exit | {rc}{', traceback!' if 'Traceback' in err else ''} |

Result: {'PASS' if ok else 'FAIL: ' + ', '.join(why)} (criteria: no events lost, RSS within {RSS_SLACK:.0%} of warm-up,
clean exit).""")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
