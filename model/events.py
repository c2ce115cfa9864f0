"""The events and per-tick aggregates that feed the system state model.

Every event source (live bcc probes, a capture file, synthetic test data)
produces exactly these objects; the model never sees anything else. They
are plain and JSON-friendly, so that a capture file can store them field by
field (capture/format.py encodes them, capture/reader.py decodes them
against these types). They are treated as immutable but not frozen: a
frozen dataclass takes ~6 times longer to create, and the live source
creates one per kernel event.

Strings a watched process controls (comm, argv, paths) are kept as ``str``
decoded with ``surrogateescape`` so that no byte is lost; views decide how
to show them.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The container id (and name) of everything outside containers.
HOST = "host"


@dataclass(slots=True)
class ProcSnapshot:
    """A process as found in /proc at start-up or on reconciliation."""

    pid: int
    ppid: int
    comm: str
    exe: str
    argv: tuple[str, ...]
    uid: int
    start_ns: int
    container_id: str  # full container id from the cgroup path, "" on the host
    runtime: str  # docker, containerd, cri-o, podman, lxc, nspawn, ... or "" on the host
    threads: tuple[tuple[int, str], ...] = ()  # (tid, comm) of each thread
    fds: tuple["FdSnapshot", ...] = ()


@dataclass(slots=True)
class FdSnapshot:
    """An fd found in /proc/PID/fd, already joined to /proc/net for sockets."""

    fd: int
    kind: str  # file, directory, ipv4, ipv6, unix, pipe, event, signal, inotify, timer, memfd, other
    name: str
    proto: str = ""  # tcp / udp / raw for ip sockets
    laddr: str = ""
    lport: int = 0
    raddr: str = ""
    rport: int = 0
    listening: bool = False


@dataclass(slots=True)
class Fork:
    ts: int
    ppid: int  # tgid of the creating process
    pid: int  # tgid of the new task (== ppid for a new thread)
    tid: int
    is_thread: bool
    comm: str
    cgroup_id: int


@dataclass(slots=True)
class Exec:
    ts: int
    pid: int
    old_tid: int
    uid: int
    comm: str
    filename: str
    argv: tuple[str, ...]
    argv_truncated: bool
    cgroup_id: int
    container_id: str = ""  # resolved by the source from the cgroup; "" on the host
    runtime: str = ""


@dataclass(slots=True)
class Exit:
    ts: int
    pid: int
    tid: int
    code: int  # exit status as given to exit/exit_group, -1 when unknown


@dataclass(slots=True)
class Open:
    ts: int
    pid: int
    tid: int
    syscall: str  # open / openat / openat2 / creat
    path: str  # as the kernel saw it, made absolute by the source when it could
    flags: int
    result: int  # fd, or -errno


@dataclass(slots=True)
class OpenRepeat:
    """``count`` more opens exactly like an earlier Open of the same tick
    (same process, path, flags and result), folded in the kernel."""

    ts: int
    pid: int
    path: str
    flags: int
    result: int  # the fd, or -errno
    count: int
    syscall: str = ""
    # I/O done on the folded opens (their fd was closed without an event)
    bytes_read: int = 0
    bytes_written: int = 0
    reads: int = 0
    writes: int = 0


@dataclass(slots=True)
class Close:
    """An fd closed; carries the fd's I/O of this tick not yet drained."""

    ts: int
    pid: int
    tid: int
    fd: int
    result: int
    bytes_read: int = 0
    bytes_written: int = 0
    reads: int = 0
    writes: int = 0


@dataclass(slots=True)
class Dup:
    ts: int
    pid: int
    oldfd: int
    newfd: int  # result; negative is -errno


@dataclass(slots=True)
class Pipe:
    ts: int
    pid: int
    fd_read: int
    fd_write: int


@dataclass(slots=True)
class Socket:
    ts: int
    pid: int
    fd: int
    family: int  # AF_* number
    type: int  # SOCK_* (low bits)
    protocol: int
    cloexec: bool = False  # SOCK_CLOEXEC: closed by exec


@dataclass(slots=True)
class SockAddr:
    """connect / accept / bind / listen results, with what is known of the tuple."""

    ts: int
    pid: int
    tid: int
    op: str  # connect, accept, bind, listen; local: a TCP connect's local end, once established
    fd: int  # the fd the call was made on (listener for accept)
    result: int  # new fd for accept, 0 or -errno otherwise
    family: int
    laddr: str = ""
    lport: int = 0
    raddr: str = ""
    rport: int = 0
    path: str = ""  # unix socket path


@dataclass(slots=True)
class SyscallStat:
    """Per (process, thread, syscall) counts for one tick, from the kernel map."""

    pid: int
    tid: int
    syscall: str
    calls: int
    errors: int
    total_ns: int


@dataclass(slots=True)
class ErrnoStat:
    pid: int
    syscall: str
    errno: int
    count: int


@dataclass(slots=True)
class FdIO:
    """Per (process, fd) I/O of one tick, from the kernel map."""

    pid: int
    fd: int
    bytes_read: int
    bytes_written: int
    reads: int
    writes: int


@dataclass(slots=True)
class ProcSample:
    """Per-tick /proc sample: cumulative CPU time and current memory."""

    pid: int
    tid: int  # == pid for the process-wide line
    cpu_ns: int
    rss_bytes: int
    threads: int


@dataclass(slots=True)
class ContainerInfo:
    """What the container resolver learnt about a container (recorded for replay)."""

    id: str  # full id as found in the cgroup path, or "host"
    runtime: str
    name: str = ""
    image: str = ""
    labels: tuple[tuple[str, str], ...] = ()
    state: str = ""
    cpu_ns: int = -1  # cumulative, from the container's cgroup; -1 unknown
    memory_bytes: int = -1
    # Kubernetes namespace of its pod, or the containerd namespace of a container made outside
    # Kubernetes (ctr); the pod's name, uid and labels; whether it is the pod's own (pause) container
    namespace: str = ""
    pod: str = ""
    pod_uid: str = ""
    pod_labels: tuple[tuple[str, str], ...] = ()
    sandbox: bool = False


@dataclass(slots=True)
class Tick:
    """The end of one sampling interval, with the aggregates drained at its end."""

    ts: int  # monotonic ns
    wall: float  # time.time()
    interval_s: float
    syscalls: tuple[SyscallStat, ...] = ()
    errnos: tuple[ErrnoStat, ...] = ()
    fdio: tuple[FdIO, ...] = ()
    samples: tuple[ProcSample, ...] = ()
    containers: tuple[ContainerInfo, ...] = ()
    lost: int = 0  # events lost in this tick (perf buffer + kernel map overflows)
    events: int = 0  # events received in this tick
    closes: tuple[tuple[int, int], ...] = ()  # (pid, fd) closed, folded in the kernel;
    # applied after fdio so the fd's last bytes still find its path
    present: tuple[int, ...] = ()  # every pid in /proc when samples were read, if
    # samples holds only some of them (probes/procfs/sampler.py); () = samples has every process


Event = (
    ProcSnapshot | Fork | Exec | Exit | Open | OpenRepeat | Close | Dup | Pipe | Socket | SockAddr | Tick
)

EVENT_TYPES: dict[str, type] = {
    cls.__name__: cls
    for cls in (
        ProcSnapshot, FdSnapshot, Fork, Exec, Exit, Open, OpenRepeat, Close, Dup, Pipe, Socket,
        SockAddr, SyscallStat, ErrnoStat, FdIO, ProcSample, ContainerInfo, Tick,
    )
}
