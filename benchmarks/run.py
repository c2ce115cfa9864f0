"""``make bench``: every benchmark in one run, results in BENCHMARKS.md.

Each figure is a ratio or a count measured side by side in this run (modes
alternate over rounds), so drift between machines and runs cancels out.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import time

from . import agent_cost, nginx_wrk, own_cost, storms, syscall_mix, syscall_overhead
from .common import PY, ROOT, log

COMMAND = "make bench   (sudo .venv/bin/python -m benchmarks.run)"


def tui_refresh() -> dict:
    out = subprocess.run([PY, "-m", "benchmarks.tui_refresh", "--rows", "5000", "--ticks", "20"],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    line = [x for x in out.splitlines() if x.startswith("refresh median")][0]
    return {"refresh_median_ms": float(line.split()[2]), "report": out}


def fmt_pct(x: float) -> str:
    return f"{x * 100:.1f} %"


def verdict(ok: bool) -> str:
    return "met" if ok else "**not met**"


def write_markdown(r: dict, started: float) -> str:
    sc, ng, st, oc, tui = r["syscalls"], r["nginx"], r["storms"], r["own"], r["tui"]
    idle, busy = oc["idle"], oc["with_5000_processes"]
    lines = [
        "# Benchmarks",
        "",
        f"Produced by `{COMMAND}` on {time.strftime('%Y-%m-%d', time.gmtime(started))}, "
        f"{platform.node()}, kernel {platform.release()}, {platform.machine()}, "
        f"{subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()} cores; "
        f"took {r['seconds']:.0f} s. Raw numbers: `benchmarks/results.json`.",
        "Every comparison is measured side by side in one run, modes alternating over rounds; "
        "medians are reported.",
        "",
        "| # | what | measured | target | |",
        "|---|---|---|---|---|",
        f"| 1 | per-syscall overhead, getppid loop: base {sc['ns_per_call']['base']:.0f} ns/call; "
        f"+{sc['added_ns']['floor']:.0f} ns empty TRACEPOINT enter+exit (floor); "
        f"+{sc['added_ns']['raw']:.0f} ns empty raw tracepoints; "
        f"+{sc['added_ns']['ctop']:.0f} ns ctop-ebpf (all probes) | "
        f"(ours − base)/(floor − base) = **{sc['ratio_vs_floor']:.2f}** | ≤ 1.5 | "
        f"{verdict(sc['ratio_vs_floor'] <= 1.5)} |",
        f"| 2 | nginx + wrk -t1 -c8 on loopback: bare {ng['req_per_s']['bare']:.0f} req/s; loss with "
        f"empty probes {fmt_pct(ng['loss']['floor'])}, ctop-ebpf {fmt_pct(ng['loss']['ctop'])}, "
        f"syscount-bpfcc {fmt_pct(ng['loss']['syscount'])}, strace -f -c {fmt_pct(ng['loss']['strace'])} | "
        f"ctop loss / floor loss = **{ng['ratio_vs_floor']:.2f}** | ≤ 1.3 (and below syscount) | "
        f"{verdict(ng['ratio_vs_floor'] <= 1.3)}"
        f"{'' if ng['loss']['ctop'] <= ng['loss']['syscount'] else ', above syscount'} |",
        f"| 3a | open storm: {st['open_storm']['expected']:,} opens of one file | "
        f"{st['open_storm']['counted']:,} counted, {st['open_storm']['lost']} lost; "
        f"{st['open_storm']['seconds_bare']:.2f} s bare, {st['open_storm']['seconds_traced']:.2f} s traced | "
        f"all counted, 0 lost | "
        f"{verdict(st['open_storm']['counted'] == st['open_storm']['expected'] and st['open_storm']['lost'] == 0)} |",
        f"| 3b | exec storm: {st['exec_storm']['expected']:,} short processes | "
        f"{st['exec_storm']['counted']:,} seen, {st['exec_storm']['lost']} lost, "
        f"{st['exec_storm']['seconds']:.1f} s | all seen, 0 lost | "
        f"{verdict(st['exec_storm']['counted'] == st['exec_storm']['expected'] and st['exec_storm']['lost'] == 0)} |",
        f"| 4a | ctop-ebpf CPU at 1 tick/s, idle host | {idle['cpu_pct']:.1f} % of a core | ≤ 5 % | "
        f"{verdict(idle['cpu_pct'] <= 5)} |",
        f"| 4b | ctop-ebpf CPU at 1 tick/s, 5,000 extra processes | {busy['cpu_pct']:.1f} % of a core | ≤ 15 % | "
        f"{verdict(busy['cpu_pct'] <= 15)} |",
        f"| 4c | peak RSS (5,000 processes) | {busy['peak_rss_bytes'] / 2**20:.0f} MiB | ≤ 200 MB | "
        f"{verdict(busy['peak_rss_bytes'] <= 200e6)} |",
        f"| 4d | time to first output (probes compiled and attached, one 1 s tick) | "
        f"{idle['first_output_s']:.1f} s | ≤ 3 s | {verdict(idle['first_output_s'] <= 3)} |",
        f"| 4e | TUI refresh of a 5,000-row view, Python time per tick | "
        f"{tui['refresh_median_ms']:.1f} ms | ≤ 50 ms | {verdict(tui['refresh_median_ms'] <= 50)} |",
        "",
        "## Cost by kind of syscall (what a request is made of)",
        "",
        "`benchmarks/syscall_mix.py`: nanoseconds added per iteration over the bare loop, "
        "side by side in one run (medians of "
        f"{r['mix']['rounds']} rounds).",
        "",
        "| loop | floor (empty enter+exit) | ctop-ebpf | ratio |",
        "|---|---|---|---|",
        *(f"| {kind} | +{r['mix']['added_ns']['floor'][kind]:.0f} ns | +{r['mix']['added_ns']['ctop'][kind]:.0f} ns | "
          f"{r['mix']['ratio_vs_floor'][kind]:.2f} |" for kind in r["mix"]["ratio_vs_floor"]),
        "",
        *agent_cost.markdown(r["agent"]),
        "## TUI refresh detail",
        "",
        "```",
        tui["report"].rstrip(),
        "```",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    started = time.time()
    t0 = time.monotonic()
    results = {}
    for name, fn in (("syscalls", syscall_overhead.run), ("mix", syscall_mix.run), ("nginx", nginx_wrk.run),
                     ("storms", storms.run), ("own", own_cost.run), ("agent", agent_cost.run),
                     ("tui", tui_refresh)):
        log(f"{name} ...")
        results[name] = fn()
    results["seconds"] = time.monotonic() - t0
    (ROOT / "benchmarks" / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    notes = ROOT / "benchmarks" / "NOTES.md"
    text = write_markdown(results, started)
    if notes.exists():
        text += "\n" + notes.read_text()
    (ROOT / "BENCHMARKS.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
