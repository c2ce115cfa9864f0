"""LiveSource: the bcc probes as an EventSource.

One dedicated thread owns the BPF object (bcc is not thread-safe): it polls
the per-CPU perf buffers and, at each tick deadline, drains the kernel
aggregate maps with batch lookup-and-delete while a second thread samples
/proc. The BPF thread hands what it read to the asyncio side in batches, at
most every HANDOVER_S and at each tick (one wake-up of the event loop per
batch, not per poll), so the event loop never blocks and the model is only
touched from the loop's thread.

Host lookups that a replay could not redo (relative paths, local socket
addresses, container ids, /proc samples) happen here, so that what reaches
the model, and what a capture records, is complete.
"""

from __future__ import annotations

import asyncio
import ctypes
import operator
import os
import signal
import struct
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from ctop_ebpf.model import events as ev
from ctop_ebpf.model.events import ErrnoStat, FdIO, SyscallStat
from ctop_ebpf.probes import procfs
from ctop_ebpf.probes.procfs.sampler import ProcSampler

from . import loader
from .decode import AT_FDCWD, Decoder, Flush, OpenRaw
from .maps import BatchDrain
from .syscall_numbers import syscall_names

# The aggregate maps (struct formats of key and value, index of the key's
# tick parity), as the C structs in probes/bpf/ lay them out; BatchDrain
# checks the sizes against the compiled program.
MAP_LAYOUTS: dict[str, tuple[str, str, int]] = {
    "sc_stats": ("=IIII", "=QQQ", 3),  # pid, tid, nr, par -> calls, errors, total_ns
    "errno_stats": ("=IIiI", "=Q", 3),  # pid, nr, err, par -> count
    "fdio": ("=IiII", "=QQQQ", 2),  # pid, fd, par, pad -> bytes read/written, reads, writes
    "active": ("=II", "=B", 1),  # pid, par -> 1
    "fdstate": ("=IiII", "=QQIIQQQQ", 2),  # pid, fd, par, pad -> hash, repeats, flags, open, io
    "openfail": ("=IiQII", "=Q", 3),  # pid, err, hash, par, pad -> count
}

POLL_MS = 100
HANDOVER_S = 0.1  # events read are handed to the event loop at least this often
RECONCILE_EVERY = 10  # ticks between /proc reconciliations
RESYNC_MIN_S = 2.0  # after lost events, a full /proc resync at most this often
WATERMARK_NS = 2_000_000  # events newer than this wait for the next read
# after flipping the tick parity, before draining the old one: 5 ms past the
# last moment a program may still write it (LATE_FLUSH_NS in common.h)
FLIP_GRACE_S = 0.025


def _block_stop_signals() -> None:
    """In the source's threads: SIGINT, SIGTERM and SIGHUP go to the main
    thread, whose event loop acts on them, never to a thread busy in bcc."""
    signal.pthread_sigmask(signal.SIG_BLOCK, (signal.SIGINT, signal.SIGTERM, signal.SIGHUP))


class _End:
    """The BPF thread has stopped (after aclose, or a failure it handed over)."""


_event_ts = operator.attrgetter("ts")  # every streamed event has one


@dataclass(slots=True)
class Drained:
    """What the BPF thread took out of the kernel at a tick flip; the /proc
    thread completes it into the tick's ``Tick`` (see ``_tick_proc``)."""

    ts: int  # the flip, CLOCK_MONOTONIC ns
    wall: float  # the flip, time.time()
    syscalls: tuple[ev.SyscallStat, ...]
    errnos: tuple[ev.ErrnoStat, ...]
    fdio: tuple[ev.FdIO, ...]
    closes: tuple[tuple[int, int], ...]  # (pid, fd) closed, folded in the kernel
    lost: int
    events: int
    # the processes that made a syscall in the tick; None: the kernel's map
    # was full, read every process's /proc stat
    active: set[int] | None


class LiveSource:
    """Events from the running kernel. Needs root, bcc and a BPF kernel."""

    def __init__(
        self,
        interval: float = 1.0,
        *,
        buffer_pages: int = 256,
        containers=None,
        proc_root: str = "/proc",
        sample_threads: bool = True,
        progress=None,
        scope=None,
    ) -> None:
        if buffer_pages <= 0 or buffer_pages & (buffer_pages - 1):
            raise ValueError("buffer_pages must be a power of two")
        self.interval = interval
        self.buffer_pages = buffer_pages
        self.containers = containers
        self.proc_root = proc_root
        self.sample_threads = sample_threads
        self.progress = progress or (lambda message: None)
        self._thread: threading.Thread | None = None
        self._drains: dict[str, BatchDrain] = {}
        self._proc_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ctop-proc",
                                                 initializer=_block_stop_signals)
        self._bpf = None
        self._decoder = Decoder()
        self._pending: list = []
        self._held: list = []  # read, but newer than the watermark
        self._lost = 0
        self._received = 0
        self._known: set[int] = set()
        self._names = syscall_names()
        self._sampler = ProcSampler(proc_root, threads=sample_threads)
        self._closed = False
        self._ticks = 0
        self._last_resync = 0.0
        self._gen = 0
        # the kernel side of the filter (views.pushdown.KernelScope), if any
        self.scope = scope
        self._watch_cgroups: set[int] = set()
        self._want_cgroups: set[int] = set()
        # (pid, path hash) -> (path, flags, syscall) of this tick's and the last tick's opens
        self._paths: dict = {}
        self._paths_before: dict = {}

    # ---- runs in the BPF thread ----------------------------------------

    def _open(self) -> list:
        # Docker is asked for names in its own thread while bcc compiles
        # (the compile releases the GIL)
        if self.containers is not None:
            self.containers.start()
        self.progress("compiling and attaching the BPF programs")
        self._bpf = loader.load()
        self._bpf["events"].open_perf_buffer(
            self._on_sample, page_cnt=self.buffer_pages, lost_cb=self._on_lost
        )
        self._apply_scope()
        self.progress("reading /proc")
        snaps = procfs.bootstrap(self.proc_root, resolve_container=self._resolve_pid)
        self._known = {s.pid for s in snaps}
        return snaps

    def _scope_cgroups(self, containers) -> set[int]:
        """Cgroup ids of the containers the scope names (names resolved now)."""
        if self.containers is None or self.scope is None:
            return set()
        ids = set(self.scope.container_ids)
        if self.scope.container_names:
            for info in containers:
                if info.name in self.scope.container_names or info.id[:12] in self.scope.container_names:
                    ids.add(info.id)
        return self.containers.cgroup_ids(ids)

    def _apply_scope(self) -> None:
        """BPF thread: set the watch mode and bring the watched sets up to date."""
        scope = self.scope
        if scope is None:
            return
        mode = self._bpf["watch_mode"]
        if scope.pids:
            table = self._bpf["watch_pids"]
            for pid in scope.pids:
                table[ctypes.c_uint(pid)] = ctypes.c_ubyte(1)
            mode[ctypes.c_int(0)] = ctypes.c_uint(2)
            return
        if not self._want_cgroups and self.containers is not None:
            self._want_cgroups = self._scope_cgroups(self.containers.snapshot())
        table = self._bpf["watch_cgroups"]
        for cg in self._want_cgroups - self._watch_cgroups:
            table[ctypes.c_ulonglong(cg)] = ctypes.c_ubyte(1)
        for cg in self._watch_cgroups - self._want_cgroups:
            table.pop(ctypes.c_ulonglong(cg), None)
        self._watch_cgroups = set(self._want_cgroups)
        mode[ctypes.c_int(0)] = ctypes.c_uint(1)

    def _resolve_pid(self, pid: int):
        if self.containers is None:
            return None
        ref = self.containers.for_pid(pid)
        return (ref.id, ref.runtime) if ref else None

    def _on_lost(self, count: int) -> None:
        self._lost += count

    def _on_sample(self, cpu, data, size) -> None:
        self._received += 1
        decoded = self._decoder.decode(ctypes.string_at(data, size))
        if decoded is None:
            return
        kind = type(decoded)
        if kind is OpenRaw:
            e = self._absolute_open(decoded.event, decoded.dirfd)
            self._paths[(e.pid, decoded.path_hash)] = (e.path, e.flags, e.syscall)
            self._pending.append(e)
            return
        if kind is Flush:
            self._pending.extend(self._flushed(decoded))
            return
        if kind is ev.Exec:
            decoded = self._attribute_exec(decoded)
            self._known.add(decoded.pid)
        elif kind is ev.Fork and not decoded.is_thread:
            self._known.add(decoded.pid)
        elif kind is ev.SockAddr:
            decoded = self._complete_sockaddr(decoded)
        self._pending.append(decoded)

    def _path_of(self, pid: int, path_hash: int) -> tuple[str, int, str]:
        found = self._paths.get((pid, path_hash)) or self._paths_before.get((pid, path_hash))
        return found or (f"<unknown path {path_hash:016x}>", 0, "")

    def _flushed(self, f: Flush) -> list:
        out = []
        if f.repeats or f.reads or f.writes:
            path, flags, syscall = self._path_of(f.pid, f.path_hash)
            out.append(ev.OpenRepeat(f.ts, f.pid, path, flags, f.fd, f.repeats, syscall,
                                     f.bytes_read, f.bytes_written, f.reads, f.writes))
        if not f.still_open:
            out.append(ev.Close(f.ts, f.pid, f.tid, f.fd, 0))
        return out

    def _folded_opens(self, ts: int, fdstate, openfail) -> tuple[list, tuple]:
        """Turn the kernel's folded opens into events and the fds they closed."""
        events, closes = [], []
        for (pid, fd, _, _), (phash, repeats, _, is_open, rb, wb, rn, wn) in fdstate:
            if repeats or rn or wn:
                path, flags, syscall = self._path_of(pid, phash)
                events.append(ev.OpenRepeat(ts, pid, path, flags, fd, repeats, syscall, rb, wb, rn, wn))
            if not is_open:
                closes.append((pid, fd))
        for (pid, err, phash, _, _), (count,) in openfail:
            if count:
                path, flags, syscall = self._path_of(pid, phash)
                events.append(ev.OpenRepeat(ts, pid, path, flags, -err, count, syscall))
        return events, tuple(closes)

    def _absolute_open(self, e: ev.Open, dirfd: int) -> ev.Open:
        path = e.path
        if path.startswith("/") or not path:
            return e
        base = f"{self.proc_root}/{e.pid}/cwd" if dirfd == AT_FDCWD else f"{self.proc_root}/{e.pid}/fd/{dirfd}"
        try:
            base_path = os.readlink(base)
        except OSError:
            return e
        return replace(e, path=os.path.normpath(os.path.join(base_path, path)))

    def _attribute_exec(self, e: ev.Exec) -> ev.Exec:
        if self.containers is None:
            return e
        ref = self.containers.for_cgroup_id(e.cgroup_id) if e.cgroup_id > 1 else None
        if ref is None:
            ref = self.containers.for_pid(e.pid)
        if ref is None:
            return e
        return replace(e, container_id=ref.id, runtime=ref.runtime)

    def _complete_sockaddr(self, e: ev.SockAddr) -> ev.SockAddr:
        """Fill the local end of accepted and UDP-connected sockets from /proc/net."""
        fd = e.result if e.op == "accept" else e.fd
        needs_local = (
            e.op in ("accept", "connect", "bind")
            and e.family in (2, 10)
            and (e.result >= 0 or e.result == -115)
            and (not e.lport or (e.op != "bind" and e.laddr in ("", "0.0.0.0", "::")))
        )
        if not needs_local or fd < 0:
            return e
        info = procfs.lookup_socket(e.pid, fd, self.proc_root)
        if info is None:
            return e
        return replace(e, laddr=info.laddr, lport=info.lport)

    def _take_pending(self, upto: int) -> list:
        """Events up to kernel time ``upto``, in time order. Each CPU has its
        own buffer, read one after the other: an event written on one CPU
        after its buffer was read can be older than one read from the next
        CPU (a thread that accepted on CPU 0 and closed on CPU 1). So the
        newest events wait for the next read, where their elders will be."""
        events = self._held + self._pending
        self._pending = []
        events.sort(key=_event_ts)
        cut = len(events)
        while cut and _event_ts(events[cut - 1]) > upto:
            cut -= 1
        self._held = events[cut:]
        return events[:cut]

    def _poll(self, timeout_ms: int) -> list:
        # everything stamped before this moment (less the time a program in
        # flight takes to write its event) is in the buffers once read
        watermark = time.monotonic_ns() - WATERMARK_NS
        self._bpf.perf_buffer_poll(timeout_ms)
        return self._take_pending(watermark)

    def _drain_map(self, name: str, par: int) -> list[tuple[tuple, tuple]]:
        """Take the entries of one tick parity out of a map (see common.h), as
        (key fields, value fields) tuples in the layouts of MAP_LAYOUTS."""
        drain = self._drains.get(name)
        if drain is None:
            key, value, par_at = MAP_LAYOUTS[name]
            table = self._bpf[name]
            drain = self._drains[name] = BatchDrain(table, key, value, par_at)
        try:
            return drain.drain(par)
        except OSError:  # a kernel without batch map operations
            return self._drain_slowly(name, par)

    def _drain_slowly(self, name: str, par: int) -> list[tuple[tuple, tuple]]:
        """The same one entry at a time (kernels before 5.6 have no batch ops)."""
        key, value, par_at = MAP_LAYOUTS[name]
        table = self._bpf[name]
        key_s, value_s = struct.Struct(key), struct.Struct(value)
        items = []
        for k, v in table.items():
            kf = key_s.unpack(bytes(k))
            if kf[par_at] == par:
                items.append((k, (kf, value_s.unpack(bytes(v)))))
        for k, _ in items:
            table.pop(k, None)
        return [entry for _, entry in items]

    def _tick_drain(self) -> tuple[list, Drained]:
        """BPF thread, at the tick: drain the maps, then the buffers."""
        names = self._names
        self._apply_scope()
        # a new generation: programs now write the other parity, and every
        # thread hands its cached syscall counts over at its next syscall
        self._gen = (self._gen + 1) & 0xFFFFFFFF
        flip_ts = time.monotonic_ns()  # the same clock as bpf_ktime_get_ns
        flip_wall = time.time()
        self._bpf["tick_flip_ns"][ctypes.c_int(0)] = ctypes.c_ulonglong(flip_ts)  # before the flip
        self._bpf["tick_gen"][ctypes.c_int(0)] = ctypes.c_uint(self._gen)
        # programs that read the old parity finish; the buffers are read
        # meanwhile (what arrives after flip_ts waits for the next tick)
        deadline = time.monotonic() + FLIP_GRACE_S
        while (left := deadline - time.monotonic()) > 0:
            self._bpf.perf_buffer_poll(max(1, int(left * 1000)))
        par = (self._gen - 1) & 1
        syscalls = tuple(
            SyscallStat(pid, tid, names.get(nr) or f"syscall_{nr}", calls, errors, total_ns)
            for (pid, tid, nr, _), (calls, errors, total_ns) in self._drain_map("sc_stats", par)
        )
        errnos = tuple(
            ErrnoStat(pid, names.get(nr) or f"syscall_{nr}", err, count)
            for (pid, nr, err, _), (count,) in self._drain_map("errno_stats", par)
        )
        fdio = tuple(
            FdIO(pid, fd, *io)
            for (pid, fd, _, _), io in self._drain_map("fdio", par)
            if io[2] or io[3]  # reads or writes (entries of folded fds are zeroed at close)
        )
        active: set[int] | None = {k[0] for k, _ in self._drain_map("active", par)}
        full = self._bpf["active_full"]
        if full[ctypes.c_int(0)].value:
            full[ctypes.c_int(0)] = ctypes.c_uint(0)
            active = None
        folded_maps = (self._drain_map("fdstate", par), self._drain_map("openfail", par))
        # events emitted before the flip are in the buffers now; later ones
        # belong to the next tick (the model must see the fd tables as they
        # were at the flip to attribute the drained I/O)
        self._bpf.perf_buffer_poll(0)
        out = self._take_pending(flip_ts)
        # (later events stay in self._held for the next read)
        folded, closes = self._folded_opens(flip_ts, *folded_maps)
        out.extend(folded)
        self._paths_before, self._paths = self._paths, {}
        overflow_table = self._bpf["overflows"]
        overflows = sum(overflow_table[ctypes.c_int(0)])
        overflow_table.clear()
        lost = self._lost + overflows + self._decoder.bad
        self._lost = 0
        self._decoder.bad = 0
        received, self._received = self._received, 0
        return out, Drained(flip_ts, flip_wall, syscalls, errnos, fdio, closes, lost, received, active)

    def _tick_proc(self, drained: Drained) -> tuple[list, ev.Tick]:
        """/proc thread, while the BPF thread keeps reading: samples,
        processes never seen start, container state."""
        out = []
        samples, present = self._sampler.sample(drained.active)
        self._ticks += 1
        now = time.monotonic()
        if drained.lost and now - self._last_resync >= RESYNC_MIN_S:
            # events were lost: the model may hold wrong names or fd tables;
            # a full /proc snapshot heals it (rate-limited under sustained loss)
            self._last_resync = now
            snaps = procfs.bootstrap(self.proc_root, resolve_container=self._resolve_pid)
            out.extend(snaps)
            self._known = {snap.pid for snap in snaps}
        else:
            # processes we never saw start (raced with bootstrap, or lost)
            if self._ticks % RECONCILE_EVERY == 0:
                self._known &= set(present)
            for s in samples:  # (a process never read before is always read)
                if s.tid == s.pid and s.pid not in self._known:
                    snap = procfs.read_process(s.pid, self.proc_root, resolve_container=self._resolve_pid)
                    if snap is not None:
                        out.append(snap)
                    self._known.add(s.pid)
        containers = tuple(self.containers.snapshot()) if self.containers is not None else ()
        if self.scope is not None and self.scope.by_container:
            self._want_cgroups = self._scope_cgroups(containers)
        return out, ev.Tick(
            ts=drained.ts, wall=drained.wall, interval_s=self.interval, syscalls=drained.syscalls,
            errnos=drained.errnos, fdio=drained.fdio, samples=tuple(samples), containers=containers,
            lost=drained.lost, events=drained.events, closes=drained.closes, present=present,
        )

    def _tick(self) -> list:
        """Both halves in one thread (start-up, when nothing else runs)."""
        out, drained = self._tick_drain()
        more, t = self._tick_proc(drained)
        return out + more + [t]

    def _close(self) -> None:
        if self._bpf is not None:
            self._bpf.cleanup()
            self._bpf = None
        if self.containers is not None:
            self.containers.stop()

    def _run(self, hand_over) -> None:
        """The BPF thread: open, then read until closed; ``hand_over(batch)``
        gives the event loop a batch of events (or the failure that ended
        the run, or _End)."""
        _block_stop_signals()
        try:
            snaps = self._open()
            # a first tick right away gives CPU baselines and empties the maps
            first = self._tick()
            at = next(i for i, e in enumerate(first) if type(e) is ev.Tick)
            hand_over(snaps + first[:at])
            hand_over([replace(first[at], interval_s=0.0, syscalls=(), errnos=(), fdio=(), lost=0,
                               events=0)])
            pending = first[at + 1:]
            deadline = time.monotonic() + self.interval
            handover = time.monotonic() + HANDOVER_S
            while not self._closed:
                now = time.monotonic()
                if now >= deadline:
                    if pending:
                        hand_over(pending)
                    out, drained = self._tick_drain()
                    # /proc is sampled in its own thread while this one keeps
                    # reading (what it reads meanwhile belongs to the next tick)
                    sampling = self._proc_executor.submit(self._tick_proc, drained)
                    pending = []
                    while not sampling.done() and not self._closed:
                        pending.extend(self._poll(10))
                    more, t = sampling.result()
                    hand_over(out + more + [t])
                    deadline += self.interval
                    if deadline < now:  # fell behind: do not fire a burst of ticks
                        deadline = now + self.interval
                    handover = time.monotonic() + HANDOVER_S
                    continue
                timeout = min(POLL_MS, max(1, int((min(deadline, handover) - now) * 1000)))
                pending.extend(self._poll(timeout))
                if pending and time.monotonic() >= handover:
                    hand_over(pending)
                    pending = []
                    handover = time.monotonic() + HANDOVER_S
        except BaseException as exc:  # noqa: BLE001 - handed to the event loop, raised there
            hand_over(exc)
        finally:
            try:
                self._close()
            finally:
                hand_over(_End())

    # ---- the asyncio side ----------------------------------------------

    async def events(self):
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()

        def hand_over(item) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the loop has closed: nobody is listening any more
                pass

        self._thread = threading.Thread(target=self._run, args=(hand_over,), name="ctop-bpf",
                                        daemon=True)
        self._thread.start()
        while True:
            item = await queue.get()
            if type(item) is _End:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    async def aclose(self) -> None:
        """Stop reading; the BPF thread detaches the probes (it owns them)
        and ends within a poll."""
        self._closed = True
        thread = self._thread
        try:
            if thread is not None:
                while thread.is_alive():
                    await asyncio.sleep(0.01)
            else:
                self._close()
        finally:
            self._proc_executor.shutdown(wait=False)
