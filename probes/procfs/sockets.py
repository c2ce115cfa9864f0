"""Sockets as /proc sees them: the /proc/net tables of a network namespace,
and one socket fd of a process resolved to its addresses.

* :func:`read_net_sockets` reads every table of a namespace, keyed by inode
  (bootstrap joins each socket fd to it);
* :func:`lookup_socket` resolves one socket fd, for the local end of a
  ``connect`` or the tuple of an ``accept``: through ``pidfd_getfd`` on the
  real /proc, else from the one table its protocol names.

Plain standard-library Python; ``proc_root`` points the readers at a fake
tree in tests.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import socket
import struct
from collections.abc import Iterable
from dataclasses import dataclass

from ctop_ebpf.model.fdtable import unix_path

from .files import PAGE_SIZE, read_all

__all__ = ["SockInfo", "read_net_sockets", "lookup_socket", "socket_inode"]

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


def read_table(path: str) -> bytes:
    """Read a /proc/net table, avoiding a needless extra pass over the kernel's tables.

    Each ``read`` of a /proc/net seq file walks the socket hash tables
    (measured here: 2.6 ms per pass over /proc/net/tcp with 4 sockets, the
    cost being the empty hash buckets), including the final ``read`` that
    only reports end of file. seq_file stops a read early only at end of
    file or when the next record does not fit in its one-page buffer, so a
    read that came back well short of a page means end of file: stop there.
    """
    return read_all(path, _TABLE_EOF_BELOW)


# A record of any /proc/net table is shorter than 512 bytes.
_TABLE_EOF_BELOW = min(PAGE_SIZE, 4096) - 512


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
            data = read_table(os.path.join(base, name))
        except OSError:
            continue
        for info in _parse_table(name, data):
            result[info.inode] = info
    return result


def _find_in_table(base: str, name: str, inode: int) -> SockInfo | None:
    """Find one inode in one /proc/net table, parsing only the matching line."""
    try:
        data = read_table(os.path.join(base, name))
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


def socket_inode(link: str) -> int | None:
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
        inode = socket_inode(os.readlink(fd_path))
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
                        path=unix_path(sock.getsockname()))
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
