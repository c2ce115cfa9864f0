"""How long the TUI takes to refresh a 5,000-row view (Python time per tick).

Builds ticks of a synthetic system of ``--rows`` processes through the real
model (SystemState), where every counter of every process changes each tick
and ``--churn`` processes exit and are born per tick, then drives the TUI
headless on the Processes view and times, per tick:

* ``refresh``: the whole refresh of the main screen, what runs once per
  tick, with and without the cyclic GC's collections that happened to run
  in it (they scan the tick's fresh objects, most of them the model's); of
  which
* ``compute``: views.engine.compute (filter, group, aggregate, sort), and
* ``table``:   ViewTable.show, the keyed diff into the DataTable (the rest is
  the history panel's record, the header and the breadcrumb);
* ``paint``:   the next screen update (the visible rows formatted and drawn;
  it depends on the terminal size, not on the number of rows).

All times are CPU time of the UI thread. A shared VM's speed varies by 2x
from one minute to the next: the "reference loop" line measures it, so runs
can be compared. The goal is ``refresh`` under 50 ms at 5,000 rows. Run:

    .venv/bin/python -m benchmarks.tui_refresh [--rows 5000] [--ticks 30]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import time

from ctop_ebpf.gc_policy import configure_gc
from ctop_ebpf.model import events as ev
from ctop_ebpf.model.state import SystemState
from ctop_ebpf.tui.app import CtopApp
from ctop_ebpf.tui.screens.main import SourceInfo
from ctop_ebpf.views import engine
from tests.scenario import demo_host, tick

GOAL_MS = 50.0


def make_ticks(rows: int, ticks: int, churn: int):
    """TickRecords for ``ticks`` ticks of ``rows`` busy processes, made one at a time
    (only the current tick's records are alive, as in the app)."""
    state = SystemState(user_name=lambda uid: "root" if uid == 0 else str(uid))
    pids = list(range(10_000, 10_000 + rows))
    for pid in pids:
        state.apply(ev.ProcSnapshot(
            pid=pid, ppid=1, comm=f"worker-{pid % 97}", exe="/usr/bin/worker",
            argv=("/usr/bin/worker", "--id", str(pid)), uid=0, start_ns=pid,
            container_id=f"{pid % 20:064x}" if pid % 3 else "", runtime="docker" if pid % 3 else "",
            fds=(ev.FdSnapshot(3, "file", f"/var/data/{pid}.db"),),
        ))
    state.end_tick(tick(-1, interval_s=0.0))
    cpu = dict.fromkeys(pids, 0)
    next_pid = pids[-1] + 1
    for i in range(ticks):
        for k in range(churn):  # some leave, some arrive
            gone = pids.pop(0)
            state.apply(ev.Exit(0, gone, gone, 0))
            cpu.pop(gone)
            state.apply(ev.ProcSnapshot(
                pid=next_pid, ppid=1, comm="new", exe="", argv=("new",), uid=0, start_ns=next_pid,
                container_id="", runtime=""))
            pids.append(next_pid)
            cpu[next_pid] = 0
            next_pid += 1
        for n, pid in enumerate(pids):
            cpu[pid] += ((n * 7919 + i * 104729) % 1000) * 10_000
        yield state.end_tick(tick(i,
            syscalls=tuple(ev.SyscallStat(p, p, "read", 10 + (p + i) % 50, 0, 1000) for p in pids),
            fdio=tuple(ev.FdIO(p, 3, 4096 * ((p + i) % 9), 512 * ((p * i) % 7), 3, 1) for p in pids),
            samples=tuple(ev.ProcSample(p, p, cpu[p], 2**20 * (1 + p % 300), 1) for p in pids),
            events=len(pids) * 3,
        ))


class _Bench:
    def __init__(self) -> None:
        self.compute: list[float] = []
        self.table: list[float] = []
        self.refresh: list[float] = []
        self.refresh_gc: list[float] = []  # of which the cyclic GC (collections that ran)
        self.paint: list[float] = []
        self.gc_total = 0.0
        self._gc_start = 0.0

    def gc_callback(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._gc_start = _clock()
        else:
            self.gc_total += _clock() - self._gc_start


async def run(rows: int, ticks: int, churn: int, size=(160, 50)) -> _Bench:
    records = make_ticks(rows, ticks + 1, churn)
    app = CtopApp(_NoSource(), view="processes", host=demo_host, show_startup=False)
    bench = _Bench()
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        main = app.main
        table = main.table
        # the first tick adds every row: timed apart
        t0 = _clock()
        main.new_records(next(records), SourceInfo())
        first = _clock() - t0
        await pilot.pause()
        await pilot.press("pagedown")  # somewhere in the middle, as a user would be
        await pilot.pause()
        orig_show = table.show
        orig_compute = engine.compute

        def timed_show(rows_, rate):
            t = _clock()
            orig_show(rows_, rate)
            bench.table.append(_clock() - t)

        def timed_compute(*args, **kwargs):
            t = _clock()
            try:
                return orig_compute(*args, **kwargs)
            finally:
                bench.compute.append(_clock() - t)

        table.show = timed_show
        engine.compute = timed_compute  # the screen calls engine.compute at each refresh
        gc.callbacks.append(bench.gc_callback)
        try:
            for rec in records:
                g = bench.gc_total
                t = _clock()
                main.new_records(rec, SourceInfo())
                bench.refresh.append(_clock() - t)
                bench.refresh_gc.append(bench.gc_total - g)
                t = _clock()
                await pilot.pause()
                bench.paint.append(_clock() - t)
        finally:
            engine.compute = orig_compute
            gc.callbacks.remove(bench.gc_callback)
        # processes exiting in a tick are still listed in that tick
        assert rows <= table.row_count <= rows + churn, table.row_count
    bench.first = first  # type: ignore[attr-defined]
    return bench


class _NoSource:
    async def events(self):
        return
        yield  # pragma: no cover

    async def aclose(self) -> None:
        pass


def calibrate() -> float:
    """CPU ms of a fixed pure-Python loop: how fast this machine is right now (a
    shared VM varies by 2x), to compare runs."""
    data = [{"a": i, "b": str(i)} for i in range(5000)]
    best = float("inf")
    for _ in range(5):
        t = _clock()
        for _ in range(10):
            out = {}
            for d in data:
                out[d["b"]] = tuple(map(d.get, ("a", "b", "c")))
        best = min(best, _clock() - t)
    return best * 1000


def _clock() -> float:
    """CPU time of this thread: the Python time, whatever else the machine runs."""
    return time.thread_time()


def _ms(values: list[float]) -> str:
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(len(values) * 0.95))]
    return (f"median {statistics.median(values) * 1000:6.1f} ms   p95 {p95 * 1000:6.1f} ms   "
            f"max {values[-1] * 1000:6.1f} ms")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=5000)
    p.add_argument("--ticks", type=int, default=30)
    p.add_argument("--churn", type=int, default=50, help="processes replaced per tick")
    p.add_argument("--gc", default="", metavar="T0,T1,T2",
                   help="gc.set_threshold for the run (default: what the app sets, "
                        "ctop_ebpf/gc_policy.py); 700,10,10 is Python's default")
    args = p.parse_args(argv)
    if args.gc:
        gc.set_threshold(*(int(x) for x in args.gc.split(",")))
    else:
        configure_gc()
    speed = calibrate()
    bench = asyncio.run(run(args.rows, args.ticks, args.churn))
    print(f"TUI refresh, Processes view, {args.rows} rows, every counter changing, "
          f"{args.churn} rows replaced per tick, {args.ticks} ticks, gc thresholds "
          f"{gc.get_threshold()}; CPU time of the UI thread")
    print(f"  machine: reference loop {speed:.1f} ms (lower is faster)")
    print(f"  first tick (all rows new): {bench.first * 1000:.1f} ms")  # type: ignore[attr-defined]
    print(f"  refresh  (per tick)      : {_ms(bench.refresh)}")
    no_gc = [r - g for r, g in zip(bench.refresh, bench.refresh_gc)]
    print(f"    without GC pauses      : {_ms(no_gc)}  (GC ran in "
          f"{sum(1 for g in bench.refresh_gc if g)} of {len(no_gc)} refreshes)")
    print(f"    compute  (engine)      : {_ms(bench.compute)}")
    print(f"    table    (keyed diff)  : {_ms(bench.table)}")
    print(f"  paint    (next frame)    : {_ms(bench.paint)}")
    median = statistics.median(bench.refresh) * 1000
    verdict = "OK" if median < GOAL_MS else "OVER"
    print(f"refresh median {median:.1f} ms vs goal {GOAL_MS:.0f} ms: {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
