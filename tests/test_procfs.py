"""Tests of model.procfs: against a fake /proc tree and against the real /proc.

Network traffic in these tests only ever goes to 127.0.0.1 or ::1.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from pathlib import Path

import pytest

from ctop_ebpf.model.events import FdSnapshot, ProcSample
from ctop_ebpf.probes import procfs
from ctop_ebpf.probes.procfs import SockInfo

# ---------------------------------------------------------------------------
# A fake /proc tree
# ---------------------------------------------------------------------------

TCP_HEADER = (
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt"
    "   uid  timeout inode\n"
)
UNIX_HEADER = "Num       RefCount Protocol Flags    Type St Inode Path\n"


def inet_line(sl: int, local: str, remote: str, st: str, inode: int) -> str:
    """A /proc/net/{tcp,udp}[6] line as the kernel prints it."""
    return (
        f"  {sl:3d}: {local} {remote} {st} 00000000:00000000 00:00000000 00000000"
        f"     0        0 {inode} 1 0000000000000000 100 0 0 10 0\n"
    )


def stat_line(pid: int, comm: str, ppid: int, utime: int = 0, stime: int = 0,
              threads: int = 1, starttime: int = 12345, rss: int = 0) -> str:
    """A /proc/PID/stat line; fields after comm are numbered as in proc(5)."""
    fields = ["S", str(ppid)] + ["0"] * 50
    fields[14 - 3] = str(utime)
    fields[15 - 3] = str(stime)
    fields[20 - 3] = str(threads)
    fields[22 - 3] = str(starttime)
    fields[24 - 3] = str(rss)
    return f"{pid} ({comm}) " + " ".join(fields) + "\n"


def write(path: Path, content: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)


# x86 (little-endian) renderings of the addresses used below.
V4_LOCALHOST = "0100007F"
V4_ANY = "00000000"
V6_LOCALHOST = "00000000000000000000000001000000"
V6_MAPPED_LOCALHOST = "0000000000000000FFFF00000100007F"
V6_ANY = "0" * 32

little_endian_only = pytest.mark.skipif(
    sys.byteorder != "little", reason="fake /proc/net contents are in x86 byte order"
)


@pytest.fixture
def fake_proc(tmp_path: Path) -> Path:
    root = tmp_path / "proc"
    data = tmp_path / "data"
    data.mkdir()
    (data / "some file.txt").write_text("x")
    (data / "adir").mkdir()

    net = root / "net"
    write(
        net / "tcp",
        TCP_HEADER
        + inet_line(0, f"{V4_LOCALHOST}:1F90", f"{V4_ANY}:0000", "0A", 1001)
        + inet_line(1, "0100000A:9C40", "22D8B85D:01BB", "01", 1002)
        + inet_line(2, "0100000A:9C41", "22D8B85D:01BB", "06", 0)  # TIME_WAIT, no inode
        + inet_line(3, f"{V4_LOCALHOST}:0050", f"{V4_ANY}:0000", "0A", 10010)
        + "garbage\n"
        + "   4: 0100007F:ZZZZ 00000000:0000 0A 0 0 0 0 0 1003\n"  # bad port
        + "   5: 0100007F\n",  # truncated
    )
    write(
        net / "tcp6",
        TCP_HEADER
        + inet_line(0, f"{V6_LOCALHOST}:20FB", f"{V6_ANY}:0000", "0A", 2001)
        + inet_line(1, f"{V6_MAPPED_LOCALHOST}:1F90", f"{V6_MAPPED_LOCALHOST}:A000",
                    "01", 2002)
        + inet_line(2, "0123:1F90", f"{V6_ANY}:0000", "0A", 2003),  # bad address length
    )
    write(net / "udp", TCP_HEADER + inet_line(0, f"{V4_ANY}:0035", f"{V4_ANY}:0000", "07", 3001))
    # no udp6, raw or raw6: missing tables are skipped
    write(
        net / "unix",
        UNIX_HEADER
        + "0000000000000000: 00000002 00000000 00010000 0001 01  4001 /run/listen.sock\n"
        + "0000000000000000: 00000003 00000000 00000000 0001 03  4002\n"
        + "0000000000000000: 00000002 00000000 00000000 0002 01  4003 /tmp/with space (x).sock\n"
        + "0000000000000000: 00000002 00000000 00000000 0001 03  4004 @abstract\n"
        + "this is not a unix line\n"
        + "0000000000000000: 00000002 00000000 zz 0001 03  4005 /bad/flags\n",
    )

    # pid 100: comm with spaces and parentheses, all kinds of fds
    p = root / "100"
    write(p / "stat", stat_line(100, "my (odd)) comm", 1, utime=150, stime=50,
                                threads=2, starttime=500, rss=1234))
    write(p / "statm", "5000 1234 100 10 0 200 0\n")
    write(p / "cmdline", b"prog\0--flag\0arg with space\0\xff\xfe\0")
    write(p / "status", "Name:\tprog\nUmask:\t0022\nState:\tS\nUid:\t1000\t0\t0\t0\nGid:\t0\t0\t0\t0\n")
    write(p / "task" / "100" / "comm", "my (odd)) comm\n")
    write(p / "task" / "100" / "stat", stat_line(100, "my (odd)) comm", 1, utime=100, stime=40))
    write(p / "task" / "101" / "comm", "worker 1\n")
    write(p / "task" / "101" / "stat", stat_line(101, "worker 1", 1, utime=50, stime=10))
    (p / "exe").symlink_to("/usr/bin/prog")
    (p / "ns").mkdir()
    (p / "ns" / "net").symlink_to("net:[1]")
    (p / "net").symlink_to("../net")
    fd = p / "fd"
    fd.mkdir()
    links = {
        0: str(data / "some file.txt"),
        1: str(data / "adir"),
        3: "socket:[1001]",
        4: "socket:[4001]",
        5: "pipe:[77]",
        6: "anon_inode:[eventfd]",
        7: "anon_inode:[signalfd]",
        8: "anon_inode:inotify",
        9: "anon_inode:[timerfd]",
        10: "/memfd:buffer (deleted)",
        11: "socket:[9999]",
        12: "anon_inode:[eventpoll]",
        13: "socket:[2001]",
        14: "socket:[1002]",
        15: "socket:[2002]",
        16: "socket:[3001]",
        17: "socket:[4003]",
        18: "socket:[4002]",
    }
    for n, target in links.items():
        (fd / str(n)).symlink_to(target)
    (fd / "notanumber").symlink_to("/nowhere")
    (root / "self").symlink_to("100")

    # pid 200: vanished (the directory is there, its files are not)
    (root / "200").mkdir()
    # pid 300: unparsable stat
    write(root / "300" / "stat", "300 no parenthesis here\n")
    # pid 400: a kernel thread: empty cmdline, no exe, no fds
    write(root / "400" / "stat", stat_line(400, "kworker/0:1", 2))
    write(root / "400" / "statm", "0 0 0 0 0 0 0\n")
    write(root / "400" / "cmdline", b"")
    write(root / "400" / "status", "Name:\tkworker/0:1\nUid:\t0\t0\t0\t0\n")
    write(root / "400" / "task" / "400" / "comm", "kworker/0:1\n")

    # pid 500: in another network namespace (a container) with its own tables
    p = root / "500"
    write(p / "stat", stat_line(500, "nginx", 100, rss=50))
    write(p / "statm", "100 50 0 0 0 0 0\n")
    write(p / "cmdline", b"nginx: master process\0")
    write(p / "status", "Uid:\t0\t0\t0\t0\n")
    (p / "ns").mkdir()
    (p / "ns" / "net").symlink_to("net:[2]")
    write(p / "net" / "tcp", TCP_HEADER
          + inet_line(0, "020011AC:0050", f"{V4_ANY}:0000", "0A", 5001))
    (p / "fd").mkdir()
    (p / "fd" / "6").symlink_to("socket:[5001]")
    (p / "fd" / "7").symlink_to("socket:[1001]")  # inherited host socket
    return root


# ---------------------------------------------------------------------------
# Fake tree: /proc/net
# ---------------------------------------------------------------------------


@little_endian_only
def test_net_sockets_fake(fake_proc: Path) -> None:
    net = procfs.read_net_sockets(str(fake_proc))
    assert net[1001] == SockInfo(1001, "tcp", "ipv4", "127.0.0.1", 8080, "0.0.0.0", 0,
                                 "LISTEN", True)
    assert net[1002] == SockInfo(1002, "tcp", "ipv4", "10.0.0.1", 40000, "93.184.216.34",
                                 443, "ESTABLISHED", False)
    assert net[2001] == SockInfo(2001, "tcp", "ipv6", "::1", 8443, "::", 0, "LISTEN", True)
    assert net[2002].laddr == "::ffff:127.0.0.1" and net[2002].lport == 8080
    assert net[2002].raddr == "::ffff:127.0.0.1" and net[2002].rport == 40960
    assert net[3001] == SockInfo(3001, "udp", "ipv4", "0.0.0.0", 53, "0.0.0.0", 0,
                                 "UNCONNECTED", False)
    assert net[4001] == SockInfo(4001, "unix", "unix", state="LISTEN", listening=True,
                                 path="/run/listen.sock")
    assert net[4002] == SockInfo(4002, "unix", "unix", state="CONNECTED", path="")
    assert net[4003].path == "/tmp/with space (x).sock"
    assert net[4004].path == "@abstract"
    # TIME_WAIT (inode 0) and malformed lines are dropped without error
    assert 0 not in net and 1003 not in net and 2003 not in net and 4005 not in net
    assert set(net) == {1001, 1002, 10010, 2001, 2002, 3001, 4001, 4002, 4003, 4004}


def test_net_sockets_missing_tree(tmp_path: Path) -> None:
    assert procfs.read_net_sockets(str(tmp_path / "nothing")) == {}
    assert procfs.read_net_sockets(str(tmp_path), pid=12345) == {}


@little_endian_only
def test_lookup_socket_fake(fake_proc: Path) -> None:
    root = str(fake_proc)
    # fake fds are plain symlinks (no sockfs xattr): every table is searched
    assert procfs.lookup_socket(100, 3, root).lport == 8080
    assert procfs.lookup_socket(100, 15, root).laddr == "::ffff:127.0.0.1"
    assert procfs.lookup_socket(100, 17, root).path == "/tmp/with space (x).sock"
    assert procfs.lookup_socket(100, 11, root) is None  # inode in no table
    assert procfs.lookup_socket(100, 0, root) is None  # not a socket
    assert procfs.lookup_socket(100, 99, root) is None  # no such fd
    assert procfs.lookup_socket(200, 3, root) is None  # vanished process
    # inode 1001 must not match the line of inode 10010
    (fake_proc / "100" / "fd" / "20").symlink_to("socket:[10010]")
    assert procfs.lookup_socket(100, 20, root).lport == 80


# ---------------------------------------------------------------------------
# Fake tree: fds, processes, bootstrap, sample
# ---------------------------------------------------------------------------


@little_endian_only
def test_read_fds_fake(fake_proc: Path) -> None:
    data = fake_proc.parent / "data"
    fds = {f.fd: f for f in procfs.read_fds(100, None, str(fake_proc))}
    assert sorted(fds) == [0, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18]
    assert fds[0] == FdSnapshot(0, "file", str(data / "some file.txt"))
    assert fds[1] == FdSnapshot(1, "directory", str(data / "adir"))
    assert fds[3] == FdSnapshot(3, "ipv4", "127.0.0.1:8080", proto="tcp", laddr="127.0.0.1",
                                lport=8080, raddr="0.0.0.0", rport=0, listening=True)
    assert fds[4] == FdSnapshot(4, "unix", "/run/listen.sock", laddr="/run/listen.sock",
                                listening=True)
    assert fds[5] == FdSnapshot(5, "pipe", "pipe:[77]")
    assert (fds[6].kind, fds[7].kind, fds[8].kind, fds[9].kind) == (
        "event", "signal", "inotify", "timer")
    assert fds[10] == FdSnapshot(10, "memfd", "/memfd:buffer (deleted)")
    assert fds[11] == FdSnapshot(11, "other", "socket:[9999]")
    assert fds[12] == FdSnapshot(12, "other", "anon_inode:[eventpoll]")
    assert fds[13].kind == "ipv6" and fds[13].name == "[::1]:8443" and fds[13].listening
    assert fds[14].name == "10.0.0.1:40000->93.184.216.34:443"
    assert (fds[14].raddr, fds[14].rport, fds[14].listening) == ("93.184.216.34", 443, False)
    assert fds[15].name == "[::ffff:127.0.0.1]:8080->[::ffff:127.0.0.1]:40960"
    assert fds[16].kind == "ipv4" and fds[16].proto == "udp" and fds[16].name == "0.0.0.0:53"
    assert fds[17].name == "/tmp/with space (x).sock"
    assert fds[18] == FdSnapshot(18, "unix", "socket:[4002]")


def test_read_fds_with_given_net_and_vanished(fake_proc: Path) -> None:
    root = str(fake_proc)
    fds = {f.fd: f for f in procfs.read_fds(100, {}, root)}
    assert fds[3] == FdSnapshot(3, "other", "socket:[1001]")  # empty table given: unknown
    assert procfs.read_fds(200, None, root) == ()
    assert procfs.read_fds(999, None, root) == ()


def test_read_process_fake(fake_proc: Path) -> None:
    root = str(fake_proc)
    snap = procfs.read_process(100, root, resolve_container=lambda pid: ("abc123", "docker"))
    assert snap is not None
    assert snap.pid == 100 and snap.ppid == 1
    assert snap.comm == "my (odd)) comm"
    assert snap.exe == "/usr/bin/prog"
    assert snap.argv == ("prog", "--flag", "arg with space", os.fsdecode(b"\xff\xfe"))
    assert os.fsencode(snap.argv[3]) == b"\xff\xfe"  # nothing lost
    assert snap.uid == 1000
    assert snap.start_ns == 500 * 1_000_000_000 // procfs.CLK_TCK
    assert (snap.container_id, snap.runtime) == ("abc123", "docker")
    assert snap.threads == ((100, "my (odd)) comm"), (101, "worker 1"))
    assert len(snap.fds) == 18

    bare = procfs.read_process(100, root, with_fds=False)
    assert bare.fds == () and (bare.container_id, bare.runtime) == ("", "")

    kthread = procfs.read_process(400, root)
    assert kthread.comm == "kworker/0:1" and kthread.argv == () and kthread.exe == ""
    assert kthread.uid == 0 and kthread.fds == ()

    assert procfs.read_process(200, root) is None  # vanished
    assert procfs.read_process(300, root) is None  # malformed stat
    assert procfs.read_process(999, root) is None  # never existed

    def gone(pid: int) -> tuple[str, str]:
        raise FileNotFoundError(pid)

    assert procfs.read_process(400, root, resolve_container=gone).container_id == ""


@little_endian_only
def test_bootstrap_fake(fake_proc: Path) -> None:
    snaps = {s.pid: s for s in procfs.bootstrap(str(fake_proc))}
    assert sorted(snaps) == [100, 400, 500]
    assert snaps[500].argv == ("nginx: master process",)
    # pid 500's own namespace table resolves its container socket ...
    fds = {f.fd: f for f in snaps[500].fds}
    assert fds[6].laddr == "172.17.0.2" and fds[6].lport == 80 and fds[6].listening
    # ... and a socket only the host table knows still resolves by inode
    assert fds[7].lport == 8080
    assert {f.fd: f for f in snaps[100].fds}[14].rport == 443
    assert all(s.fds == () for s in procfs.bootstrap(str(fake_proc), with_fds=False))
    hosted = procfs.bootstrap(str(fake_proc), resolve_container=lambda pid: (
        ("c0ffee", "containerd") if pid == 500 else None))
    assert [(s.pid, s.container_id) for s in hosted] == [(100, ""), (400, ""), (500, "c0ffee")]


def test_bootstrap_empty(tmp_path: Path) -> None:
    assert procfs.bootstrap(str(tmp_path)) == []
    assert procfs.bootstrap(str(tmp_path / "missing")) == []


def test_sample_fake(fake_proc: Path) -> None:
    root = str(fake_proc)
    ns = 1_000_000_000 // procfs.CLK_TCK
    got = procfs.sample(None, root)
    assert got == [
        ProcSample(100, 100, 200 * ns, 1234 * procfs.PAGE_SIZE, 2),
        ProcSample(100, 101, 60 * ns, 0, 1),
        ProcSample(400, 400, 0, 0, 1),
        ProcSample(500, 500, 0, 50 * procfs.PAGE_SIZE, 1),
    ]
    assert procfs.sample([100], root, threads=False) == [got[0]]
    assert procfs.sample([200, 300, 999], root) == []


def test_user_name() -> None:
    import pwd

    assert procfs.user_name(0) == pwd.getpwuid(0).pw_name
    assert procfs.user_name(4_000_000_000) == "4000000000"
    assert procfs.user_name(-1) == "-1"


# ---------------------------------------------------------------------------
# The real /proc
# ---------------------------------------------------------------------------


def own_fds() -> dict[int, FdSnapshot]:
    return {f.fd: f for f in procfs.read_fds(os.getpid(), None)}


def test_real_own_process() -> None:
    snap = procfs.read_process(os.getpid())
    assert snap is not None
    assert snap.argv == tuple(sys.orig_argv)
    assert snap.ppid == os.getppid()
    assert snap.uid == os.getuid()
    assert snap.exe == os.path.realpath(sys.executable)
    assert (threading.get_native_id(), snap.comm) in snap.threads
    with open(f"/proc/{os.getpid()}/stat", "rb") as f:
        start_ticks = int(f.read().rsplit(b")", 1)[1].split()[19])
    assert snap.start_ns == start_ticks * 1_000_000_000 // procfs.CLK_TCK

    everyone = {s.pid: s for s in procfs.bootstrap(with_fds=False)}
    assert everyone[os.getpid()].argv == tuple(sys.orig_argv)
    assert 1 in everyone


def test_real_files(tmp_path: Path) -> None:
    path = tmp_path / "opened file"
    r, w = os.pipe()
    dfd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    efd = os.eventfd(0)
    mfd = os.memfd_create("ctop-test")
    try:
        with open(path, "w") as f:
            fds = own_fds()
            assert fds[f.fileno()] == FdSnapshot(f.fileno(), "file", str(path))
        assert fds[dfd] == FdSnapshot(dfd, "directory", str(tmp_path))
        assert fds[r].kind == "pipe" and fds[w].kind == "pipe"
        assert fds[efd].kind == "event"
        assert fds[mfd].kind == "memfd" and fds[mfd].name.startswith("/memfd:ctop-test")
    finally:
        for fd in (r, w, dfd, efd, mfd):
            os.close(fd)


def test_real_tcp_listen_and_connected_pair() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        port = srv.getsockname()[1]
        fds = own_fds()
        assert fds[srv.fileno()] == FdSnapshot(
            srv.fileno(), "ipv4", f"127.0.0.1:{port}", proto="tcp", laddr="127.0.0.1",
            lport=port, raddr="0.0.0.0", rport=0, listening=True)

        with socket.create_connection(("127.0.0.1", port)) as cli:
            acc, _ = srv.accept()
            with acc:
                cport = cli.getsockname()[1]
                fds = own_fds()
                c, a = fds[cli.fileno()], fds[acc.fileno()]
                assert (c.kind, c.proto, c.listening) == ("ipv4", "tcp", False)
                assert (c.laddr, c.lport, c.raddr, c.rport) == ("127.0.0.1", cport,
                                                                "127.0.0.1", port)
                assert (a.laddr, a.lport, a.raddr, a.rport) == ("127.0.0.1", port,
                                                                "127.0.0.1", cport)
                assert c.name == f"127.0.0.1:{cport}->127.0.0.1:{port}"

                info = procfs.lookup_socket(os.getpid(), cli.fileno())
                assert info == SockInfo(procfs_inode(cli), "tcp", "ipv4", "127.0.0.1", cport,
                                        "127.0.0.1", port, "ESTABLISHED", False)
                info = procfs.lookup_socket(os.getpid(), acc.fileno())
                assert (info.lport, info.rport) == (port, cport)
                assert procfs.lookup_socket(os.getpid(), srv.fileno()).listening


def procfs_inode(sock: socket.socket) -> int:
    return os.fstat(sock.fileno()).st_ino


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback")
def test_real_tcp6_and_mapped() -> None:
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as srv:
        srv.bind(("::1", 0))
        srv.listen()
        port = srv.getsockname()[1]
        with socket.create_connection(("::1", port)) as cli:
            acc, _ = srv.accept()
            with acc:
                fds = own_fds()
                assert fds[srv.fileno()].name == f"[::1]:{port}"
                assert fds[srv.fileno()].listening
                c = fds[cli.fileno()]
                assert (c.kind, c.laddr, c.raddr, c.rport) == ("ipv6", "::1", "::1", port)
                a = procfs.lookup_socket(os.getpid(), acc.fileno())
                assert (a.family, a.laddr, a.lport) == ("ipv6", "::1", port)

    # a dual-stack socket bound to an IPv4-mapped address shows as such
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as srv:
        srv.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        srv.bind(("::ffff:127.0.0.1", 0))
        srv.listen()
        port = srv.getsockname()[1]
        f = own_fds()[srv.fileno()]
        assert (f.kind, f.laddr, f.lport, f.listening) == ("ipv6", "::ffff:127.0.0.1", port,
                                                            True)


def test_real_udp_and_unix(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, \
            socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as lst:
        udp.bind(("127.0.0.1", 0))
        udp.connect(("127.0.0.1", 9))  # connected UDP sends nothing
        path = str(tmp_path / "ctop.sock")
        lst.bind(path)
        lst.listen()
        a, b = socket.socketpair()
        with a, b:
            fds = own_fds()
            u = fds[udp.fileno()]
            assert (u.kind, u.proto, u.laddr, u.lport, u.raddr, u.rport) == (
                "ipv4", "udp", "127.0.0.1", udp.getsockname()[1], "127.0.0.1", 9)
            assert fds[lst.fileno()] == FdSnapshot(lst.fileno(), "unix", path, laddr=path,
                                                   listening=True)
            assert fds[a.fileno()].kind == "unix" and not fds[a.fileno()].listening
            assert procfs.lookup_socket(os.getpid(), lst.fileno()).path == path
            assert procfs.lookup_socket(os.getpid(), b.fileno()).state == "CONNECTED"
            assert procfs.lookup_socket(os.getpid(), udp.fileno()).proto == "udp"
    with open(__file__) as f:
        assert procfs.lookup_socket(os.getpid(), f.fileno()) is None


def test_real_sample_cpu_and_threads() -> None:
    pid = os.getpid()
    stop = threading.Event()
    tids: list[int] = []
    started = threading.Event()

    def worker() -> None:
        tids.append(threading.get_native_id())
        started.set()
        stop.wait(10)

    t = threading.Thread(target=worker)
    t.start()
    started.wait(5)
    try:
        before = procfs.sample([pid])
        assert before[0].pid == pid and before[0].tid == pid
        assert before[0].rss_bytes > 0 and before[0].threads >= 2
        assert tids[0] in {s.tid for s in before[1:]}
        assert all(s.pid == pid and s.rss_bytes == 0 for s in before[1:])
        deadline = time.process_time() + 0.3
        while time.process_time() < deadline:
            pass
        after = procfs.sample([pid], threads=False)
        assert len(after) == 1
        assert after[0].cpu_ns > before[0].cpu_ns
    finally:
        stop.set()
        t.join()

    everyone = procfs.sample()
    assert pid in {s.pid for s in everyone} and 1 in {s.pid for s in everyone}


def test_real_lookup_socket_agrees_with_tables(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The pidfd fast path and the /proc/net tables describe sockets alike."""
    socks: list[socket.socket] = []

    def keep(s: socket.socket) -> socket.socket:
        socks.append(s)
        return s

    try:
        srv = keep(socket.socket())
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        cli = keep(socket.create_connection(srv.getsockname()))
        keep(srv.accept()[0])
        keep(socket.socket(socket.AF_INET, socket.SOCK_DGRAM)).bind(("127.0.0.1", 0))
        udp = keep(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
        udp.connect(("127.0.0.1", 9))
        if ipv6_loopback():
            srv6 = keep(socket.socket(socket.AF_INET6))
            srv6.bind(("::1", 0))
            srv6.listen()
            keep(socket.create_connection(srv6.getsockname()[:2]))
            keep(srv6.accept()[0])
            keep(socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)).bind(("::1", 0))
        lst = keep(socket.socket(socket.AF_UNIX))
        lst.bind(str(tmp_path / "u.sock"))
        lst.listen()
        keep(socket.socket(socket.AF_UNIX)).connect(str(tmp_path / "u.sock"))
        keep(lst.accept()[0])
        keep(socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)).bind(b"\0ctop-test-abstract")
        keep(socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM))
        socks.extend(socket.socketpair())
        try:
            keep(socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP))
        except PermissionError:
            pass

        pid = os.getpid()
        table = procfs.read_net_sockets(pid=pid)
        slow = [procfs.lookup_socket(pid, s.fileno(), via_pidfd=False) for s in socks]

        def no_tables(path: str) -> bytes:
            raise AssertionError(f"the fast path read {path}")

        monkeypatch.setattr(procfs.sockets, "read_table", no_tables)
        fast = [procfs.lookup_socket(pid, s.fileno()) for s in socks]
        monkeypatch.undo()
        for s, f, t in zip(socks, fast, slow):
            assert f is not None
            assert f == t == table[procfs_inode(s)], s
        # our duplicate was closed, the sockets themselves still work
        cli.sendall(b"x")
        assert socks[2].recv(1) == b"x"
    finally:
        for s in socks:
            s.close()


def test_real_other_process(tmp_path: Path) -> None:
    """Another process: snapshot, socket lookup, then it vanishes."""
    import subprocess

    code = (
        "import socket, sys, time\n"
        "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()\n"
        "print(s.fileno(), s.getsockname()[1], flush=True)\n"
        "sys.stdin.read()\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code, "arg two"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        fd, port = map(int, child.stdout.readline().split())
        snap = procfs.read_process(child.pid)
        assert snap.argv == (sys.executable, "-c", code, "arg two")
        assert snap.ppid == os.getpid()
        f = {x.fd: x for x in snap.fds}[fd]
        assert (f.kind, f.lport, f.listening) == ("ipv4", port, True)
        info = procfs.lookup_socket(child.pid, fd)
        assert (info.lport, info.listening) == (port, True)
        # the child's listener is still there after the lookup
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
        assert procfs.sample([child.pid])[0].rss_bytes > 0
    finally:
        child.stdin.close()
        child.wait(10)
    assert procfs.read_process(child.pid) is None
    assert procfs.read_fds(child.pid, None) == ()
    assert procfs.sample([child.pid]) == []
    assert procfs.lookup_socket(child.pid, fd) is None
    assert child.pid not in {s.pid for s in procfs.bootstrap(with_fds=False)}


def test_real_bootstrap_under_churn() -> None:
    """Processes starting and exiting during a bootstrap never make it raise."""
    import subprocess

    stop = threading.Event()

    def churn() -> None:
        while not stop.is_set():
            subprocess.run(["true"], check=False)

    workers = [threading.Thread(target=churn) for _ in range(4)]
    for w in workers:
        w.start()
    try:
        for _ in range(5):
            snaps = procfs.bootstrap()
            assert os.getpid() in {s.pid for s in snaps}
            assert procfs.sample()
    finally:
        stop.set()
        for w in workers:
            w.join()
