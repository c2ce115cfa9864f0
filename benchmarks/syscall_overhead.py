"""Per-syscall overhead: a getppid loop with no tracing, with the empty
enter+exit programs (the floor), with empty raw tracepoints, and with
ctop-ebpf --batch running all its probes. Modes alternate over rounds;
medians are compared in one run, so drift between runs cancels out."""

from __future__ import annotations

import subprocess

from .common import (
    FLOOR_RAW,
    FLOOR_TP,
    bpf_program,
    build_c,
    ctop_batch,
    log,
    median,
    nothing,
)

CALLS = 3_000_000


def measure(binary: str) -> float:
    out = subprocess.run([binary, str(CALLS)], capture_output=True, text=True, check=True)
    return float(out.stdout)


def run(rounds: int = 5) -> dict:
    binary = build_c("nullsys")
    modes = {
        "base": nothing,
        "floor": lambda: bpf_program(FLOOR_TP),
        "raw": lambda: bpf_program(FLOOR_RAW),
        "ctop": lambda: ctop_batch("--view", "syscalls"),
    }
    results: dict[str, list[float]] = {m: [] for m in modes}
    for r in range(rounds):
        for name, ctx in modes.items():
            with ctx():
                measure(binary)  # warm up
                results[name].append(min(measure(binary) for _ in range(3)))
        log(f"  round {r + 1}: " + ", ".join(f"{m} {v[-1]:.1f}" for m, v in results.items()))
    med = {m: median(v) for m, v in results.items()}
    base = med["base"]
    ratio = (med["ctop"] - base) / (med["floor"] - base) if med["floor"] > base else float("nan")
    return {
        "ns_per_call": med,
        "added_ns": {m: med[m] - base for m in med},
        "ratio_vs_floor": ratio,
        "rounds": rounds,
        "calls": CALLS,
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
