"""probes/procfs/sampler.py: which processes' /proc stat are read at a tick, on a fake /proc."""

from __future__ import annotations

from pathlib import Path

from ctop_ebpf.probes import procfs
from ctop_ebpf.probes.procfs.sampler import ProcSampler
from tests.test_procfs import stat_line, write

NS = 1_000_000_000 // procfs.CLK_TCK


def proc_tree(root: Path, procs: dict[int, tuple[int, int]]) -> None:
    """procs: pid -> (ppid, utime ticks)."""
    for pid, (ppid, utime) in procs.items():
        write(root / str(pid) / "stat", stat_line(pid, f"p{pid}", ppid, utime=utime))


def read_pids(samples) -> set[int]:
    return {s.pid for s in samples if s.tid == s.pid}


def test_sleeping_processes_are_read_only_in_their_turn(tmp_path: Path) -> None:
    root = tmp_path / "proc"
    procs = {pid: (1, 5) for pid in range(100, 116)}
    procs[1] = (0, 7)
    proc_tree(root, procs)
    sampler = ProcSampler(str(root), rotate=4)
    everyone = set(procs)
    # new processes are read, and read again to learn whether they sleep
    for _ in range(2):
        samples, present = sampler.sample(active=set())
        assert read_pids(samples) == everyone and set(present) == everyone
    # now asleep: a quarter of them a tick, each in its turn, every one within 4 ticks
    seen = []
    for _ in range(4):
        samples, present = sampler.sample(active=set())
        seen.append(read_pids(samples))
        assert set(present) == everyone
        assert len(seen[-1]) in (4, 5)
    assert set().union(*seen) == everyone


def test_active_busy_new_and_kernel_threads_are_read_every_tick(tmp_path: Path) -> None:
    root = tmp_path / "proc"
    procs = {pid: (1, 5) for pid in range(100, 120)}
    procs[2] = (0, 0)  # kthreadd
    procs[50] = (2, 0)  # a kworker
    proc_tree(root, procs)
    sampler = ProcSampler(str(root), rotate=1000)
    sampler.sample(active=set())
    proc_tree(root, {110: (1, 5)})
    busy = 1
    proc_tree(root, {110: (1, 5 + busy)})  # 110 used CPU between its first two reads
    sampler.sample(active=set())
    for n in range(3, 6):
        busy += 10
        proc_tree(root, {110: (1, 5 + busy)})  # runs without syscalls
        proc_tree(root, {300 + n: (1, 0)})  # a new process every tick
        samples, present = sampler.sample(active={105})
        got = read_pids(samples)
        assert {2, 50, 105, 110, 300 + n} <= got
        assert not got & {101, 102, 103}  # asleep, not their turn
        assert 300 + n in present
    # 110 stops using CPU: read once more (its last read showed CPU), then asleep
    sampler.sample(active=set())
    assert 110 not in read_pids(sampler.sample(active=set())[0])


def test_no_activity_information_reads_everyone(tmp_path: Path) -> None:
    root = tmp_path / "proc"
    proc_tree(root, {pid: (1, 5) for pid in range(100, 110)})
    sampler = ProcSampler(str(root), rotate=1000)
    sampler.sample(active=set())
    sampler.sample(active=set())
    assert read_pids(sampler.sample(active=set())[0]) == set()
    assert read_pids(sampler.sample(active=None)[0]) == set(range(100, 110))


def test_gone_processes_are_forgotten(tmp_path: Path) -> None:
    root = tmp_path / "proc"
    proc_tree(root, {100: (1, 5), 101: (1, 5)})
    sampler = ProcSampler(str(root), rotate=2)
    for _ in range(3):
        sampler.sample(active=set())
    (root / "101" / "stat").unlink()
    (root / "101").rmdir()
    for _ in range(2):
        _, present = sampler.sample(active=set())
    assert present == (100,)
    # a new process that takes the pid is read as new, not taken for the old sleeper
    proc_tree(root, {101: (1, 5)})
    assert 101 in read_pids(sampler.sample(active=set())[0])
