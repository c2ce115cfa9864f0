"""A deterministic little system, as model events: for tests, screenshots and demos.

Three containers (web: nginx, db: postgres, cache: redis) and a few host
processes, among them one with a hostile name (an escape sequence that would
retitle a terminal) and an endless path, over ``ticks`` one-second ticks with
syscalls, file and socket I/O, errors, CPU and memory. Everything is fixed:
the same events every run, wall clock starting at ``WALL0``.
"""

from __future__ import annotations

import asyncio
import hashlib
import socket

from ctop_ebpf.model import events as ev
from ctop_ebpf.model.host import HostInfo
from ctop_ebpf.model.state import SystemState
from tests.synthetic import SyntheticSource

WALL0 = 1_750_000_000.0
TS0 = 10_000_000_000_000
SEC = 1_000_000_000

USERS = {0: "root", 33: "www-data", 999: "postgres", 1000: "alice", 1001: "redis"}

DEMO_HOST = HostInfo(hostname="demo-host", kernel="6.1.0-demo", uptime_s=3 * 86400 + 4 * 3600 + 720,
                     cpus=8, cpu_pct=23.5, mem_total=16 * 2**30, mem_available=11 * 2**30)

HOSTILE_COMM = "evil\x1b]0;PWN\x07"


def cid(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


CONTAINERS = {
    "web": ("nginx:1.27", 512 * 2**20),
    "db": ("postgres:16", 1536 * 2**20),
    "cache": ("redis:7", 256 * 2**20),
}


def user_name(uid: int) -> str:
    return USERS.get(uid, str(uid))


def demo_state() -> SystemState:
    return SystemState(user_name=user_name)


def demo_host() -> HostInfo:
    return DEMO_HOST


def _fd(fd, kind, name, **kw) -> ev.FdSnapshot:
    return ev.FdSnapshot(fd, kind, name, **kw)


def _proc(pid, ppid, comm, argv, uid=0, container="", threads=None, fds=()) -> ev.ProcSnapshot:
    return ev.ProcSnapshot(
        pid=pid, ppid=ppid, comm=comm, exe=f"/usr/bin/{comm}", argv=tuple(argv), uid=uid,
        start_ns=TS0 - pid * 1000, container_id=cid(container) if container else "",
        runtime="docker" if container else "",
        threads=tuple(threads) if threads else ((pid, comm),), fds=tuple(fds),
    )


LONG_PATH = "/srv/data/" + "very-long-directory-name/" * 6 + "file.bin"

PROCS = (
    _proc(1, 0, "systemd", ["/sbin/init"]),
    _proc(812, 1, "sshd", ["sshd: /usr/sbin/sshd -D"]),
    _proc(900, 1, "dockerd", ["/usr/bin/dockerd", "-H", "fd://"],
          threads=[(900, "dockerd"), (901, "dockerd"), (902, "dockerd")]),
    _proc(905, 1, "containerd", ["/usr/bin/containerd"]),
    _proc(1500, 812, "bash", ["-bash"], uid=1000),
    _proc(1600, 1500, "ctop-ebpf", ["/usr/bin/python3", "/usr/local/bin/ctop-ebpf"]),
    _proc(1700, 1500, HOSTILE_COMM, ["./evil", "\x1b[2J\x1b]0;PWN\x07", "--\x9b31m"], uid=1000,
          fds=[_fd(3, "file", LONG_PATH)]),
    # web
    _proc(2101, 2000, "nginx", ["nginx: master process nginx -g daemon off;"], container="web",
          fds=[_fd(6, "ipv4", "0.0.0.0:80", proto="tcp", laddr="0.0.0.0", lport=80, listening=True),
               _fd(4, "file", "/var/log/nginx/access.log")]),
    _proc(2102, 2101, "nginx", ["nginx: worker process"], uid=33, container="web",
          fds=[_fd(4, "file", "/var/log/nginx/access.log"),
               _fd(6, "ipv4", "0.0.0.0:80", proto="tcp", laddr="0.0.0.0", lport=80, listening=True)]),
    _proc(2103, 2101, "nginx", ["nginx: worker process"], uid=33, container="web",
          fds=[_fd(4, "file", "/var/log/nginx/access.log"),
               _fd(6, "ipv4", "0.0.0.0:80", proto="tcp", laddr="0.0.0.0", lport=80, listening=True)]),
    # db
    _proc(2201, 2200, "postgres", ["postgres", "-D", "/var/lib/postgresql/data"], uid=999,
          container="db",
          fds=[_fd(5, "ipv4", "0.0.0.0:5432", proto="tcp", laddr="0.0.0.0", lport=5432, listening=True),
               _fd(7, "file", "/var/lib/postgresql/data/pg_wal/000000010000000000000001")]),
    _proc(2202, 2201, "postgres", ["postgres: checkpointer"], uid=999, container="db",
          fds=[_fd(7, "file", "/var/lib/postgresql/data/base/16384/1259")]),
    _proc(2203, 2201, "postgres", ["postgres: app app 172.17.0.2(40312) idle"], uid=999,
          container="db",
          fds=[_fd(9, "ipv4", "172.17.0.3:5432->172.17.0.2:40312", proto="tcp", laddr="172.17.0.3",
                   lport=5432, raddr="172.17.0.2", rport=40312),
               _fd(10, "file", "/var/lib/postgresql/data/base/16384/2619")]),
    # cache
    _proc(2301, 2300, "redis-server", ["redis-server *:6379"], uid=1001, container="cache",
          threads=[(2301, "redis-server"), (2302, "bio_close_file"), (2303, "bio_aof")],
          fds=[_fd(6, "ipv4", "0.0.0.0:6379", proto="tcp", laddr="0.0.0.0", lport=6379, listening=True),
               _fd(8, "file", "/data/appendonly.aof")]),
)

# per process: (cpu % per tick, rss MiB, {syscall: (calls, errors, ns per call)})
LOAD = {
    1: (0.2, 12, {"epoll_wait": (4, 0, 900_000)}),
    812: (0.0, 8, {"select": (1, 0, 1_000_000)}),
    900: (1.5, 90, {"futex": (220, 12, 40_000), "epoll_pwait": (60, 0, 300_000), "read": (30, 4, 3_000)}),
    905: (0.8, 45, {"futex": (120, 0, 30_000), "nanosleep": (10, 0, 100_000)}),
    1500: (0.0, 5, {"wait4": (1, 0, 1_000)}),
    1600: (4.2, 160, {"read": (400, 0, 2_000), "write": (80, 0, 6_000), "ioctl": (90, 0, 1_500),
                      "openat": (12, 1, 8_000)}),
    1700: (1.0, 3, {"openat": (40, 38, 5_000), "read": (20, 0, 1_000)}),
    2101: (0.3, 10, {"epoll_wait": (5, 0, 200_000), "rt_sigsuspend": (1, 0, 1_000)}),
    2102: (12.5, 24, {"epoll_wait": (900, 0, 20_000), "accept4": (300, 40, 3_000),
                      "recvfrom": (600, 0, 2_500), "sendfile": (300, 0, 9_000),
                      "openat": (300, 25, 4_000), "write": (300, 0, 5_000), "close": (600, 0, 800)}),
    2103: (9.8, 22, {"epoll_wait": (700, 0, 22_000), "accept4": (240, 35, 3_000),
                     "recvfrom": (480, 0, 2_500), "sendfile": (240, 0, 9_000),
                     "openat": (240, 20, 4_000), "write": (240, 0, 5_000), "close": (480, 0, 800)}),
    2201: (2.1, 180, {"select": (10, 0, 90_000), "kill": (2, 0, 3_000)}),
    2202: (0.5, 60, {"fsync": (3, 0, 4_000_000), "pwrite64": (40, 0, 30_000)}),
    2203: (18.0, 240, {"recvfrom": (800, 120, 2_000), "sendto": (800, 0, 6_000),
                       "pread64": (1500, 0, 12_000), "lseek": (900, 0, 500)}),
    2301: (6.4, 96, {"epoll_wait": (1000, 0, 10_000), "read": (1200, 300, 1_500),
                     "write": (1200, 0, 3_000), "openat": (1, 0, 9_000)}),
}

ERRNOS = {
    2102: (("openat", 2, 25), ("accept4", 11, 40)),
    2103: (("openat", 2, 20), ("accept4", 11, 35)),
    1700: (("openat", 13, 30), ("openat", 2, 8)),
    1600: (("openat", 2, 1),),
    900: (("futex", 110, 12), ("read", 11, 4)),
    2203: (("recvfrom", 11, 120),),
    2301: (("read", 11, 300),),
}


def _tick_events(i: int, fds_io: list[ev.FdIO]) -> ev.Tick:
    wobble = (i % 3) - 1  # -1, 0, 1: values move a little from tick to tick
    syscalls, errnos, samples = [], [], []
    for pid, (cpu, rss, calls) in LOAD.items():
        for name, (n, errs, ns) in calls.items():
            scaled = max(0, n + wobble * (n // 10))
            syscalls.append(ev.SyscallStat(pid, pid, name, scaled, min(errs, scaled), scaled * ns))
        cpu_ns = int((i + 1) * cpu * SEC / 100)
        samples.append(ev.ProcSample(pid, pid, cpu_ns, rss * 2**20, 1))
    for pid, entries in ERRNOS.items():
        for name, code, count in entries:
            errnos.append(ev.ErrnoStat(pid, name, code, count))
    containers = []
    cpu = {"web": 22.6, "db": 20.6, "cache": 6.4}
    for name, (image, mem) in CONTAINERS.items():
        containers.append(ev.ContainerInfo(
            id=cid(name), runtime="docker", name=name, image=image,
            labels=(("com.docker.compose.project", "demo"),), state="running",
            cpu_ns=int((i + 1) * cpu[name] * SEC / 100), memory_bytes=mem + i * 2**20,
        ))
    return ev.Tick(ts=TS0 + (i + 1) * SEC, wall=WALL0 + i + 1, interval_s=1.0 if i else 0.0,
                   syscalls=tuple(syscalls), errnos=tuple(errnos), fdio=tuple(fds_io),
                   samples=tuple(samples), containers=tuple(containers),
                   lost=0, events=4000 + 250 * wobble)


def _io(i: int) -> list[ev.FdIO]:
    k = 1 + (i % 3) / 10
    return [
        ev.FdIO(2102, 4, 0, int(120_000 * k), 0, 300),
        ev.FdIO(2103, 4, 0, int(96_000 * k), 0, 240),
        ev.FdIO(2201, 7, 0, int(2_400_000 * k), 0, 40),
        ev.FdIO(2202, 7, int(8_192_000 * k), 0, 1000, 0),
        ev.FdIO(2203, 9, int(400_000 * k), int(1_600_000 * k), 800, 800),
        ev.FdIO(2203, 10, int(12_000_000 * k), 0, 1500, 0),
        ev.FdIO(2301, 8, 0, int(3_000_000 * k), 0, 1200),
        ev.FdIO(2301, 11, int(900_000 * k), int(2_000_000 * k), 1200, 1200),
        ev.FdIO(1700, 3, int(64_000 * k), 0, 20, 0),
        ev.FdIO(1600, 0, 2_000, 0, 400, 0),
    ]


def _activity(i: int) -> list:
    ts = TS0 + i * SEC
    out: list = []
    # nginx serves a page: open, accept a client, close
    out.append(ev.Open(ts + 10, 2102, 2102, "openat", "/usr/share/nginx/html/index.html", 0, 12))
    out.append(ev.Close(ts + 20, 2102, 2102, 12, 0, bytes_read=4_096 * (1 + i % 2), reads=2))
    out.append(ev.Open(ts + 30, 2103, 2103, "openat", "/usr/share/nginx/html/favicon.ico", 0, -2))
    out.append(ev.Open(ts + 40, 1700, 1700, "openat", "/etc/shadow", 0, -13))
    out.append(ev.Open(ts + 50, 1600, 1600, "openat", "/proc/stat", 0, 7))
    out.append(ev.Close(ts + 60, 1600, 1600, 7, 0, bytes_read=3_200, reads=1))
    if i == 0:
        # redis accepts a client; postgres' client socket is already in the snapshot
        out.append(ev.SockAddr(ts + 70, 2301, 2301, "accept", 6, 11, socket.AF_INET,
                               "172.17.0.4", 6379, "172.17.0.2", 51820))
        out.append(ev.SockAddr(ts + 80, 2102, 2102, "accept", 6, 13, socket.AF_INET,
                               "172.17.0.2", 80, "10.0.0.5", 51234))
    if i == 2:
        out.append(ev.Fork(ts + 100, 1500, 1800, 1800, False, "bash", 0))
        out.append(ev.Exec(ts + 110, 1800, 1800, 1000, "ls", "/usr/bin/ls", ("ls", "-la", "/etc"),
                           False, 0))
        out.append(ev.Open(ts + 120, 1800, 1800, "openat", "/etc", 0o200000, 3))
        out.append(ev.Close(ts + 130, 1800, 1800, 3, 0))
        out.append(ev.Exit(ts + 140, 1800, 1800, 0))
    return out


def demo_batches(ticks: int = 5) -> list[list]:
    """The events: a /proc snapshot, then per tick the activity and the Tick."""
    batches: list[list] = [list(PROCS)]
    for i in range(ticks):
        io = _io(i)
        if i >= 1:
            io.append(ev.FdIO(2102, 13, 8_000 * (1 + i % 2), 160_000 * (1 + i % 2), 10, 20))
        batches.append(_activity(i) + [_tick_events(i, io)])
    return batches


def demo_source(ticks: int = 5, delay: float = 0.0) -> SyntheticSource:
    return SyntheticSource(demo_batches(ticks), delay=delay)


class ManualSource:
    """An EventSource fed by hand (``put(batch)``, ``end()``): tests drive ticks one by one."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue = asyncio.Queue()
        self.closed = False

    def put(self, batch) -> None:
        self._queue.put_nowait(list(batch))

    def end(self) -> None:
        self._queue.put_nowait(None)

    async def events(self):
        while not self.closed:
            batch = await self._queue.get()
            if batch is None:
                return
            yield batch

    async def aclose(self) -> None:
        self.closed = True


def tick(i: int, **fields) -> ev.Tick:
    """A bare tick number ``i`` (one second after the previous one)."""
    fields.setdefault("interval_s", 1.0)
    return ev.Tick(ts=TS0 + (i + 1) * SEC, wall=WALL0 + i + 1, **fields)
