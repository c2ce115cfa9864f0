"""The decoder against hand-packed samples, and its layouts against the
structs the compiler actually laid out."""

from __future__ import annotations

import ctypes
import struct

import pytest

from ctop_ebpf.model import events as ev
from ctop_ebpf.probes import decode as d


def hdr(etype: int, pid: int = 10, tid: int = 11, comm: bytes = b"cat") -> bytes:
    return d.HDR.pack(etype, pid, tid, 1000, 123, 7, comm)


def test_exec_with_argv_and_bad_bytes():
    args = [b"ls", b"-l", b"caf\xe9"]
    slots = b"".join(a.ljust(d.ARG_LEN, b"\0") for a in args)
    raw = hdr(d.EV_EXEC) + d.EXEC.pack(11, len(args), 0, 0, b"/bin/ls") + slots
    e = d.Decoder().decode(raw)
    assert e == ev.Exec(123, 10, 11, 1000, "cat", "/bin/ls", ("ls", "-l", "caf\udce9"), False, 7)


def test_open_close_and_flush():
    dec = d.Decoder()
    raw = hdr(d.EV_OPEN) + d.FD.pack(3, -100, 0o2000000, 2, 99, 0, 0, 0, 0) + b"/etc/hosts".ljust(d.PATH_LEN, b"\0")
    got = dec.decode(raw)
    assert isinstance(got, d.OpenRaw) and got.dirfd == -100 and got.path_hash == 99
    assert got.event == ev.Open(123, 10, 11, "openat", "/etc/hosts", 0o2000000, 3)
    # the kernel sends only the path's bytes and its NUL (padded to 8 by perf)
    short = hdr(d.EV_OPEN) + d.FD.pack(3, -100, 0, 2, 99, 0, 0, 0, 0) + b"/etc/hosts\0" + b"\0" * 5
    assert dec.decode(short).event == ev.Open(123, 10, 11, "openat", "/etc/hosts", 0, 3)
    close = dec.decode(hdr(d.EV_CLOSE) + d.FD.pack(0, 3, 0, 0, 0, 5, 6, 1, 1))
    assert close == ev.Close(123, 10, 11, 3, 0, 5, 6, 1, 1)
    flush = dec.decode(hdr(d.EV_CLOSE) + d.FD.pack(1, 3, 4, 1, 99, 0, 0, 0, 0))
    assert isinstance(flush, d.Flush) and flush.repeats == 4 and flush.still_open


def test_sockaddr_ports_in_network_order():
    laddr = bytes([127, 0, 0, 1]) + bytes(12)
    raw = hdr(d.EV_SOCK) + d.SOCK.pack(0, 5, 2, 1, struct.unpack("<H", struct.pack(">H", 40000))[0],
                                       struct.unpack("<H", struct.pack(">H", 80))[0], 0, laddr, laddr, bytes(108))
    e = d.Decoder().decode(raw)
    assert (e.op, e.laddr, e.lport, e.raddr, e.rport) == ("connect", "127.0.0.1", 40000, "127.0.0.1", 80)


def test_short_or_unknown_samples_count_as_bad():
    dec = d.Decoder()
    assert dec.decode(b"\1\0") is None and dec.decode(hdr(77)) is None
    assert dec.decode(hdr(d.EV_FORK)) is None  # header only: truncated
    assert dec.bad == 3


@pytest.mark.kernel
@pytest.mark.usefixtures("kernel")
def test_layouts_match_the_compiled_structs():
    from ctop_ebpf.probes import loader

    bpf = loader.load()
    try:
        for table, name in (("fd_scratch", "fd_event_t"), ("sock_scratch", "sock_event_t")):
            leaf = bpf[table].Leaf._type_  # one CPU's element of the per-CPU array
            assert ctypes.sizeof(leaf) == d.SIZES[name], name
        # bcc's ctypes mapping flattens char[16][128]; the argv slots start here
        exec_leaf = bpf["exec_stash"].Leaf
        assert exec_leaf.args.offset == d.HDR.size + d.EXEC.size
    finally:
        bpf.cleanup()
