"""--metrics-addr: the headless agent that serves /metrics to Prometheus.

The live pipeline runs as in batch mode (kernel push-down of a container or
pid filter included); each tick's records are folded into per-container
totals (ctop_ebpf.metrics) and published as an immutable snapshot. HTTP
threads serve the current snapshot: Prometheus text by default,
OpenMetrics when the Accept header asks, gzip when accepted. A scrape
never touches the model, so a slow, hung or vanished scraper cannot hold
up a tick or another scrape; each snapshot is rendered once per format.

Exit codes: 0 stopped by SIGINT/SIGTERM/SIGHUP (probes detached), 2 an
address that cannot be bound (in use, not on this host, not allowed) or
other bad input, 3 missing privilege or kernel support.
"""

from __future__ import annotations

import asyncio
import gzip
import platform
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from prometheus_client import ProcessCollector
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
)
from prometheus_client.exposition import choose_encoder, gzip_accepted
from prometheus_client.utils import floatToGoString

from ctop_ebpf.capture.format import CaptureError
from ctop_ebpf.gc_policy import configure_gc
from ctop_ebpf.metrics import families as F
from ctop_ebpf.metrics.totals import MetricsTotals, Snapshot
from ctop_ebpf.model.source import run_pipeline
from ctop_ebpf.probes.errors import ProbeError
from ctop_ebpf.views.loss import HINT_EVERY_S, loss_hint

from . import __version__
from .exit_codes import EXIT_OK, EXIT_USAGE
from .session import Session, UsageError
from .stopping import finalise, interrupt_on_signals, stop_on_signals

TEXT = [("Content-Type", "text/plain; charset=utf-8")]
REQUEST_TIMEOUT_S = 10.0  # a scraper that sends nothing, or reads nothing, for this long is dropped
MAX_CONNECTIONS = 128  # connections served at once (a thread each); more are closed at once
_FAMILY_TYPES = {"counter": CounterMetricFamily, "gauge": GaugeMetricFamily}


def build_info() -> dict[str, str]:
    return {"version": __version__, "python": platform.python_version(), "kernel": platform.release()}


# ---- the exposition ---------------------------------------------------------


class _SnapshotCollector:
    """prometheus_client's view of one snapshot (plus the agent's own process)."""

    def __init__(self, snap: Snapshot, process: ProcessCollector) -> None:
        self.snap = snap
        self.process = process

    def collect(self):
        snap = self.snap
        for fam, samples in snap.families:
            metric = _FAMILY_TYPES[fam.kind](fam.name, fam.help, labels=fam.labels)
            for s in samples:
                metric.add_metric(s.labels, s.value)
            yield metric
        hist = HistogramMetricFamily(F.TICK_SECONDS.name, F.TICK_SECONDS.help)
        hist.add_metric([], [(floatToGoString(b), n) for b, n in snap.tick.buckets], snap.tick.sum)
        yield hist
        yield InfoMetricFamily(F.BUILD.name, F.BUILD.help, value=snap.build)
        yield from self.process.collect()


class Exposition:
    """The current snapshot, rendered on demand and cached per format until the next tick."""

    def __init__(self, snapshot: Snapshot) -> None:
        self._snap = snapshot
        self._process = ProcessCollector(registry=None)
        self._lock = threading.Lock()
        self._cache: dict[tuple, bytes] = {}
        self._cache_seq = -1
        self.scrapes = 0
        self.last_publish = time.monotonic()
        self.started = self.last_publish

    def publish(self, snapshot: Snapshot) -> None:
        self._snap = snapshot  # one reference swap: a scrape sees the old or the new one
        self.last_publish = time.monotonic()

    def render(self, accept: str | None, accept_encoding: str | None) -> tuple[bytes, list[tuple[str, str]]]:
        encoder, content_type = choose_encoder(accept or "")
        zipped = gzip_accepted(accept_encoding or "")
        snap = self._snap
        key = (content_type, zipped)
        with self._lock:
            if self._cache_seq != snap.seq:
                self._cache, self._cache_seq = {}, snap.seq
            body = self._cache.get(key)
            if body is None:
                body = encoder(_SnapshotCollector(snap, self._process))
                if zipped:
                    body = gzip.compress(body, compresslevel=5)
                self._cache[key] = body
            self.scrapes += 1
        headers = [("Content-Type", content_type)]
        if zipped:
            headers.append(("Content-Encoding", "gzip"))
        return body, headers

    def health(self, delay: float) -> tuple[bool, str]:
        """Live when ticks come: the last one is recent (or the probes are still starting)."""
        now = time.monotonic()
        if self._snap.seq == 0:
            return now - self.started < 120, f"starting for {now - self.started:.0f} s\n"
        age = now - self.last_publish
        return age < max(10.0, 5 * delay), f"last tick {age:.1f} s ago\n"


# ---- the HTTP server ----------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    server_version = f"ctop-ebpf/{__version__}"
    protocol_version = "HTTP/1.1"  # keep-alive for Prometheus, with Content-Length
    timeout = REQUEST_TIMEOUT_S

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._serve(body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._serve(body=False)

    def _serve(self, body: bool) -> None:
        server: MetricsServer = self.server  # type: ignore[assignment]
        path = urlsplit(self.path).path
        if path == "/metrics":
            data, headers = server.exposition.render(
                self.headers.get("Accept"), self.headers.get("Accept-Encoding")
            )
            self._reply(200, data, headers, body)
        elif path == "/healthz":
            ok, text = server.exposition.health(server.delay)
            self._reply(200 if ok else 503, text.encode(), TEXT, body)
        elif path == "/":
            text = b"ctop-ebpf agent: metrics at /metrics, liveness at /healthz\n"
            self._reply(200, text, TEXT, body)
        else:
            self._reply(404, b"not found\n", TEXT, body)

    def _reply(self, code: int, data: bytes, headers: list[tuple[str, str]], body: bool) -> None:
        self.send_response(code)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body:
            self.wfile.write(data)

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        """Requests are not logged."""


class MetricsServer(ThreadingHTTPServer):
    """An HTTP server bound at construction (OSError when it cannot be)."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, host: str, port: int, exposition: Exposition, delay: float = 1.0) -> None:
        self.exposition = exposition
        self.delay = delay
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self.address_family = _family(host, port)
        super().__init__((host, port), _Handler)
        self._thread: threading.Thread | None = None

    def process_request(self, request, client_address) -> None:
        if not self._slots.acquire(blocking=False):
            self.shutdown_request(request)  # too many at once: this one is turned away
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request, client_address) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):  # the scraper hung up or timed out: its business
            return
        print(f"ctop-ebpf: error serving {client_address[0]}: {exc!r}", file=sys.stderr, flush=True)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{f'[{host}]' if ':' in host else host}:{port}/metrics"

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.2}, name="ctop-metrics", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        if self._thread is not None:
            self.shutdown()
            self._thread = None
        self.server_close()


def _family(host: str, port: int) -> socket.AddressFamily:
    """The address family of ``host`` (a name is resolved: its first address)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise OSError(exc.errno, f"cannot resolve {host!r}: {exc.strerror}") from None
    return infos[0][0]


def bind(session: Session, exposition: Exposition) -> MetricsServer:
    """The server for --metrics-addr, bound; UsageError (exit 2) with the reason when it cannot be."""
    host, port = session.metrics_addr
    shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        return MetricsServer(host, port, exposition, session.delay)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise UsageError(f"cannot serve metrics on {shown}: {reason}") from None


# ---- the run --------------------------------------------------------------------


def run_agent(session: Session) -> int:
    totals = MetricsTotals(session.query, per_syscall=session.metrics_syscalls, build=build_info())
    exposition = Exposition(totals.snapshot())
    try:
        server = bind(session, exposition)  # before the probes: a bad address fails fast
    except UsageError as exc:
        print(f"ctop-ebpf: {exc}", file=sys.stderr)
        return EXIT_USAGE
    holder: dict = {}
    interrupt_on_signals()  # a stop from here on is an orderly one
    try:
        session.preflight()
        configure_gc()
        server.start()
        print(f"ctop-ebpf: serving metrics on {server.url}", file=sys.stderr, flush=True)
        return asyncio.run(_run(session, holder, totals, exposition, server))
    except ProbeError as exc:
        print(f"ctop-ebpf: {exc}", file=sys.stderr)
        return exc.exit_code
    except UsageError as exc:
        print(f"ctop-ebpf: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_OK
    finally:
        server.close()
        finalise(session, holder)


class _TimedState:
    """The model as run_pipeline drives it, timing each tick's fold."""

    def __init__(self, state) -> None:
        self.apply = state.apply
        self._end_tick = state.end_tick
        self.last_s = 0.0

    def end_tick(self, tick):
        t0 = time.perf_counter()
        records = self._end_tick(tick)
        self.last_s = time.perf_counter() - t0
        return records


async def _run(
    session: Session, holder: dict, totals: MetricsTotals, exposition: Exposition, server: MetricsServer
) -> int:
    from .recording import terminal_warner  # noqa: PLC0415

    try:
        source = session.make_source(warn=terminal_warner(), push_filter=True)
    except UsageError as exc:
        print(f"ctop-ebpf: {exc}", file=sys.stderr)
        return EXIT_USAGE
    holder["source"] = source
    state = _TimedState(session.make_state(source))
    hinted = -HINT_EVERY_S
    suggest_filter = getattr(source, "scope", None) is None

    def on_tick(records) -> bool:
        nonlocal hinted
        t0 = time.perf_counter()
        lost = records.stats.get("lost", 0)
        if lost and time.monotonic() - hinted >= HINT_EVERY_S:
            hinted = time.monotonic()
            print(
                f"ctop-ebpf: {loss_hint(lost, session.buffer_pages, kernel_filter=suggest_filter)}",
                file=sys.stderr,
                flush=True,
            )
        totals.update(records, exposition.scrapes)
        totals.observe_tick(state.last_s + time.perf_counter() - t0)
        exposition.publish(totals.snapshot())
        return True

    stop_on_signals(session, holder, cleanups=(server.server_close,))
    try:
        await run_pipeline(source, state, on_tick)
    except ProbeError as exc:
        print(f"ctop-ebpf: {exc}", file=sys.stderr)
        return exc.exit_code
    except CaptureError as exc:
        print(f"ctop-ebpf: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except asyncio.CancelledError:
        return EXIT_OK
    return EXIT_OK
