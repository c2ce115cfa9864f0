"""Readers of /proc used by the live event source.

These functions turn what /proc shows about running processes into the
plain objects of :mod:`model.events` (``ProcSnapshot``, ``FdSnapshot``,
``ProcSample``), the way sysdig bootstraps its state at start-up:

* :func:`bootstrap` snapshots every process, its threads and its fds, with
  sockets joined by inode to the ``/proc/net`` tables of the process's own
  network namespace (so sockets inside containers get their addresses too);
* :func:`sample` reads cumulative CPU time and RSS once per tick;
* :func:`lookup_socket` resolves one socket fd to its addresses, for the
  local end of a ``connect`` or the tuple of an ``accept``.

Everything here is plain standard-library Python. Every function takes a
``proc_root`` argument (``"/proc"`` by default) so tests can point it at a
fake tree.

Processes come and go while we read: any file may vanish between two
reads (``FileNotFoundError``, ``ProcessLookupError``), be unreadable
(``PermissionError``) or hold something unexpected. The readers skip what
vanished and never raise on malformed content; they return what they could
read.

Strings a process controls (comm, argv, paths) are decoded with
``os.fsdecode`` (``surrogateescape``), so no byte is lost.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import platform
import pwd
import socket
import stat as stat_mod
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from model.events import FdSnapshot, ProcSample, ProcSnapshot

__all__ = [
    "SockInfo",
    "ResolveContainer",
    "read_net_sockets",
    "read_fds",
    "read_process",
    "bootstrap",
    "sample",
    "user_name",
    "lookup_socket",
    "list_pids",
]

# Clock ticks per second (utime, stime, starttime) and the page size (statm).
CLK_TCK: int = os.sysconf("SC_CLK_TCK") or 100
PAGE_SIZE: int = os.sysconf("SC_PAGE_SIZE") or 4096
_NS_PER_TICK_NUM = 1_000_000_000

#: ``resolve_container(pid)`` returns ``(container_id, runtime)``, or ``None``
#: for a process on the host.
ResolveContainer = Callable[[int], "tuple[str, str] | None"]

# Errors that mean "the process (or file) went away or is not ours to read".
_GONE = (FileNotFoundError, ProcessLookupError, PermissionError, NotADirectoryError)


@dataclass(frozen=True, slots=True)
class SockInfo:
    """One socket as listed in /proc/net/{tcp,tcp6,udp,udp6,raw,raw6,unix}.

    ``laddr``/``raddr`` are textual addresses (``127.0.0.1``, ``::1``,
    ``::ffff:127.0.0.1`` for IPv4-mapped IPv6). For unix sockets ``path`` is
    the bound path (``@name`` for the abstract namespace, ``""`` when
    unnamed) and the address and port fields are empty.
    """

    inode: int
    proto: str  # tcp, udp, raw, unix
    family: str  # ipv4, ipv6, unix
    laddr: str = ""
    lport: int = 0
    raddr: str = ""
    rport: int = 0
    state: str = ""  # LISTEN, ESTABLISHED, ... (tcp); CONNECTED, ... (unix)
    listening: bool = False
    path: str = ""


# ---------------------------------------------------------------------------
# Low-level reading
# ---------------------------------------------------------------------------


def _read(path: str, size: int = 4096) -> bytes:
    """Read at most ``size`` bytes of a file in one ``read`` (open/read/close)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        return os.read(fd, size)
    finally:
        os.close(fd)


def _read_all(path: str, stop_below: int = 0) -> bytes:
    """Read a whole file, however long (proc seq files hand out a page at a
    time); with ``stop_below``, a read shorter than that ends it (see
    _read_table)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        chunks = []
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
            if len(chunk) < stop_below:
                break
        return b"".join(chunks)
    finally:
        os.close(fd)


def _read_table(path: str) -> bytes:
    """Read a /proc/net table, avoiding a needless extra pass over the kernel's tables.

    Each ``read`` of a /proc/net seq file walks the socket hash tables
    (measured here: 2.6 ms per pass over /proc/net/tcp with 4 sockets, the
    cost being the empty hash buckets), including the final ``read`` that
    only reports end of file. seq_file stops a read early only at end of
    file or when the next record does not fit in its one-page buffer, so a
    read that came back well short of a page means end of file: stop there.
    """
    return _read_all(path, _TABLE_EOF_BELOW)


# A record of any /proc/net table is shorter than 512 bytes.
_TABLE_EOF_BELOW = min(PAGE_SIZE, 4096) - 512


def list_pids(proc_root: str = "/proc") -> list[int]:
    """The pids of all processes: the numeric directories of ``proc_root``."""
    try:
        names = os.listdir(proc_root)
    except OSError:
        return []
    return sorted(int(name) for name in names if name.isdigit())


def _split_stat(data: bytes) -> tuple[bytes, list[bytes]] | None:
    """Split a /proc/PID/stat line into ``(comm, fields after comm)``.

    comm may contain spaces and parentheses, so it runs from the first
    ``(`` to the *last* ``)``. The returned list starts at field 3 (state):
    ``fields[n - 3]`` is field ``n`` of proc(5).
    """
    left = data.find(b"(")
    right = data.rfind(b")")
    if left < 0 or right < left:
        return None
    return data[left + 1 : right], data[right + 2 :].split()


# Indices into the list returned by _split_stat (proc(5) field number - 3).
_F_PPID = 1
_F_UTIME = 11
_F_STIME = 12
_F_NUM_THREADS = 17
_F_STARTTIME = 19
_F_RSS = 21


def _ticks_to_ns(ticks: int) -> int:
    return ticks * _NS_PER_TICK_NUM // CLK_TCK


# ---------------------------------------------------------------------------
# /proc/net
# ---------------------------------------------------------------------------

_TCP_STATES = {
    1: "ESTABLISHED",
    2: "SYN_SENT",
    3: "SYN_RECV",
    4: "FIN_WAIT1",
    5: "FIN_WAIT2",
    6: "TIME_WAIT",
    7: "CLOSE",
    8: "CLOSE_WAIT",
    9: "LAST_ACK",
    10: "LISTEN",
    11: "CLOSING",
    12: "NEW_SYN_RECV",
}
_TCP_LISTEN = 10

_UNIX_STATES = {1: "UNCONNECTED", 2: "CONNECTING", 3: "CONNECTED", 4: "DISCONNECTING"}
_SO_ACCEPTCON = 0x10000  # unix socket flag: listening

# (file name in net/, proto, family)
_INET_TABLES = (
    ("tcp", "tcp", "ipv4"),
    ("tcp6", "tcp", "ipv6"),
    ("udp", "udp", "ipv4"),
    ("udp6", "udp", "ipv6"),
    ("raw", "raw", "ipv4"),
    ("raw6", "raw", "ipv6"),
)

# sockfs names a socket after its protocol (getxattr system.sockprotoname);
# this maps them to the /proc/net tables to search.
_PROTO_TABLES = {
    "TCP": ("tcp",),
    "TCPv6": ("tcp6",),
    "UDP": ("udp",),
    "UDPv6": ("udp6",),
    "RAW": ("raw",),
    "RAWv6": ("raw6",),
    "UNIX": ("unix",),
    "UNIX-STREAM": ("unix",),
}
_ALL_TABLES = ("tcp", "tcp6", "udp", "udp6", "unix", "raw", "raw6")


def _hex_addr(text: bytes) -> tuple[str, int]:
    """Decode ``HEXADDR:HEXPORT`` from /proc/net/{tcp,udp,raw}[6].

    The kernel prints each 32-bit word of the (network-order) address as a
    host-order integer, so packing the words back in native order restores
    the address bytes on any architecture. Raises ``ValueError`` if malformed.
    """
    addr_hex, sep, port_hex = text.partition(b":")
    if not sep:
        raise ValueError("no port")
    port = int(port_hex, 16)
    if len(addr_hex) == 8:
        return socket.inet_ntop(socket.AF_INET, struct.pack("=I", int(addr_hex, 16))), port
    if len(addr_hex) == 32:
        words = [int(addr_hex[i : i + 8], 16) for i in range(0, 32, 8)]
        return socket.inet_ntop(socket.AF_INET6, struct.pack("=4I", *words)), port
    raise ValueError("bad address length")


def _parse_inet_line(line: bytes, proto: str, family: str) -> SockInfo | None:
    """Parse one line of /proc/net/{tcp,udp,raw}[6]; ``None`` if malformed or inode 0."""
    fields = line.split()
    if len(fields) < 10:
        return None
    try:
        inode = int(fields[9])
        laddr, lport = _hex_addr(fields[1])
        raddr, rport = _hex_addr(fields[2])
        st = int(fields[3], 16)
    except (ValueError, OSError, struct.error):
        return None
    if inode <= 0:  # TIME_WAIT and other orphaned sockets: no fd refers to them
        return None
    if proto == "tcp":
        state = _TCP_STATES.get(st, str(st))
        listening = st == _TCP_LISTEN
    else:
        state = "ESTABLISHED" if st == 1 else "UNCONNECTED" if st == 7 else str(st)
        listening = False
    return SockInfo(inode, proto, family, laddr, lport, raddr, rport, state, listening)


def _parse_unix_line(line: bytes) -> SockInfo | None:
    """Parse one line of /proc/net/unix; ``None`` if malformed."""
    # Num RefCount Protocol Flags Type St Inode [Path] -- the path may hold spaces.
    fields = line.split(None, 7)
    if len(fields) < 7 or not fields[0].endswith(b":"):
        return None
    try:
        flags = int(fields[3], 16)
        st = int(fields[5], 16)
        inode = int(fields[6])
    except ValueError:
        return None
    if inode <= 0:
        return None
    path = os.fsdecode(fields[7].rstrip(b"\r\n")) if len(fields) > 7 else ""
    listening = bool(flags & _SO_ACCEPTCON)
    state = "LISTEN" if listening else _UNIX_STATES.get(st, str(st))
    return SockInfo(inode, "unix", "unix", state=state, listening=listening, path=path)


def _net_dir(proc_root: str, pid: int | None) -> str:
    if pid is None:
        return os.path.join(proc_root, "net")
    return os.path.join(proc_root, str(pid), "net")


def _parse_table(name: str, data: bytes) -> Iterable[SockInfo]:
    """Parse every line but the header of one /proc/net table."""
    lines = data.split(b"\n")[1:]
    if name == "unix":
        parse = _parse_unix_line
        for line in lines:
            info = parse(line)
            if info is not None:
                yield info
        return
    for table, proto, family in _INET_TABLES:
        if table == name:
            break
    else:
        return
    for line in lines:
        info = _parse_inet_line(line, proto, family)
        if info is not None:
            yield info


def read_net_sockets(proc_root: str = "/proc", pid: int | None = None) -> dict[int, SockInfo]:
    """All sockets of one network namespace, keyed by inode.

    Reads ``proc_root/net/*`` (the reader's own namespace) or, with ``pid``,
    ``proc_root/PID/net/*`` (the namespace of that process). Missing or
    unreadable tables are skipped, malformed lines ignored.
    """
    base = _net_dir(proc_root, pid)
    result: dict[int, SockInfo] = {}
    for name in _ALL_TABLES:
        try:
            data = _read_table(os.path.join(base, name))
        except OSError:
            continue
        for info in _parse_table(name, data):
            result[info.inode] = info
    return result


def _find_in_table(base: str, name: str, inode: int) -> SockInfo | None:
    """Find one inode in one /proc/net table, parsing only the matching line."""
    try:
        data = _read_table(os.path.join(base, name))
    except OSError:
        return None
    token = b" %d" % inode
    start = data.find(b"\n")  # skip the header
    while start >= 0:
        hit = data.find(token, start)
        if hit < 0:
            return None
        after = hit + len(token)
        # the inode must be a whole field: followed by a blank or end of line
        if after < len(data) and data[after] not in b" \n":
            start = after
            continue
        line_start = data.rfind(b"\n", 0, hit) + 1
        line_end = data.find(b"\n", hit)
        line = data[line_start : line_end if line_end >= 0 else len(data)]
        for info in _parse_table(name, b"\n" + line):
            if info.inode == inode:
                return info
        start = after
    return None


def _socket_inode(link: str) -> int | None:
    """The inode of a ``socket:[N]`` fd link, or ``None``."""
    if link.startswith("socket:[") and link.endswith("]"):
        try:
            return int(link[8:-1])
        except ValueError:
            return None
    return None


def lookup_socket(
    pid: int, fd: int, proc_root: str = "/proc", via_pidfd: bool = True
) -> SockInfo | None:
    """Resolve one socket fd of a process to what /proc/net says of it.

    Used to fill the local end of a ``connect`` or the tuple of an
    ``accept``, so it must be cheap. Reading a /proc/net table costs a walk
    of the kernel's socket hash tables (milliseconds on a machine with a lot
    of memory), so on the real /proc (``proc_root == "/proc"``, and
    ``via_pidfd``) the socket itself is asked instead: a duplicate of the fd
    is taken with ``pidfd_getfd`` (Linux >= 5.6, needs the right to ptrace
    the process, which root has), checked to be the same inode, queried with
    getsockname/getpeername/getsockopt and closed again (about 15 us; the
    process's own fd is untouched). The answer is the same ``SockInfo`` the
    table would give.

    Otherwise, or when that is not possible, the fd link gives the inode,
    sockfs gives the protocol (``system.sockprotoname`` extended attribute)
    so that a single table of the process's network namespace is read, and
    only the line holding the inode is parsed.

    ``None`` when the fd is gone, is not a socket, or its socket is in no
    table (netlink, packet, ...).
    """
    fd_path = os.path.join(proc_root, str(pid), "fd", str(fd))
    try:
        inode = _socket_inode(os.readlink(fd_path))
    except OSError:
        return None
    if inode is None:
        return None
    if via_pidfd and proc_root == "/proc":
        found, info = _lookup_via_pidfd(pid, fd, inode)
        if found:
            return info
    tables = _ALL_TABLES
    try:
        proto = os.getxattr(fd_path, "system.sockprotoname").rstrip(b"\0").decode("ascii", "replace")
        tables = _PROTO_TABLES.get(proto, ())
    except OSError:
        pass  # no xattr support (old kernel, fake tree): search every table
    base = _net_dir(proc_root, pid)
    for name in tables:
        info = _find_in_table(base, name, inode)
        if info is not None:
            return info
    return None


# pidfd_getfd(2) has number 438 on every architecture but alpha (new
# syscalls share one numbering since Linux 5.1).
_SYS_PIDFD_GETFD = None if platform.machine().startswith("alpha") else 438
_pidfd_state: dict[str, object] = {}


def _pidfd_getfd(pid: int, fd: int) -> int:
    """A duplicate of another process's fd; raises OSError (ENOSYS when unsupported)."""
    syscall = _pidfd_state.get("syscall")
    if syscall is None:
        if _SYS_PIDFD_GETFD is None or not hasattr(os, "pidfd_open"):
            raise OSError(errno.ENOSYS, "pidfd_getfd not available")
        libc = ctypes.CDLL(None, use_errno=True)
        syscall = libc.syscall
        syscall.restype = ctypes.c_long
        _pidfd_state["syscall"] = syscall
    pidfd = os.pidfd_open(pid)
    try:
        dup = syscall(ctypes.c_long(_SYS_PIDFD_GETFD), ctypes.c_int(pidfd), ctypes.c_int(fd),
                      ctypes.c_uint(0))
        if dup < 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
        return dup
    finally:
        os.close(pidfd)


def _unix_path(name: str | bytes) -> str:
    """A unix socket address as /proc/net/unix prints it (``@`` for abstract)."""
    if isinstance(name, bytes):
        if name.startswith(b"\0"):  # abstract: NUL bytes print as '@'
            return os.fsdecode(name.replace(b"\0", b"@"))
        return os.fsdecode(name.rstrip(b"\0"))
    return name


def _lookup_via_pidfd(pid: int, fd: int, inode: int) -> tuple[bool, SockInfo | None]:
    """Ask the socket behind another process's fd directly.

    Returns ``(True, info)`` when that answered (``info`` ``None`` for a
    socket /proc/net does not list), ``(False, None)`` when the caller
    should fall back to the tables (no pidfd support, no permission, the fd
    changed meanwhile).
    """
    if _pidfd_state.get("disabled"):
        return False, None
    try:
        dup = _pidfd_getfd(pid, fd)
    except OSError as exc:
        if exc.errno == errno.ENOSYS:
            _pidfd_state["disabled"] = True
        return False, None
    try:
        if os.fstat(dup).st_ino != inode:
            os.close(dup)
            return False, None  # the fd was closed and reused meanwhile
        sock = socket.socket(fileno=dup)
    except OSError:
        os.close(dup)
        return False, None
    try:
        return True, _sockinfo_of(sock, inode)
    except OSError:
        return False, None
    finally:
        sock.close()  # closes only our duplicate: the process's socket stays open


def _sockinfo_of(sock: socket.socket, inode: int) -> SockInfo | None:
    """Describe a socket the way /proc/net/{tcp,udp,raw}[6] and unix do."""
    listening = bool(sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN))
    try:
        peer = sock.getpeername()
    except OSError:
        peer = None
    if sock.family == socket.AF_UNIX:
        if listening:
            state = "LISTEN"
        else:
            state = "CONNECTED" if peer is not None else "UNCONNECTED"
        return SockInfo(inode, "unix", "unix", state=state, listening=listening,
                        path=_unix_path(sock.getsockname()))
    if sock.family == socket.AF_INET:
        family, anyaddr = "ipv4", "0.0.0.0"
    elif sock.family == socket.AF_INET6:
        family, anyaddr = "ipv6", "::"
    else:
        return None  # netlink, packet, vsock, ...: in no table
    if sock.type == socket.SOCK_STREAM and sock.proto in (0, socket.IPPROTO_TCP):
        proto = "tcp"
        st = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)[0]
        state = _TCP_STATES.get(st, str(st))
        listening = st == _TCP_LISTEN
    elif sock.type == socket.SOCK_DGRAM and sock.proto in (0, socket.IPPROTO_UDP):
        proto = "udp"
        state = "ESTABLISHED" if peer is not None else "UNCONNECTED"
        listening = False
    elif sock.type == socket.SOCK_RAW:
        proto, state, listening = "raw", "", False
    else:
        return None  # SCTP, UDP-Lite, MPTCP...: not in the tables we read
    laddr, lport = sock.getsockname()[:2]
    raddr, rport = peer[:2] if peer is not None else (anyaddr, 0)
    if proto == "raw":  # /proc/net/raw shows the protocol number as the local port
        lport, rport = sock.proto, 0
        state = "ESTABLISHED" if peer is not None else "UNCONNECTED"
    return SockInfo(inode, proto, family, laddr, lport, raddr, rport, state, listening)


# ---------------------------------------------------------------------------
# /proc/PID/fd
# ---------------------------------------------------------------------------

_ANON_KINDS = {
    "anon_inode:[eventfd]": "event",
    "anon_inode:[signalfd]": "signal",
    "anon_inode:inotify": "inotify",
    "anon_inode:[timerfd]": "timer",
}


def _fmt_endpoint(addr: str, port: int) -> str:
    return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"


def _socket_fd(fd: int, link: str, info: SockInfo | None) -> FdSnapshot:
    """The FdSnapshot of a socket fd, joined to its /proc/net entry when known."""
    if info is None:
        return FdSnapshot(fd, "other", link)
    if info.family == "unix":
        return FdSnapshot(
            fd, "unix", info.path or link, laddr=info.path, listening=info.listening
        )
    local = _fmt_endpoint(info.laddr, info.lport)
    if info.rport or (info.raddr not in ("0.0.0.0", "::")):
        name = f"{local}->{_fmt_endpoint(info.raddr, info.rport)}"
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
        inode = _socket_inode(link)
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
        data = _read_all(os.path.join(pid_dir, "cmdline"))
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
        data = _read_all(os.path.join(pid_dir, "status"))
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
            comm = _read(os.path.join(task_dir, str(tid), "comm"), 256)
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
        parsed = _split_stat(_read(os.path.join(pid_dir, "stat")))
    except (OSError, ValueError):
        return None
    if parsed is None:
        return None
    comm, fields = parsed
    try:
        ppid = int(fields[_F_PPID])
        start_ns = _ticks_to_ns(int(fields[_F_STARTTIME]))
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
        except _GONE:
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


# ---------------------------------------------------------------------------
# Per-tick sampling
# ---------------------------------------------------------------------------


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
            data = _read(pid_dir + "/stat")
        except (OSError, ValueError):
            continue
        right = data.rfind(b")")
        if right < 0:
            continue
        fields = data[right + 2 :].split()
        try:
            cpu = _ticks_to_ns(int(fields[_F_UTIME]) + int(fields[_F_STIME]))
            nthreads = int(fields[_F_NUM_THREADS])
            rss = int(fields[_F_RSS]) * PAGE_SIZE  # one read per process: stat, not statm
        except (IndexError, ValueError):
            continue
        append(ProcSample(pid, pid, cpu, rss, nthreads))
        if kernel_threads is not None and (pid == 2 or fields[_F_PPID] == b"2"):
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
                    tdata = _read(f"{task_dir}/{name}/stat")
                except OSError:
                    continue
                right = tdata.rfind(b")")
                tfields = tdata[right + 2 :].split()
                try:
                    tcpu = _ticks_to_ns(int(tfields[_F_UTIME]) + int(tfields[_F_STIME]))
                except (IndexError, ValueError):
                    continue
                append(ProcSample(pid, int(name), tcpu, 0, 1))
    return out


@functools.lru_cache(maxsize=4096)
def user_name(uid: int) -> str:
    """The login name of a uid (cached), or the uid as text when unknown."""
    try:
        return pwd.getpwuid(uid).pw_name
    except (KeyError, OverflowError, ValueError, TypeError):
        return str(uid)
