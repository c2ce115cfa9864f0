"""The in-memory system state: processes, threads, fd tables, containers.

``SystemState.apply(event)`` folds one event in; ``end_tick(tick)`` folds in
the tick's aggregates and returns the fine-grained records of that tick
(see model/records.py), then starts the next tick and prunes what exited.
Plain Python: no bcc, no Textual; driven by any EventSource.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from . import events as ev
from .events import HOST
from .fdtable import FdCounters, FdInfo, fd_fields, kind_for_family, proto_for
from .records import build_records, errname

LABEL_FIELDS = (
    ("io.kubernetes.pod.name", "k8s.pod.name"),
    ("io.kubernetes.pod.namespace", "k8s.ns.name"),
    ("com.docker.compose.project", "container.compose_project"),
    ("io.kubernetes.pod.uid", "k8s.pod.uid"),
)
POD_LABEL_PREFIX = "k8s.pod.label."
LOG_LIMIT = 5000  # exec/open log entries kept per tick (the rest is counted)
O_DIRECTORY = 0o200000
O_CLOEXEC = 0o2000000


@dataclass(slots=True)
class SyscallCounters:
    calls: int = 0
    errors: int = 0
    total_ns: int = 0


@dataclass(slots=True)
class Thread:
    tid: int
    comm: str
    exited: bool = False
    cpu_ns: int = -1
    cpu_pct: float = 0.0
    syscalls: int = 0  # this tick


@dataclass(slots=True)
class Process:
    pid: int
    ppid: int = 0
    comm: str = ""
    exe: str = ""
    argv: tuple[str, ...] = ()
    uid: int = -1
    container_id: str = ""
    runtime: str = ""
    start_ns: int = 0
    exited: bool = False
    exit_code: int = -1
    cpu_ns: int = -1
    cpu_pct: float = 0.0
    rss_bytes: int = 0
    nthreads: int = 1
    missed_samples: int = 0  # consecutive /proc samples it was absent from
    sample_ts: int = -1  # Tick.ts of its last /proc sample
    threads: dict[int, Thread] = field(default_factory=dict)
    fds: dict[int, FdInfo] = field(default_factory=dict)
    # per-tick counters, reset by end_tick
    fd_stats: dict[tuple, tuple[FdInfo, FdCounters]] = field(default_factory=dict)
    syscalls: dict[str, SyscallCounters] = field(default_factory=dict)
    errnos: dict[tuple[str, int], int] = field(default_factory=dict)

    @property
    def cmdline(self) -> str:
        return " ".join(self.argv) if self.argv else self.comm

    def counters_for(self, info: FdInfo, fd: int) -> FdCounters:
        key = info.identity()
        entry = self.fd_stats.get(key)
        if entry is None:
            entry = (info, FdCounters(fd=fd))
            self.fd_stats[key] = entry
        else:
            entry[1].fd = fd
        return entry[1]


@dataclass(slots=True)
class Container:
    id: str  # full id, or "host"
    runtime: str = ""
    name: str = ""
    image: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    state: str = ""
    cpu_ns: int = -1
    cpu_pct: float = -1.0
    memory_bytes: int = -1
    present: bool = True  # reported by the source in the last tick
    namespace: str = ""  # Kubernetes namespace of its pod (or containerd's, outside Kubernetes)
    pod: str = ""
    pod_uid: str = ""
    pod_labels: dict[str, str] = field(default_factory=dict)
    sandbox: bool = False  # the pod's own (pause) container

    @property
    def short_id(self) -> str:
        return self.id if self.id == HOST else self.id[:12]

    @property
    def display_name(self) -> str:
        return self.name or self.short_id

    def fields(self) -> dict:
        """The ``container.*`` and ``k8s.*`` fields of every record about it
        (its processes' and its own): the one place they are built. Pod fields
        come from the runtime's pod metadata, else from the usual Kubernetes
        labels: ``k8s.pod.name``, ``k8s.ns.name``, ``k8s.pod.uid``,
        ``k8s.pod.label.KEY``; ``container.namespace``."""
        out = {"container.id": self.short_id, "container.name": self.display_name,
               "container.image": self.image, "container.runtime": self.runtime}
        for label, fld in LABEL_FIELDS:
            value = self.labels.get(label)
            if value is not None:
                out[fld] = value
        if self.pod:
            out["k8s.pod.name"] = self.pod
            out["k8s.ns.name"] = self.namespace
            if self.pod_uid:
                out["k8s.pod.uid"] = self.pod_uid
            for key, value in self.pod_labels.items():
                out[POD_LABEL_PREFIX + key] = value
        namespace = self.namespace or out.get("k8s.ns.name")
        if namespace:
            out["container.namespace"] = namespace
        return out


@dataclass(slots=True)
class TickStats:
    events: int = 0
    lost: int = 0
    interval_s: float = 0.0
    wall: float = 0.0
    log_dropped: int = 0


class SystemState:
    """Everything known about the watched host, updated event by event."""

    def __init__(self, user_name: Callable[[int], str] = str) -> None:
        """``user_name(uid)`` names users (the host's passwd live, the
        recording host's on a replay); by default the uid as text."""
        self.processes: dict[int, Process] = {}
        self.containers: dict[str, Container] = {HOST: Container(HOST, runtime="", name=HOST)}
        self.user_name = user_name
        self.exec_log: list[dict] = []
        self.open_log: list[dict] = []
        self.stats = TickStats()
        self.totals = TickStats()
        self._last_sample_ts: int | None = None
        self._contexts: dict[int, dict] = {}  # pid -> context(), see there
        self._renamed: set[int] = set()  # pids renamed or gone this tick (their children's proc.pname)
        self._containers_seen: tuple = ()  # what contexts took from the containers
        self._wall_offset: float | None = None  # wall - monotonic at the last tick, in seconds

    # ---- lookups -------------------------------------------------------

    def process(self, pid: int) -> Process:
        """The process with this pid, created empty if we never saw it start."""
        p = self.processes.get(pid)
        if p is None:
            p = Process(pid=pid)
            p.threads[pid] = Thread(pid, "")
            self.processes[pid] = p
        return p

    def container_of(self, p: Process) -> Container:
        cid = p.container_id or HOST
        c = self.containers.get(cid)
        if c is None:
            c = Container(cid, runtime=p.runtime)
            self.containers[cid] = c
        return c

    # ---- events --------------------------------------------------------

    def apply(self, e) -> None:
        handler = self._handlers.get(type(e))
        if handler is not None:
            handler(self, e)

    def _snapshot(self, e: ev.ProcSnapshot) -> None:
        self._contexts.pop(e.pid, None)
        self._renamed.add(e.pid)
        old = self.processes.get(e.pid)
        p = Process(
            pid=e.pid, ppid=e.ppid, comm=e.comm, exe=e.exe, argv=e.argv, uid=e.uid,
            container_id=e.container_id, runtime=e.runtime, start_ns=e.start_ns,
        )
        if old is not None and not old.exited:
            # reconciliation of a process we know: keep this tick's counters
            p.fd_stats, p.syscalls, p.errnos = old.fd_stats, old.syscalls, old.errnos
            p.cpu_ns, p.cpu_pct, p.rss_bytes, p.sample_ts = old.cpu_ns, old.cpu_pct, old.rss_bytes, old.sample_ts
        for tid, comm in e.threads or ((e.pid, e.comm),):
            p.threads[tid] = Thread(tid, comm)
        p.nthreads = len(p.threads)
        for s in e.fds:
            p.fds[s.fd] = FdInfo(s.kind, s.name, s.proto, s.laddr, s.lport, s.raddr, s.rport, s.listening)
        self.processes[e.pid] = p
        if e.container_id:
            c = self.container_of(p)
            c.runtime = c.runtime or e.runtime

    def _fork(self, e: ev.Fork) -> None:
        self._contexts.pop(e.pid, None)
        parent = self.process(e.ppid)
        if e.is_thread:
            parent.threads[e.tid] = Thread(e.tid, e.comm)
            parent.nthreads = len([t for t in parent.threads.values() if not t.exited])
            return
        # the child inherits a copy of the parent's fd table
        inherited = {fd: FdInfo(i.kind, i.name, i.proto, i.laddr, i.lport, i.raddr, i.rport,
                                i.listening, i.server, i.cloexec)
                     for fd, i in parent.fds.items()}
        early = self.processes.get(e.pid)
        if early is not None and not early.exited and early.start_ns >= 0 and early.ppid in (0, e.ppid):
            # events of the child reached us before its fork (another CPU's
            # buffer): keep what they taught us, fill in the rest
            early.ppid = e.ppid
            early.fds = {**inherited, **{
                fd: inherited.get(i.stands_for, i) if i.stands_for >= 0 else i
                for fd, i in early.fds.items()
            }}
            if not early.comm:
                early.comm, early.exe, early.argv, early.uid = e.comm or parent.comm, parent.exe, parent.argv, parent.uid
            if not early.container_id:
                early.container_id, early.runtime = parent.container_id, parent.runtime
            return
        child = Process(
            pid=e.pid, ppid=e.ppid, comm=e.comm or parent.comm, exe=parent.exe, argv=parent.argv,
            uid=parent.uid, container_id=parent.container_id, runtime=parent.runtime, start_ns=e.ts,
        )
        child.threads[e.pid] = Thread(e.pid, child.comm)
        child.fds = inherited
        self.processes[e.pid] = child

    def _exec(self, e: ev.Exec) -> None:
        self._contexts.pop(e.pid, None)
        self._renamed.add(e.pid)
        p = self.process(e.pid)
        if e.old_tid != e.pid:
            p.threads.pop(e.old_tid, None)
        # exec closes the close-on-exec fds and kills every other thread
        for fd in [fd for fd, info in p.fds.items() if info.cloexec]:
            del p.fds[fd]
        p.threads = {e.pid: Thread(e.pid, e.comm)}
        p.nthreads = 1
        p.comm, p.exe, p.argv, p.uid = e.comm, e.filename, e.argv or (e.comm,), e.uid
        if e.container_id or e.runtime or not p.container_id:
            p.container_id, p.runtime = e.container_id, e.runtime
        p.exited = False
        if len(self.exec_log) < LOG_LIMIT:
            ctx = self.context(p)
            self.exec_log.append({
                **ctx, "ts": e.ts, "filename": e.filename, "argv_truncated": e.argv_truncated,
                **self._wall_of(e.ts),
            })
        else:
            self.stats.log_dropped += 1

    def _exit(self, e: ev.Exit) -> None:
        p = self.processes.get(e.pid)
        if p is None:
            return
        t = p.threads.get(e.tid)
        if t is not None:
            t.exited = True
        if e.tid == e.pid:
            p.exited = True
            p.exit_code = e.code
        p.nthreads = max(1, len([t for t in p.threads.values() if not t.exited]))

    def _open(self, e: ev.Open) -> None:
        p = self.process(e.pid)
        kind = "directory" if e.flags & O_DIRECTORY else "file"
        info = FdInfo(kind, e.path, cloexec=bool(e.flags & O_CLOEXEC))
        if e.result >= 0:
            p.fds[e.result] = info
        c = p.counters_for(info, e.result)
        c.opens += 1
        if e.result < 0:
            c.open_errors += 1
        self._log_open(p, info, e.ts, e.syscall, e.flags, e.result, 1)

    def _wall_of(self, ts: int) -> dict:
        """A log entry's wall time from its kernel time (CLOCK_MONOTONIC, like
        Tick.ts), by the two clocks' offset at the last tick; none before the
        first tick (the records fill it in then)."""
        if self._wall_offset is None:
            return {}
        return {"wall": round(self._wall_offset + ts / 1e9, 6)}

    def _log_open(self, p: Process, info: FdInfo, ts: int, syscall: str, flags: int,
                  result: int, count: int) -> None:
        if len(self.open_log) < LOG_LIMIT:
            self.open_log.append({
                **self.context(p), **fd_fields(info, result), "ts": ts,
                "syscall": syscall, "flags": flags, "result": result, "count": count,
                "result_text": str(result) if result >= 0 else errname(-result),
                "evt.failed": result < 0, **self._wall_of(ts),
            })
        else:
            self.stats.log_dropped += 1

    def _open_repeat(self, e: ev.OpenRepeat) -> None:
        p = self.process(e.pid)
        kind = "directory" if e.flags & O_DIRECTORY else "file"
        info = p.fds.get(e.result) if e.result >= 0 else None
        if info is None or info.name != e.path:
            info = FdInfo(kind, e.path, cloexec=bool(e.flags & O_CLOEXEC))
            if e.result >= 0:
                p.fds[e.result] = info
        c = p.counters_for(info, e.result)
        c.opens += e.count
        if e.result < 0:
            c.open_errors += e.count
        c.add_io(e.bytes_read, e.bytes_written, e.reads, e.writes)
        if e.count:
            self._log_open(p, info, e.ts, e.syscall, e.flags, e.result, e.count)

    def _close(self, e: ev.Close) -> None:
        p = self.processes.get(e.pid)
        if p is None:
            return
        info = p.fds.pop(e.fd, None)
        if info is None:
            info = FdInfo("other", f"fd {e.fd}")
        if e.bytes_read or e.bytes_written or e.reads or e.writes:
            p.counters_for(info, e.fd).add_io(e.bytes_read, e.bytes_written, e.reads, e.writes)

    def _dup(self, e: ev.Dup) -> None:
        p = self.process(e.pid)
        if e.newfd < 0:
            return
        info = p.fds.get(e.oldfd)
        if info is None:
            info = FdInfo("other", f"fd {e.oldfd}", stands_for=e.oldfd)
            p.fds[e.oldfd] = info
        p.fds[e.newfd] = info

    def _pipe(self, e: ev.Pipe) -> None:
        p = self.process(e.pid)
        p.fds[e.fd_read] = FdInfo("pipe", f"pipe:{e.pid}:{e.fd_read}")
        p.fds[e.fd_write] = FdInfo("pipe", f"pipe:{e.pid}:{e.fd_read}")

    def _socket(self, e: ev.Socket) -> None:
        p = self.process(e.pid)
        kind = kind_for_family(e.family)
        proto = proto_for(e.type, e.protocol) if kind in ("ipv4", "ipv6") else ""
        p.fds[e.fd] = FdInfo(kind, "unix" if kind == "unix" else "", proto, cloexec=e.cloexec)

    def _sockaddr(self, e: ev.SockAddr) -> None:
        p = self.process(e.pid)
        kind = kind_for_family(e.family) if e.family else None
        if e.op == "accept":
            listener = p.fds.get(e.fd)
            info = FdInfo(
                kind or (listener.kind if listener else "other"),
                e.path or (listener.name if listener else ""),
                listener.proto if listener else "tcp",
                e.laddr or (listener.laddr if listener else ""),
                e.lport or (listener.lport if listener else 0),
                e.raddr, e.rport, server=True,
            )
            if info.kind == "unix" and not info.name:
                info.name = "unix"
            p.fds[e.result] = info
            return
        if e.op == "local":  # a TCP connect() established: its local end
            info = p.fds.get(e.fd)
            if info is not None and info.kind in ("ipv4", "ipv6"):
                info.laddr, info.lport = e.laddr, e.lport
                info.raddr, info.rport = info.raddr or e.raddr, info.rport or e.rport
            return
        if e.result < 0 and e.result != -115:  # EINPROGRESS still connects
            return
        info = p.fds.get(e.fd)
        if info is None:
            info = FdInfo(kind or "other", "", "tcp" if kind in ("ipv4", "ipv6") else "")
            p.fds[e.fd] = info
        if kind and info.kind != kind and kind in ("ipv4", "ipv6", "unix"):
            info.kind = kind
        if e.op == "connect":
            info.raddr, info.rport = e.raddr, e.rport
            if e.laddr or e.lport:
                info.laddr, info.lport = e.laddr, e.lport
            if e.path:
                info.name = e.path
        elif e.op == "bind":
            info.laddr, info.lport = e.laddr, e.lport
            if e.path:
                info.name = e.path
        elif e.op == "listen":
            info.listening = True
            if e.lport:  # the port bind(0) or an implicit bind picked
                info.laddr, info.lport = e.laddr, e.lport

    _handlers = {
        ev.ProcSnapshot: _snapshot, ev.Fork: _fork, ev.Exec: _exec, ev.Exit: _exit,
        ev.Open: _open, ev.OpenRepeat: _open_repeat, ev.Close: _close, ev.Dup: _dup, ev.Pipe: _pipe,
        ev.Socket: _socket, ev.SockAddr: _sockaddr,
    }

    # ---- aggregates ----------------------------------------------------

    def _apply_aggregates(self, t: ev.Tick) -> None:
        for s in t.syscalls:
            p = self.process(s.pid)
            c = p.syscalls.get(s.syscall)
            if c is None:
                c = p.syscalls[s.syscall] = SyscallCounters()
            c.calls += s.calls
            c.errors += s.errors
            c.total_ns += s.total_ns
            th = p.threads.get(s.tid)
            if th is None:
                th = p.threads[s.tid] = Thread(s.tid, p.comm)
            th.syscalls += s.calls
        for s in t.errnos:
            p = self.process(s.pid)
            key = (s.syscall, s.errno)
            p.errnos[key] = p.errnos.get(key, 0) + s.count
        for s in t.fdio:
            p = self.process(s.pid)
            info = p.fds.get(s.fd)
            if info is None:
                info = FdInfo("other", f"fd {s.fd}")
            p.counters_for(info, s.fd).add_io(s.bytes_read, s.bytes_written, s.reads, s.writes)
        for pid, fd in t.closes:
            p = self.processes.get(pid)
            if p is not None:
                p.fds.pop(fd, None)
        # CPU % over the time that really passed since the process's last
        # sample: a late tick (or the first one after start-up) is longer than
        # the interval, and a sleeping process is not read every tick
        interval_ns = max(1, int(t.interval_s * 1e9))
        if self._last_sample_ts is not None and t.samples and t.ts > self._last_sample_ts:
            interval_ns = t.ts - self._last_sample_ts
        if t.samples:
            self._last_sample_ts = t.ts
        if t.samples or t.present:
            # a process absent from two /proc listings in a row has gone, even
            # if its exit event was lost
            sampled = {s.pid for s in t.samples if s.tid == s.pid}
            present = set(t.present) if t.present else sampled
            partial = bool(t.present)
            for p in self.processes.values():
                if p.pid in present:
                    p.missed_samples = 0
                    if partial and p.pid not in sampled:
                        # not read: it used no CPU since its last read
                        p.cpu_pct = 0.0
                        for th in p.threads.values():
                            th.cpu_pct = 0.0
                elif not p.exited:
                    p.missed_samples += 1
                    if p.missed_samples >= 2:
                        p.exited = True
        since = interval_ns
        for s in t.samples:
            p = self.processes.get(s.pid)
            if p is None:
                continue
            if s.tid == s.pid:
                since = t.ts - p.sample_ts if 0 <= p.sample_ts < t.ts else interval_ns
                if p.cpu_ns >= 0:
                    p.cpu_pct = max(0.0, (s.cpu_ns - p.cpu_ns) * 100.0 / since)
                p.cpu_ns, p.rss_bytes, p.nthreads = s.cpu_ns, s.rss_bytes, s.threads
                p.sample_ts = t.ts
                main = p.threads.get(s.pid)
                if main is not None and len(p.threads) == 1:
                    main.cpu_pct, main.cpu_ns = p.cpu_pct, s.cpu_ns
            else:  # the process's other threads follow its own line
                th = p.threads.get(s.tid)
                if th is None:
                    th = p.threads[s.tid] = Thread(s.tid, p.comm)
                if th.cpu_ns >= 0:
                    th.cpu_pct = max(0.0, (s.cpu_ns - th.cpu_ns) * 100.0 / since)
                th.cpu_ns = s.cpu_ns
        # each tick lists every container present; the others have stopped
        for c in self.containers.values():
            if c.id != HOST:
                c.present = False
        for info in t.containers:
            c = self.containers.get(info.id)
            if c is None:
                c = self.containers[info.id] = Container(info.id)
            c.runtime = info.runtime or c.runtime
            c.name, c.image, c.state = info.name or c.name, info.image or c.image, info.state
            c.labels = dict(info.labels) or c.labels
            c.namespace, c.pod, c.pod_uid = info.namespace, info.pod, info.pod_uid
            c.pod_labels, c.sandbox = dict(info.pod_labels), info.sandbox
            if info.cpu_ns >= 0 and c.cpu_ns >= 0:
                c.cpu_pct = max(0.0, (info.cpu_ns - c.cpu_ns) * 100.0 / interval_ns)
            c.cpu_ns, c.memory_bytes = info.cpu_ns, info.memory_bytes
            c.present = True
        self._expire_contexts()

    def _expire_contexts(self) -> None:
        """Drop the cached contexts this tick made stale: every one when a
        container's name, image, runtime or labels changed; a process's when
        its parent was renamed (exec) or went away."""
        seen = tuple((c.id, c.runtime, c.name, c.image, tuple(c.labels.items()), c.namespace, c.pod,
                      c.pod_uid, tuple(c.pod_labels.items())) for c in self.containers.values())
        if seen != self._containers_seen:
            self._containers_seen = seen
            self._contexts.clear()
        elif self._renamed:
            renamed, contexts = self._renamed, self._contexts
            for p in self.processes.values():
                if p.ppid in renamed:
                    contexts.pop(p.pid, None)
        self._renamed = set()

    def end_tick(self, t: ev.Tick):
        """Fold in the tick's aggregates, return its records, start the next tick."""
        self._apply_aggregates(t)
        self.stats.events += t.events
        self.stats.lost += t.lost
        self.stats.interval_s = t.interval_s
        self.stats.wall = t.wall
        records = build_records(t, self.processes.values(), self.containers.values(),
                                self.exec_log, self.open_log, self.context, self.stats)
        self.totals.events += self.stats.events
        self.totals.lost += self.stats.lost
        self._wall_offset = t.wall - t.ts / 1e9
        self._reset_tick()
        return records

    def _reset_tick(self) -> None:
        for pid in [pid for pid, p in self.processes.items() if p.exited]:
            del self.processes[pid]
            self._contexts.pop(pid, None)
            self._renamed.add(pid)
        for p in self.processes.values():
            # replaced, not cleared: this tick's records hold the old ones
            if p.fd_stats:
                p.fd_stats = {}
            if p.syscalls:
                p.syscalls = {}
            if p.errnos:
                p.errnos = {}
            for tid in [tid for tid, t in p.threads.items() if t.exited]:
                del p.threads[tid]
            for t in p.threads.values():
                t.syscalls = 0
        in_use = {p.container_id for p in self.processes.values() if p.container_id}
        for cid in [cid for cid, c in self.containers.items()
                    if cid != HOST and not c.present and cid not in in_use]:
            del self.containers[cid]
        self.exec_log = []
        self.open_log = []
        self.stats = TickStats()

    # ---- record context ------------------------------------------------

    def context(self, p: Process) -> dict:
        """The process and container fields every record of this process carries.

        Cached per process (callers copy it) so that a burst of opens does not
        rebuild it per event; dropped when the process execs or is re-read and,
        for every process, when the tick's container metadata arrives."""
        ctx = self._contexts.get(p.pid)
        if ctx is None:
            ctx = self._contexts[p.pid] = self._build_context(p)
        return ctx

    def _build_context(self, p: Process) -> dict:
        c = self.container_of(p)
        ctx = {
            "proc.pid": p.pid,
            "proc.ppid": p.ppid,
            "proc.name": p.comm,
            "proc.exe": p.exe,
            "proc.cmdline": p.cmdline,
            "proc.args": " ".join(p.argv[1:]),
            "proc.pname": parent.comm if (parent := self.processes.get(p.ppid)) else "",
            "user.uid": p.uid,
            "user.name": self.user_name(p.uid) if p.uid >= 0 else "",
        }
        ctx.update(c.fields())
        return ctx
