"""What one file descriptor refers to, and the per-tick counters kept for it."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

AF_UNIX, AF_INET, AF_INET6 = socket.AF_UNIX, socket.AF_INET, socket.AF_INET6
SOCK_STREAM, SOCK_DGRAM = socket.SOCK_STREAM, socket.SOCK_DGRAM

FILE_KINDS = ("file", "directory")
NET_KINDS = ("ipv4", "ipv6")


def unix_path(name: str | bytes) -> str:
    """A unix socket address as /proc/net/unix and ss print it: the path, or
    ``@name`` for the abstract namespace, its NUL bytes shown as ``@``.

    ``name`` is what getsockname gives (str for a path, bytes for an abstract
    name) or the raw ``sun_path`` bytes a probe copied (NUL padding after the
    name is dropped). Every other byte is kept (surrogateescape).
    """
    if isinstance(name, str):
        return name
    if name[:1] == b"\0":
        return "@" + os.fsdecode(name[1:].rstrip(b"\0").replace(b"\0", b"@"))
    end = name.find(b"\0")
    return os.fsdecode(name if end < 0 else name[:end])


def endpoint(addr: str, port: int) -> str:
    """``ip:port`` with IPv6 in brackets, as ss and sysdig print it."""
    if not addr and not port:
        return ""
    if ":" in addr:
        return f"[{addr}]:{port}"
    return f"{addr}:{port}"


@dataclass(slots=True)
class FdInfo:
    """The object behind an fd. Socket tuples fill in as the syscalls reveal them."""

    kind: str  # file, directory, ipv4, ipv6, unix, pipe, event, signal, inotify, timer, memfd, other
    name: str = ""
    proto: str = ""  # tcp / udp for ip sockets
    laddr: str = ""
    lport: int = 0
    raddr: str = ""
    rport: int = 0
    listening: bool = False
    server: bool = False  # the accepting side of a connection
    cloexec: bool = False  # closed when the process calls exec
    stands_for: int = -1  # a placeholder for this fd of a fork not seen yet

    def identity(self) -> tuple:
        """What makes two fds "the same thing" for grouping (a path, a tuple)."""
        if self.kind in NET_KINDS:
            return (self.kind, self.proto, self.laddr, self.lport, self.raddr, self.rport, self.listening)
        return (self.kind, self.display_name())

    def display_name(self) -> str:
        if self.kind in NET_KINDS:
            local = endpoint(self.laddr, self.lport)
            if self.listening or not (self.raddr or self.rport):
                return local or f"{self.proto or 'socket'}"
            return f"{local}->{endpoint(self.raddr, self.rport)}"
        return self.name


@dataclass(slots=True)
class FdCounters:
    """What happened to one fd identity of one process during the current tick."""

    opens: int = 0
    open_errors: int = 0
    bytes_read: int = 0
    bytes_written: int = 0
    reads: int = 0
    writes: int = 0
    fd: int = -1  # the fd number last seen for it

    def add_io(self, bytes_read: int, bytes_written: int, reads: int, writes: int) -> None:
        self.bytes_read += bytes_read
        self.bytes_written += bytes_written
        self.reads += reads
        self.writes += writes


def fd_fields(info: FdInfo, fd: int) -> dict:
    """The ``fd.*`` fields of a record about one fd (and the connection columns)."""
    out = {"fd.num": fd, "fd.type": info.kind, "fd.name": info.display_name()}
    if info.kind in FILE_KINDS:
        out["fd.directory"] = info.name if info.kind == "directory" else (os.path.dirname(info.name) or "")
        out["fd.filename"] = os.path.basename(info.name)
    elif info.kind in NET_KINDS:
        out["fd.l4proto"] = info.proto
        out["fd.lip"], out["fd.lport"] = info.laddr, info.lport
        out["local"] = endpoint(info.laddr, info.lport)
        out["remote"] = endpoint(info.raddr, info.rport)
        if info.raddr or info.rport:
            out["fd.rip"], out["fd.rport"] = info.raddr, info.rport
        if info.listening or info.server:
            out["fd.sport"] = info.lport
        elif info.rport:
            out["fd.sport"] = info.rport
    return out


def kind_for_family(family: int) -> str:
    return {AF_INET: "ipv4", AF_INET6: "ipv6", AF_UNIX: "unix"}.get(family, "other")


def proto_for(sock_type: int, protocol: int) -> str:
    if sock_type == SOCK_STREAM:
        return "tcp"
    if sock_type == SOCK_DGRAM:
        return "udp"
    return {6: "tcp", 17: "udp", 1: "icmp", 58: "icmp6"}.get(protocol, "raw")
