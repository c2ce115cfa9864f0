"""Event storms: 200,000 open/close pairs on one file, and 10,000 short
processes. Every open and every exec must be counted, none lost."""

from __future__ import annotations

import json
import subprocess
import time
import uuid

from .common import build_c, ctop_batch, log


def _collect(lines: list[str]) -> list[dict]:
    return [json.loads(line) for line in lines]


def open_storm(n: int = 200_000) -> dict:
    binary = build_c("openstorm")
    path = f"/tmp/ctop-bench-storm-{uuid.uuid4().hex}"
    base = float(subprocess.run([binary, path, str(n)], capture_output=True, text=True, check=True).stdout)
    with ctop_batch("--view", "files", "--filter", f"fd.name = {path}") as (proc, lines):
        traced = float(subprocess.run([binary, path, str(n)], capture_output=True, text=True, check=True).stdout)
        time.sleep(2.5)
    ticks = _collect(lines)
    opens = sum(r["opens"] for t in ticks for r in t["rows"])
    lost = sum(t["stats"]["lost"] for t in ticks)
    log(f"  open storm: {opens} opens counted of {n + 1}, lost {lost}, {base:.2f}s bare, {traced:.2f}s traced")
    return {"expected": n + 1, "counted": opens, "lost": lost, "seconds_bare": base, "seconds_traced": traced}


def exec_storm(n: int = 10_000) -> dict:
    marker = f"ctopb{uuid.uuid4().hex[:8]}"
    script = f"i=0; while [ $i -lt {n} ]; do /bin/true {marker} $i; i=$((i+1)); done"
    with ctop_batch("--view", "execs", "--filter", f"proc.cmdline contains {marker}") as (proc, lines):
        t0 = time.monotonic()
        subprocess.run(["/bin/sh", "-c", script], check=True)
        elapsed = time.monotonic() - t0
        time.sleep(2.5)
    ticks = _collect(lines)
    seen = {r["cmdline"] for t in ticks for r in t["rows"] if r["cmdline"].startswith("/bin/true")}
    lost = sum(t["stats"]["lost"] for t in ticks)
    log(f"  exec storm: {len(seen)} execs seen of {n}, lost {lost}, {elapsed:.1f}s")
    return {"expected": n, "counted": len(seen), "lost": lost, "seconds": elapsed}


def run() -> dict:
    return {"open_storm": open_storm(), "exec_storm": exec_storm()}
