"""Processes as /proc shows them, turned into the model's snapshots.

* :func:`bootstrap` snapshots every process, its threads and its fds, with
  sockets joined by inode to the ``/proc/net`` tables of the process's own
  network namespace (so sockets inside containers get their addresses too),
  the way sysdig bootstraps its state at start-up;
* :func:`read_process` snapshots one (a process never seen start);
* :func:`read_fds` classifies the fds of a process from their links.

Everything here is plain standard-library Python. Every function takes a
``proc_root`` argument (``"/proc"`` by default) so tests can point it at a
fake tree. What vanishes while being read is skipped (see files.py).
Strings a process controls (comm, argv, paths) are decoded with
``os.fsdecode`` (``surrogateescape``), so no byte is lost.
"""

from __future__ import annotations

import os
import stat as stat_mod
from collections.abc import Callable

from ctop_ebpf.model.events import FdSnapshot, ProcSnapshot
from ctop_ebpf.model.fdtable import endpoint

from .files import (
    F_PPID,
    F_STARTTIME,
    GONE,
    list_pids,
    read_all,
    read_once,
    split_stat,
    ticks_to_ns,
)
from .sockets import SockInfo, read_net_sockets, socket_inode

__all__ = ["ResolveContainer", "read_fds", "read_process", "bootstrap"]

#: ``resolve_container(pid)`` returns ``(container_id, runtime)``, or ``None``
#: for a process on the host.
ResolveContainer = Callable[[int], "tuple[str, str] | None"]


_ANON_KINDS = {
    "anon_inode:[eventfd]": "event",
    "anon_inode:[signalfd]": "signal",
    "anon_inode:inotify": "inotify",
    "anon_inode:[timerfd]": "timer",
}


def _socket_fd(fd: int, link: str, info: SockInfo | None) -> FdSnapshot:
    """The FdSnapshot of a socket fd, joined to its /proc/net entry when known."""
    if info is None:
        return FdSnapshot(fd, "other", link)
    if info.family == "unix":
        return FdSnapshot(
            fd, "unix", info.path or link, laddr=info.path, listening=info.listening
        )
    local = endpoint(info.laddr, info.lport)
    if info.rport or (info.raddr not in ("0.0.0.0", "::")):
        name = f"{local}->{endpoint(info.raddr, info.rport)}"
    else:
        name = local
    return FdSnapshot(
        fd,
        info.family,
        name,
        proto=info.proto,
        laddr=info.laddr,
        lport=info.lport,
        raddr=info.raddr,
        rport=info.rport,
        listening=info.listening,
    )


def _classify(fd: int, link: str, fd_path: str) -> FdSnapshot:
    """The FdSnapshot of a non-socket fd from its link text."""
    if link.startswith("/memfd:"):
        return FdSnapshot(fd, "memfd", link)
    if link.startswith("/"):
        kind = "file"
        try:
            if stat_mod.S_ISDIR(os.stat(fd_path).st_mode):
                kind = "directory"
        except OSError:
            pass
        return FdSnapshot(fd, kind, link)
    if link.startswith("pipe:["):
        return FdSnapshot(fd, "pipe", link)
    kind = _ANON_KINDS.get(link)
    if kind is not None:
        return FdSnapshot(fd, kind, link)
    return FdSnapshot(fd, "other", link)


def read_fds(
    pid: int, net: dict[int, SockInfo] | None = None, proc_root: str = "/proc"
) -> tuple[FdSnapshot, ...]:
    """The open fds of a process, in fd order, classified from their links.

    Sockets are joined by inode to ``net`` (see :func:`read_net_sockets`);
    when ``net`` is ``None`` the process's own /proc/PID/net tables are read,
    once, on the first socket met. A socket found in no table is kind
    ``"other"`` named ``socket:[INODE]``. An empty tuple if the process is
    gone or its fds are not readable.
    """
    fd_dir = os.path.join(proc_root, str(pid), "fd")
    try:
        names = os.listdir(fd_dir)
    except OSError:
        return ()
    fds = sorted(int(name) for name in names if name.isdigit())
    result = []
    for fd in fds:
        fd_path = os.path.join(fd_dir, str(fd))
        try:
            link = os.readlink(fd_path)
        except OSError:
            continue  # closed meanwhile
        inode = socket_inode(link)
        if inode is not None:
            if net is None:
                net = read_net_sockets(proc_root, pid)
            result.append(_socket_fd(fd, link, net.get(inode)))
        else:
            result.append(_classify(fd, link, fd_path))
    return tuple(result)


# ---------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------


def _read_argv(pid_dir: str) -> tuple[str, ...]:
    try:
        data = read_all(os.path.join(pid_dir, "cmdline"))
    except OSError:
        return ()
    if not data:
        return ()  # kernel thread or zombie
    if data.endswith(b"\0"):
        data = data[:-1]
    return tuple(os.fsdecode(arg) for arg in data.split(b"\0"))


def _read_uid(pid_dir: str) -> int:
    """Real uid from the ``Uid:`` line of /proc/PID/status, -1 if unknown."""
    try:
        data = read_all(os.path.join(pid_dir, "status"))
    except OSError:
        return -1
    at = data.find(b"\nUid:")
    if at < 0:
        return -1
    fields = data[at + 5 : data.find(b"\n", at + 1)].split()
    try:
        return int(fields[0])
    except (IndexError, ValueError):
        return -1


def _read_threads(pid_dir: str) -> tuple[tuple[int, str], ...]:
    task_dir = os.path.join(pid_dir, "task")
    try:
        names = os.listdir(task_dir)
    except OSError:
        return ()
    threads = []
    for tid in sorted(int(name) for name in names if name.isdigit()):
        try:
            comm = read_once(os.path.join(task_dir, str(tid), "comm"), 256)
        except OSError:
            continue  # thread exited
        threads.append((tid, os.fsdecode(comm.rstrip(b"\n"))))
    return tuple(threads)


def read_process(
    pid: int,
    proc_root: str = "/proc",
    net: dict[int, SockInfo] | None = None,
    with_fds: bool = True,
    resolve_container: ResolveContainer | None = None,
) -> ProcSnapshot | None:
    """Snapshot one process; ``None`` if it is gone or its stat is unreadable.

    ``net`` is handed to :func:`read_fds` (``None``: read this process's own
    namespace tables if it has sockets). ``resolve_container(pid)`` gives
    ``(container_id, runtime)``, ``None`` for the host. What vanishes after
    the stat was read is left empty rather than failing the snapshot.
    """
    pid_dir = os.path.join(proc_root, str(pid))
    try:
        parsed = split_stat(read_once(os.path.join(pid_dir, "stat")))
    except (OSError, ValueError):
        return None
    if parsed is None:
        return None
    comm, fields = parsed
    try:
        ppid = int(fields[F_PPID])
        start_ns = ticks_to_ns(int(fields[F_STARTTIME]))
    except (IndexError, ValueError):
        return None
    try:
        exe = os.readlink(os.path.join(pid_dir, "exe"))
    except OSError:
        exe = ""
    container_id = runtime = ""
    if resolve_container is not None:
        try:
            resolved = resolve_container(pid)
        except GONE:
            resolved = None
        if resolved:
            container_id, runtime = resolved
    return ProcSnapshot(
        pid=pid,
        ppid=ppid,
        comm=os.fsdecode(comm),
        exe=exe,
        argv=_read_argv(pid_dir),
        uid=_read_uid(pid_dir),
        start_ns=start_ns,
        container_id=container_id,
        runtime=runtime,
        threads=_read_threads(pid_dir),
        fds=read_fds(pid, net, proc_root) if with_fds else (),
    )


def _netns(proc_root: str, pid: int | str) -> str | None:
    try:
        return os.readlink(os.path.join(proc_root, str(pid), "ns", "net"))
    except OSError:
        return None


def bootstrap(
    proc_root: str = "/proc",
    resolve_container: ResolveContainer | None = None,
    with_fds: bool = True,
) -> list[ProcSnapshot]:
    """Snapshot every process in ``proc_root``, in pid order.

    With ``with_fds``, processes are grouped by network namespace
    (``/proc/PID/ns/net``) and the socket tables of each namespace are read
    once: ``proc_root/net`` for the reader's own namespace (and for processes
    whose namespace cannot be read), ``proc_root/PID/net`` of a member for
    any other, so sockets inside containers resolve too. A socket whose own
    namespace table could not be read is still looked up in the host tables
    (socket inodes are unique system-wide).
    """
    pids = list_pids(proc_root)
    nets: dict[int, dict[int, SockInfo]] = {}
    if with_fds:
        own_ns = _netns(proc_root, "self")
        host = read_net_sockets(proc_root)
        by_ns: dict[str, list[int]] = {}
        for pid in pids:
            ns = _netns(proc_root, pid)
            if ns is None or ns == own_ns:
                nets[pid] = host
            else:
                by_ns.setdefault(ns, []).append(pid)
        for members in by_ns.values():
            table: dict[int, SockInfo] = {}
            # The first member may exit while we read: try a few.
            for pid in members[:3]:
                table = read_net_sockets(proc_root, pid)
                if table:
                    break
            merged = {**host, **table} if table else host
            for pid in members:
                nets[pid] = merged
    snapshots = []
    for pid in pids:
        snap = read_process(
            pid,
            proc_root,
            net=nets.get(pid, {}),
            with_fds=with_fds,
            resolve_container=resolve_container,
        )
        if snap is not None:
            snapshots.append(snap)
    return snapshots
