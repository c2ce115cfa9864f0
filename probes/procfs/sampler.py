"""Which processes' /proc stat to read at each tick.

Reading ``/proc/PID/stat`` costs ~13 µs a process here: 65 ms a tick on a
host with 5,000 processes, most of them asleep. The kernel side marks the
processes that made a syscall during the tick (the ``active`` map,
probes/bpf/syscalls.c). A process is read at a tick when

* it made a syscall in the tick (every wake-up from a blocking call is one),
* it used CPU between its last two reads (it may be running without calls),
* it is new, or a kernel thread (they wake without syscalls), or
* its turn in a rotation comes: every process is read at least every
  ``rotate`` ticks (RSS that changes while asleep; a process that woke
  without a syscall, e.g. by SIGCONT).

The others sleep: they used no CPU since their last read, and the model
gives them 0 % for the tick (see ``Tick.present``). A process read after a
few ticks of rest gets its CPU time spread over the time since its last
read, so nothing is counted twice or lost. Plain Python, no bcc.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable

from ctop_ebpf.model.events import ProcSample

from .files import (
    F_NUM_THREADS,
    F_PPID,
    F_RSS,
    F_STIME,
    F_UTIME,
    PAGE_SIZE,
    list_pids,
    read_once,
    ticks_to_ns,
)

ROTATE_EVERY = 8  # ticks: the longest a sleeping process goes unread



def sample(
    pids: Iterable[int] | None = None, proc_root: str = "/proc", threads: bool = True,
    kernel_threads: set[int] | None = None,
) -> list[ProcSample]:
    """Cumulative CPU time, RSS and thread count of processes, for one tick.

    ``pids`` ``None`` means every process. Each process gives one
    process-wide ``ProcSample`` (``tid == pid``: utime+stime of the whole
    thread group in ns, RSS in bytes from stat's rss field, number of threads). With
    ``threads``, each *other* thread of a multi-threaded process follows
    with its own line (``tid``, its cpu_ns, rss 0, threads 1); the main
    thread has no line of its own since ``tid == pid`` names the process
    line. Vanished processes and threads are skipped. Kernel threads
    (kthreadd and its children) among the processes read are added to
    ``kernel_threads`` when it is given.
    """
    if pids is None:
        pids = list_pids(proc_root)
    out: list[ProcSample] = []
    append = out.append
    for pid in pids:
        pid_dir = f"{proc_root}/{pid}"
        try:
            data = read_once(pid_dir + "/stat")
        except (OSError, ValueError):
            continue
        right = data.rfind(b")")
        if right < 0:
            continue
        fields = data[right + 2 :].split()
        try:
            cpu = ticks_to_ns(int(fields[F_UTIME]) + int(fields[F_STIME]))
            nthreads = int(fields[F_NUM_THREADS])
            rss = int(fields[F_RSS]) * PAGE_SIZE  # one read per process: stat, not statm
        except (IndexError, ValueError):
            continue
        append(ProcSample(pid, pid, cpu, rss, nthreads))
        if kernel_threads is not None and (pid == 2 or fields[F_PPID] == b"2"):
            kernel_threads.add(pid)
        if threads and nthreads > 1:
            task_dir = pid_dir + "/task"
            try:
                tids = os.listdir(task_dir)
            except OSError:
                continue
            for name in sorted(tids, key=lambda n: (len(n), n)):
                if not name.isdigit() or int(name) == pid:
                    continue
                try:
                    tdata = read_once(f"{task_dir}/{name}/stat")
                except OSError:
                    continue
                right = tdata.rfind(b")")
                tfields = tdata[right + 2 :].split()
                try:
                    tcpu = ticks_to_ns(int(tfields[F_UTIME]) + int(tfields[F_STIME]))
                except (IndexError, ValueError):
                    continue
                append(ProcSample(pid, int(name), tcpu, 0, 1))
    return out


class ProcSampler:
    def __init__(self, proc_root: str = "/proc", *, threads: bool = True, rotate: int = ROTATE_EVERY) -> None:
        self.proc_root = proc_root
        self.threads = threads
        self.rotate = max(1, rotate)
        self._cpu: dict[int, int] = {}  # pid -> cpu_ns at its last read
        self._sleeping: set[int] = set()  # read twice, no CPU used between
        self._kernel: set[int] = set()
        self._turn = 0

    def sample(self, active: Collection[int] | None) -> tuple[list[ProcSample], tuple[int, ...]]:
        """This tick's samples and every pid present. ``active`` ``None``
        (the kernel could not tell) reads every process."""
        pids = list_pids(self.proc_root)
        self._turn = (self._turn + 1) % self.rotate
        if active is None:
            chosen = pids
        else:
            sleeping, kernel, rotate, turn = self._sleeping, self._kernel, self.rotate, self._turn
            chosen = [pid for pid in pids
                      if pid not in sleeping or pid in active or pid in kernel or pid % rotate == turn]
        samples = sample(chosen, self.proc_root, threads=self.threads, kernel_threads=self._kernel)
        cpu, sleeping = self._cpu, self._sleeping
        for s in samples:
            if s.tid != s.pid:
                continue
            before = cpu.get(s.pid)
            if before is not None and before == s.cpu_ns:
                sleeping.add(s.pid)
            else:
                sleeping.discard(s.pid)
            cpu[s.pid] = s.cpu_ns
        if self._turn == 0:  # now and then, forget the processes that are gone
            present = set(pids)
            for pid in [pid for pid in cpu if pid not in present]:
                del cpu[pid]
                sleeping.discard(pid)
                self._kernel.discard(pid)
        return samples, tuple(pids)
