"""What each kind of syscall a server makes costs under ctop-ebpf, next to
the floor: a null call, a read (per-fd byte accounting), an open+close
(the fd lifecycle: path read, folding) and an open+pread+close, nanoseconds
per iteration bare, with the empty enter+exit programs and with ctop-ebpf
--batch, alternating over rounds. It explains the nginx figure: a request
is a mix of these."""

from __future__ import annotations

import subprocess

from .common import (
    FLOOR_TP,
    ROOT,
    bpf_program,
    build_c,
    ctop_batch,
    log,
    median,
    nothing,
)

KINDS = {"null": 1_000_000, "read": 600_000, "openclose": 150_000, "openreadclose": 120_000}


def measure(binary: str, kind: str) -> float:
    path = str(ROOT / "benchmarks" / "syscall_mix.c")  # any readable file
    out = subprocess.run([binary, kind, str(KINDS[kind]), path], capture_output=True, text=True, check=True)
    return float(out.stdout)


def run(rounds: int = 3) -> dict:
    binary = build_c("syscall_mix")
    modes = {
        "base": nothing,
        "floor": lambda: bpf_program(FLOOR_TP),
        "ctop": lambda: ctop_batch("--view", "files"),
    }
    results = {m: {k: [] for k in KINDS} for m in modes}
    for r in range(rounds):
        for name, ctx in modes.items():
            with ctx():
                for kind in KINDS:
                    measure(binary, kind)  # warm up
                    results[name][kind].append(min(measure(binary, kind) for _ in range(3)))
        log(f"  round {r + 1}: " + "; ".join(
            f"{m} " + " ".join(f"{k} {v[k][-1]:.0f}" for k in KINDS) for m, v in results.items()))
    med = {m: {k: median(v) for k, v in kinds.items()} for m, kinds in results.items()}
    added = {m: {k: med[m][k] - med["base"][k] for k in KINDS} for m in med}
    return {
        "ns_per_iteration": med,
        "added_ns": added,
        "ratio_vs_floor": {k: added["ctop"][k] / added["floor"][k] for k in KINDS},
        "rounds": rounds,
    }
