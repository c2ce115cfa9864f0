"""Perf-buffer bytes → model events.

The layouts mirror probes/bpf/*.c (struct hdr_t and the event structs);
``struct`` unpacking of a copied buffer is several times faster than ctypes
field access and leaves nothing pointing into the perf ring.
"""

from __future__ import annotations

import os
import socket
import struct
from typing import NamedTuple

from ctop_ebpf.model import events as ev
from ctop_ebpf.model.fdtable import unix_path

EV_FORK, EV_EXEC, EV_EXIT, EV_OPEN, EV_CLOSE, EV_DUP, EV_PIPE, EV_SOCKET, EV_SOCK = range(1, 10)

MAX_ARGS = 16
ARG_LEN = 128
PATH_LEN = 256

HDR = struct.Struct("=IIIIQQ16s")  # 48 bytes
FORK = struct.Struct("=IIQ")
EXEC = struct.Struct(f"=IIII{PATH_LEN}s")
EXIT = struct.Struct("=iI")
FD = struct.Struct("=qqqqQQQQQ")
SOCK = struct.Struct("=qiHHHHI16s16s108s")

OPEN_SYSCALLS = {1: "open", 2: "openat", 3: "openat2", 4: "creat"}
SOCK_OPS = {1: "connect", 2: "accept", 3: "bind", 4: "listen", 5: "local"}
AT_FDCWD = -100
O_CLOEXEC = 0o2000000  # also SOCK_CLOEXEC

# Sizes as the C structs have them (tests compare with the compiled program).
SIZES = {
    "hdr_t": HDR.size,
    "fork_event_t": HDR.size + FORK.size,
    "exec_event_t": HDR.size + EXEC.size + MAX_ARGS * ARG_LEN,
    "exit_event_t": HDR.size + EXIT.size,
    "fd_event_t": HDR.size + FD.size + PATH_LEN,  # FD includes a0..a3 and the fdio counters
    "sock_event_t": (HDR.size + SOCK.size + 7) // 8 * 8,
}


def cstr(raw: bytes) -> str:
    """A NUL-terminated C string, every byte kept (surrogateescape)."""
    end = raw.find(b"\0")
    return os.fsdecode(raw if end < 0 else raw[:end])


def _addr(family: int, raw: bytes) -> str:
    if family == socket.AF_INET:
        return socket.inet_ntop(socket.AF_INET, raw[:4])
    if family == socket.AF_INET6:
        return socket.inet_ntop(socket.AF_INET6, raw[:16])
    return ""


class OpenRaw(NamedTuple):
    """An Open as decoded, with what the source needs to finish it."""

    event: ev.Open
    dirfd: int
    path_hash: int


class Flush(NamedTuple):
    """Folded opens on an fd that is about to be reused (see files.c flush_fd)."""

    ts: int
    pid: int
    tid: int
    fd: int
    repeats: int
    path_hash: int
    still_open: bool
    bytes_read: int = 0
    bytes_written: int = 0
    reads: int = 0
    writes: int = 0


class Decoder:
    """Turns raw samples into events; unknown or short samples count as bad."""

    def __init__(self) -> None:
        self.bad = 0

    def decode(self, data: bytes):
        if len(data) < HDR.size:
            self.bad += 1
            return None
        etype, pid, tid, uid, ts, cgid, comm = HDR.unpack_from(data)
        off = HDR.size
        try:
            if etype == EV_FORK:
                child, is_thread, _flags = FORK.unpack_from(data, off)
                return ev.Fork(ts, pid, pid if is_thread else child, child, bool(is_thread), cstr(comm), cgid)
            if etype == EV_EXEC:
                old_tid, argc, truncated, _pad, filename = EXEC.unpack_from(data, off)
                base = off + EXEC.size
                argc = min(argc, MAX_ARGS)
                argv = tuple(
                    cstr(data[base + i * ARG_LEN: base + (i + 1) * ARG_LEN]) for i in range(argc)
                )
                return ev.Exec(ts, pid, old_tid, uid, cstr(comm), cstr(filename), argv, bool(truncated), cgid)
            if etype == EV_EXIT:
                code, _pad = EXIT.unpack_from(data, off)
                return ev.Exit(ts, pid, tid, code)
            if etype in (EV_OPEN, EV_CLOSE, EV_DUP, EV_PIPE, EV_SOCKET):
                result, a0, a1, a2, a3, rb, wb, rn, wn = FD.unpack_from(data, off)
                if etype == EV_OPEN:
                    path = cstr(data[off + FD.size: off + FD.size + PATH_LEN])
                    return OpenRaw(ev.Open(ts, pid, tid, OPEN_SYSCALLS.get(a2, "open"), path,
                                           a1 & 0xFFFFFFFF, result), a0, a3)
                if etype == EV_CLOSE:
                    if a2 == 1:  # a flush of folded opens (result 1: fd still open)
                        return Flush(ts, pid, tid, a0, a1, a3, result == 1, rb, wb, rn, wn)
                    return ev.Close(ts, pid, tid, a0, result, rb, wb, rn, wn)
                if etype == EV_DUP:
                    return ev.Dup(ts, pid, a0, result)
                if etype == EV_PIPE:
                    return ev.Pipe(ts, pid, a0, a1)
                return ev.Socket(ts, pid, result, a0, a1 & 0xF, a2, bool(a1 & O_CLOEXEC))
            if etype == EV_SOCK:
                result, fd, family, op, lport, rport, _pad, laddr, raddr, path = SOCK.unpack_from(data, off)
                return ev.SockAddr(
                    ts, pid, tid, SOCK_OPS.get(op, "?"), fd, result, family,
                    _addr(family, laddr) if lport or any(laddr) else "", socket.ntohs(lport),
                    _addr(family, raddr) if rport or any(raddr) else "", socket.ntohs(rport),
                    unix_path(path) if family == socket.AF_UNIX else "",
                )
        except struct.error:
            pass
        self.bad += 1
        return None

