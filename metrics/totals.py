"""Per-container totals since the agent started, folded from each tick's records.

``MetricsTotals.update(records)`` takes one tick's records (model/records.py:
per-process counts of the tick, container cgroup readings) and adds them to
running totals per container; ``snapshot()`` returns them as immutable
samples per metric family (families.py), which the agent's HTTP threads
serve while the next tick is folded. Plain Python: no network, no
prometheus_client, no host I/O.

Rules:

* Counters only grow. They start at 0 for what exists when the agent
  starts (its first tick is a baseline) and count everything after.
* CPU of a container is its cgroup's cumulative CPU time (``cpu_ns`` of the
  container record): it includes processes that started and exited between
  two ticks, which no per-process reading sees. A cgroup that restarts from
  0 (the container restarted) adds its new reading. For the host, and for a
  container without a cgroup reading, it is the sum of its processes' CPU
  time as read from /proc (the time a process used after its last read and
  before it exited is not seen).
* A container that goes away keeps its last values, and is dropped once
  ``STALE_SCRAPES`` scrapes have served them (or after ``STALE_TICKS`` ticks
  when nobody scrapes).
* With a filter, the processes it selects (as in the processes view) are
  counted; cgroup CPU and memory are used only when the filter names
  containers alone (``container.*``, ``k8s.*``), since a cgroup holds every
  process of its container.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ctop_ebpf.model.events import HOST
from ctop_ebpf.model.records import TickRecords
from ctop_ebpf.views import engine
from ctop_ebpf.views.catalogue import get_view
from ctop_ebpf.views.safe_text import printable

from . import families as F

STALE_SCRAPES = 3
STALE_TICKS = 300
LABEL_LIMIT = 256  # characters of one label value (names come from watched processes and runtimes)
_PROCESSES = get_view("processes")


@dataclass(frozen=True, slots=True)
class Sample:
    labels: tuple[str, ...]  # values, in the order of the family's labels
    value: float


@dataclass(frozen=True, slots=True)
class Histogram:
    buckets: tuple[tuple[float, int], ...]  # (upper bound, cumulative count); the last is +Inf
    count: int
    sum: float


@dataclass(frozen=True)
class Snapshot:
    """What one scrape serves: every family with its samples."""

    seq: int  # ticks folded in so far
    families: tuple[tuple[F.Family, tuple[Sample, ...]], ...]
    tick: Histogram
    build: dict[str, str]

    def samples(self, name: str) -> tuple[Sample, ...]:
        for fam, samples in self.families:
            if fam.name == name:
                return samples
        raise KeyError(name)

    def value(self, name: str, **labels: str) -> float | None:
        """The value of the one sample of ``name`` whose labels include ``labels``."""
        fam = next(f for f, _ in self.families if f.name == name)
        for s in self.samples(name):
            got = dict(zip(fam.labels, s.labels))
            if all(got.get(k) == v for k, v in labels.items()):
                return s.value
        return None

    @property
    def series(self) -> int:
        """How many series a scrape exposes (a histogram: its buckets, sum and count)."""
        return sum(len(s) for _, s in self.families) + len(self.tick.buckets) + 2 + 1


@dataclass(slots=True)
class _Container:
    labels: tuple[str, ...]
    born_after_start: bool
    syscalls: int = 0
    syscall_errors: int = 0
    file_read: int = 0
    file_written: int = 0
    net_received: int = 0
    net_sent: int = 0
    cpu_ns: int = 0
    memory_bytes: int = 0
    processes: int = 0
    cgroup_cpu_ns: int = -1  # last cgroup reading; -1 until the first one
    gone_at: int | None = None  # scrape count when it was first missing
    gone_ticks: int = 0
    # with --metrics-syscalls: syscall -> [calls, errors, ns]; (syscall, errno name) -> failed calls
    by_syscall: dict[str, list[int]] = field(default_factory=dict)
    by_errno: dict[tuple[str, str], int] = field(default_factory=dict)


@dataclass(slots=True)
class _TickSum:
    """One container's amounts in one tick."""

    labels: tuple[str, ...]
    syscalls: int = 0
    syscall_errors: int = 0
    file_read: int = 0
    file_written: int = 0
    net_received: int = 0
    net_sent: int = 0
    proc_cpu_ns: int = 0
    rss_bytes: int = 0
    processes: int = 0
    cgroup: Mapping | None = None


def _label(value) -> str:
    return printable(value, LABEL_LIMIT) if value else ""


def labels_of(rec: Mapping) -> tuple[str, ...]:
    """The container labels (families.CONTAINER_LABELS) of a process or container record."""
    return (
        _label(rec.get("container.id", HOST)),
        _label(rec.get("container.name", "")),
        _label(rec.get("container.image", "")),
        _label(rec.get("container.runtime", "")),
        _label(rec.get("k8s.pod.name", "")),
        _label(rec.get("k8s.ns.name", "")),
    )


class MetricsTotals:
    """Running totals per container, fed one tick's records at a time."""

    def __init__(self, query=None, *, per_syscall: bool = False, build: dict[str, str] | None = None) -> None:
        self.query = query if query is not None and query.fields else None
        # a filter on containers alone selects whole containers: their cgroup is theirs
        self.whole_containers = self.query is None or engine.covers("containers", self.query.fields)
        self.per_syscall = per_syscall
        self.build = dict(build or {})
        self.containers: dict[str, _Container] = {}
        self.events = 0
        self.lost = 0
        self.ticks = 0
        self._pid_cpu: dict[int, int] = {}  # pid -> cumulative CPU ns at its last reading (-1 unknown)
        self._tick_counts = [0] * (len(F.TICK_BUCKETS) + 1)
        self._tick_sum = 0.0
        self._tick_n = 0

    # ---- folding a tick ----------------------------------------------------

    def update(self, records: TickRecords, scrapes: int = 0) -> None:
        """Fold one tick in. ``scrapes``: how many scrapes were served so far
        (what decides when a gone container is dropped)."""
        baseline = self.ticks == 0 or records.interval_s == 0
        self.ticks += 1
        cpu = self._cpu_deltas(records.procs, baseline)
        procs = records.procs if self.query is None else engine.select(_PROCESSES, records, self.query)
        sums: dict[str, _TickSum] = {}
        for r in procs:
            cid = r.get("container.id") or HOST
            s = sums.get(cid)
            if s is None:
                s = sums[cid] = _TickSum(labels_of(r))
            s.syscalls += r["syscalls"]
            s.syscall_errors += r["syscall_errors"]
            s.file_read += r["file_bytes_read"]
            s.file_written += r["file_bytes_written"]
            s.net_received += r["net_bytes_read"]
            s.net_sent += r["net_bytes_written"]
            s.proc_cpu_ns += cpu.get(r["proc.pid"], 0)
            if not r["exited"]:
                s.processes += 1
                s.rss_bytes += max(0, r["rss_bytes"])
        for c in records.containers:
            cid = c["container.id"]
            s = sums.get(cid)
            if s is None:
                # present without a process we know (yet), or the host with none selected
                if not c.get("present") or not self.whole_containers:
                    continue
                if self.query is not None and not self.query.matches(c):
                    continue
                s = sums[cid] = _TickSum(labels_of(c))
            else:
                s.labels = labels_of(c)  # the container record is the freshest
            s.cgroup = c
        for cid, s in sums.items():
            self._fold(cid, s, baseline)
        if self.per_syscall and not baseline:
            self._fold_syscalls(records, procs)
        self._expire(sums, scrapes)
        if not baseline:
            self.events += records.stats.get("events", 0)
            self.lost += records.stats.get("lost", 0)

    def _cpu_deltas(self, procs: list[dict], baseline: bool) -> dict[int, int]:
        """CPU ns each process used since its last reading (every process, so
        that a process the filter selects later has a baseline)."""
        last = self._pid_cpu
        seen: dict[int, int] = {}
        out: dict[int, int] = {}
        for r in procs:
            pid = r["proc.pid"]
            now = r.get("cpu_ns", -1)
            before = last.get(pid)
            if before is None:
                # at the baseline: its CPU so far is not ours; later: born after the start
                before = -1 if baseline else 0
            if now < 0:
                seen[pid] = before
                continue
            if before >= 0 and not baseline:
                out[pid] = now - before if now >= before else now
            seen[pid] = now
        self._pid_cpu = seen  # pids gone from the records are forgotten (a reused pid starts at 0)
        return out

    def _fold(self, cid: str, s: _TickSum, baseline: bool) -> None:
        c = self.containers.get(cid)
        if c is None:
            c = self.containers[cid] = _Container(s.labels, born_after_start=not baseline)
        c.labels = s.labels
        c.gone_at, c.gone_ticks = None, 0
        c.memory_bytes = self._memory(cid, s)
        c.processes = s.processes
        cg = s.cgroup.get("cpu_ns", -1) if s.cgroup is not None and self.whole_containers else -1
        if baseline:  # what happened before the start is not ours
            c.cgroup_cpu_ns = cg if cid != HOST else -1
            return
        c.syscalls += s.syscalls
        c.syscall_errors += s.syscall_errors
        c.file_read += s.file_read
        c.file_written += s.file_written
        c.net_received += s.net_received
        c.net_sent += s.net_sent
        if cid == HOST:
            cg = -1
        if cg >= 0:
            if c.cgroup_cpu_ns >= 0:
                c.cpu_ns += cg - c.cgroup_cpu_ns if cg >= c.cgroup_cpu_ns else cg
            elif c.born_after_start and c.cpu_ns == 0:
                c.cpu_ns += cg  # its cgroup was made after the agent started
            else:
                c.cpu_ns += s.proc_cpu_ns  # the first reading of a container we counted without one
            c.cgroup_cpu_ns = cg
        elif c.cgroup_cpu_ns < 0:
            c.cpu_ns += s.proc_cpu_ns
        # (a container with a cgroup reading that misses one: the next reading covers the gap)

    def _memory(self, cid: str, s: _TickSum) -> int:
        mem = s.cgroup.get("memory_bytes", -1) if s.cgroup is not None and self.whole_containers else -1
        return mem if mem >= 0 and cid != HOST else s.rss_bytes

    def _fold_syscalls(self, records: TickRecords, procs: list[dict]) -> None:
        """Per system call and errno (every process here has its container folded)."""
        pids = None if self.query is None else {r["proc.pid"] for r in procs}
        containers = self.containers
        for r in records.syscalls:
            if pids is not None and r["proc.pid"] not in pids:
                continue
            c = containers[r.get("container.id") or HOST]
            got = c.by_syscall.get(r["evt.type"])
            if got is None:
                got = c.by_syscall[r["evt.type"]] = [0, 0, 0]
            got[0] += r["calls"]
            got[1] += r["errors"]
            got[2] += r["total_ns"]
        for r in records.errnos:
            if pids is not None and r["proc.pid"] not in pids:
                continue
            c = containers[r.get("container.id") or HOST]
            key = (r["evt.type"], r["evt.errname"])
            c.by_errno[key] = c.by_errno.get(key, 0) + r["count"]

    def _expire(self, present: Mapping[str, object], scrapes: int) -> None:
        for cid in [cid for cid in self.containers if cid not in present]:
            c = self.containers[cid]
            if c.gone_at is None:
                c.gone_at = scrapes
            c.gone_ticks += 1
            if scrapes - c.gone_at >= STALE_SCRAPES or c.gone_ticks > STALE_TICKS:
                del self.containers[cid]

    def observe_tick(self, seconds: float) -> None:
        """The agent's own time for one tick (model and metrics)."""
        i = 0
        while i < len(F.TICK_BUCKETS) and seconds > F.TICK_BUCKETS[i]:
            i += 1
        self._tick_counts[i] += 1
        self._tick_sum += seconds
        self._tick_n += 1

    # ---- what a scrape serves ----------------------------------------------

    def snapshot(self) -> Snapshot:
        cs = sorted(self.containers.values(), key=lambda c: c.labels)
        fams: list[tuple[F.Family, tuple[Sample, ...]]] = [
            (F.SYSCALLS, tuple(Sample(c.labels, c.syscalls) for c in cs)),
            (F.SYSCALL_ERRORS, tuple(Sample(c.labels, c.syscall_errors) for c in cs)),
            (
                F.FILE_BYTES,
                tuple(
                    s
                    for c in cs
                    for s in (
                        Sample(c.labels + ("read",), c.file_read),
                        Sample(c.labels + ("write",), c.file_written),
                    )
                ),
            ),
            (
                F.NET_BYTES,
                tuple(
                    s
                    for c in cs
                    for s in (
                        Sample(c.labels + ("receive",), c.net_received),
                        Sample(c.labels + ("transmit",), c.net_sent),
                    )
                ),
            ),
            (F.CPU_SECONDS, tuple(Sample(c.labels, c.cpu_ns / 1e9) for c in cs)),
            (F.MEMORY_BYTES, tuple(Sample(c.labels, c.memory_bytes) for c in cs)),
            (F.PROCESSES, tuple(Sample(c.labels, c.processes) for c in cs)),
        ]
        if self.per_syscall:
            fams += [
                (
                    F.SYSCALL_CALLS,
                    tuple(Sample(c.labels + (n,), v[0]) for c in cs for n, v in sorted(c.by_syscall.items())),
                ),
                (
                    F.SYSCALL_FAILED,
                    tuple(Sample(c.labels + (n,), v[1]) for c in cs for n, v in sorted(c.by_syscall.items())),
                ),
                (
                    F.SYSCALL_SECONDS,
                    tuple(
                        Sample(c.labels + (n,), v[2] / 1e9)
                        for c in cs
                        for n, v in sorted(c.by_syscall.items())
                    ),
                ),
                (
                    F.SYSCALL_ERRNOS,
                    tuple(Sample(c.labels + k, v) for c in cs for k, v in sorted(c.by_errno.items())),
                ),
            ]
        fams += [(F.EVENTS, (Sample((), self.events),)), (F.EVENTS_LOST, (Sample((), self.lost),))]
        cumulative, buckets = 0, []
        for bound, n in zip((*F.TICK_BUCKETS, float("inf")), self._tick_counts):
            cumulative += n
            buckets.append((bound, cumulative))
        return Snapshot(
            self.ticks, tuple(fams), Histogram(tuple(buckets), self._tick_n, self._tick_sum), self.build
        )
