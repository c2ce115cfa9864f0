"""What a container runtime says of its containers, and the one interface
every runtime client offers the directory.

A ``RuntimeMetadata`` follows one runtime endpoint in its own daemon thread
(``start``/``stop``) and keeps a copy of what it learnt (``snapshot``,
``knows``); nothing here ever blocks a caller on the runtime. The base class
owns the thread: it runs the subclass's ``_session`` (connect, list, follow
or poll, until the connection ends or fails) and retries every 1-5 s.

Failures cost one notice each outage, through ``warn`` (the TUI's notice or
stderr in batch), and a reason in ``error``: an endpoint named by the user
that is missing, or any endpoint that refuses, hangs (calls have short
deadlines) or answers garbage. A standard socket that does not exist is
not a failure: that runtime is simply not installed; it is looked for again
at each retry, so a runtime started later is found. What was learnt before
an outage is kept (names of containers that outlive a daemon restart stay
right) and replaced by a fresh listing on reconnection.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

__all__ = ["ContainerMeta", "LIVE_STATES", "RuntimeMetadata"]

RETRY_MIN_S, RETRY_MAX_S = 1.0, 5.0
LIVE_STATES = ("running", "paused", "restarting")


@dataclass(frozen=True, slots=True)
class ContainerMeta:
    name: str
    image: str
    labels: tuple[tuple[str, str], ...]
    state: str  # running, paused, restarting, created, exited, ... ("" unknown)
    runtime: str = ""  # docker, containerd, cri-o, podman
    namespace: str = ""  # Kubernetes namespace of its pod, or containerd namespace outside Kubernetes
    pod: str = ""  # Kubernetes pod name
    pod_uid: str = ""
    pod_labels: tuple[tuple[str, str], ...] = ()
    sandbox: bool = False  # the pod's own (pause) container


class RuntimeMetadata:
    """One runtime endpoint followed by a thread; subclasses write ``_session``."""

    kind = "runtime"
    runtime = ""

    def __init__(self, endpoint: str, *, explicit: bool = False, warn=None) -> None:
        self.endpoint = endpoint
        self.explicit = explicit  # named by the user: its absence is worth a notice
        self.warn = warn
        self._lock = threading.Lock()
        self._meta: dict[str, ContainerMeta] = {}
        self._connected = False
        self.error = ""  # last reason the runtime is unavailable, "" when connected
        self._warned = False  # a notice was given for the current outage
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # ---- read by the directory (any thread) -------------------------------

    @property
    def connected(self) -> bool:
        """Whether the runtime answered its last call."""
        return self._connected

    def snapshot(self) -> tuple[dict[str, ContainerMeta], bool]:
        """A copy of the metadata by full id, and whether it is current."""
        with self._lock:
            return dict(self._meta), self._connected

    def knows(self, cid: str) -> bool:
        with self._lock:
            return cid in self._meta

    def want(self, cid: str, namespace: str = "") -> None:
        """A container this runtime may know was seen (pollers look soon; others ignore it)."""

    # ---- the thread ------------------------------------------------------------

    def start(self) -> "RuntimeMetadata":
        """Start following the runtime in a daemon thread (no-op if started)."""
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(target=self._loop, name=f"{self.kind}-meta", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the thread: close its connection (ends any call in flight), wait a little."""
        self._stopping.set()
        self._wakeup()
        self._close_client()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _wakeup(self) -> None:
        """Interrupt a wait of the thread (subclasses that poll)."""

    def _close_client(self) -> None:
        """Close the connection, from any thread."""

    def _session(self) -> None:
        """Connect, list, keep current until the connection ends (return) or fails (raise)."""
        raise NotImplementedError

    def _publish(self, meta: dict[str, ContainerMeta]) -> None:
        """A full, current listing (from the thread)."""
        with self._lock:
            self._meta = meta
            self._connected = True
        self.error = ""
        self._warned = False

    def _loop(self) -> None:
        delay = RETRY_MIN_S
        while not self._stopping.is_set():
            try:
                self._session()
                if self._stopping.is_set():
                    break
                self._failed("the connection ended")
                delay = RETRY_MIN_S
            except ImportError as exc:
                self._failed(f"a Python module is missing: {exc}")
                return
            except FileNotFoundError as exc:
                self._failed(str(exc), absent=True)
            except Exception as exc:  # noqa: BLE001 - any failure means "retry later"
                self._failed(describe_error(exc))
            finally:
                self._close_client()
                with self._lock:
                    self._connected = False
            self._stopping.wait(delay)
            delay = min(delay * 2, RETRY_MAX_S)

    def _failed(self, reason: str, absent: bool = False) -> None:
        if self._stopping.is_set():
            return
        self.error = reason
        if self._warned or (absent and not self.explicit):
            return
        self._warned = True
        if self.warn is not None:
            try:
                self.warn(f"{self.label}: {reason}; containers it runs show short ids "
                          "(retrying in the background)")
            except Exception:  # noqa: BLE001 - a notice must never stop the thread
                pass

    @property
    def label(self) -> str:
        return f"{self.runtime or self.kind} at {self.endpoint}"


def describe_error(exc: BaseException) -> str:
    """One line for a person: gRPC's status and details, or the exception."""
    code = getattr(exc, "code", None)
    details = getattr(exc, "details", None)
    if callable(code) and callable(details):
        try:
            name = getattr(code(), "name", str(code()))
            text = details() or ""
        except Exception:  # noqa: BLE001
            name, text = "", ""
        if name == "DEADLINE_EXCEEDED":
            return "no answer in time (the runtime hangs)"
        for phrase, says in _KNOWN:
            if phrase in text:
                return says
        if name:
            return f"{name.lower().replace('_', ' ')}: {text}"[:200]
    if type(exc).__name__ == "WireError":
        return f"its answer is not a CRI message ({exc})"[:200]
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"[:200]


_KNOWN = (  # gRPC's details -> what a person needs to read
    ("Connection refused", "connection refused (is the runtime running?)"),
    ("Failed parsing HTTP/2", "it does not speak gRPC (garbage answer)"),
    ("Socket closed", "the connection was closed"),
    ("Permission denied", "permission denied on its socket"),
    ("unknown service", "it does not serve this API (unknown service)"),
)


def socket_exists(path: str) -> bool:
    try:
        return os.path.exists(path)
    except (OSError, ValueError):
        return False
