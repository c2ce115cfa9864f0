"""Docker's names, images, labels and states of containers, followed live.

``DockerMetadata`` runs a daemon thread that lists the running containers
once and then follows the Docker events stream, reconnecting every 1-2 s
while the daemon is absent, stopped or restarting. Metadata learnt before a
disconnection is kept (names of containers that survive a daemon restart
stay right) and is replaced by a fresh list on reconnection. Callers only
ever read a copy (``snapshot()``): nothing here blocks a tick.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

__all__ = ["ContainerMeta", "DockerMetadata", "LIVE_STATES"]

DOCKER_TIMEOUT_S = 5  # per Docker API call (not the events stream)
RETRY_MIN_S, RETRY_MAX_S = 1.0, 2.0  # reconnection backoff
LIVE_STATES = ("running", "paused", "restarting")


@dataclass(frozen=True, slots=True)
class ContainerMeta:
    name: str
    image: str
    labels: tuple[tuple[str, str], ...]
    state: str


class DockerMetadata:
    """What a Docker daemon says of its containers, kept current by a thread."""

    def __init__(self, base_url: str | None = None) -> None:
        self.base_url = base_url
        self._lock = threading.Lock()
        self._meta: dict[str, ContainerMeta] = {}
        self._connected = False
        self.error = ""  # last reason Docker is unavailable, "" when connected
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._client = None
        self._stream = None

    @property
    def connected(self) -> bool:
        """Whether the events stream is being followed right now."""
        return self._connected

    def snapshot(self) -> tuple[dict[str, ContainerMeta], bool]:
        """A copy of the metadata by full id, and whether it is current."""
        with self._lock:
            return dict(self._meta), self._connected

    def knows(self, cid: str) -> bool:
        with self._lock:
            return cid in self._meta

    def start(self) -> "DockerMetadata":
        """Start following Docker in a daemon thread (no-op if started)."""
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(target=self._docker_loop, name="docker-meta",
                                            daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the Docker thread: close its stream and client, wait a little."""
        self._stopping.set()
        self._close_docker()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _close_docker(self) -> None:
        with self._lock:
            stream, client = self._stream, self._client
            self._stream = self._client = None
            self._connected = False
        for obj in (stream, client):
            try:
                if obj is not None:
                    obj.close()
            except Exception:  # noqa: BLE001 - closing a dead connection may fail any way
                pass

    def _docker_loop(self) -> None:
        delay = RETRY_MIN_S
        while not self._stopping.is_set():
            try:
                self._docker_session()
                delay = RETRY_MIN_S  # the stream ended: the daemon went away
                self.error = "events stream ended"
            except ImportError as exc:
                self.error = f"docker SDK missing: {exc}"
                return
            except Exception as exc:  # noqa: BLE001 - any failure means "retry later"
                self.error = f"{type(exc).__name__}: {exc}"
            finally:
                self._close_docker()
            self._stopping.wait(delay)
            delay = min(delay * 2, RETRY_MAX_S)

    def _docker_session(self) -> None:
        """Connect, list, then apply events until the stream ends or stop()."""
        import docker  # the SDK is only needed by this thread

        if self.base_url:
            client = docker.DockerClient(base_url=self.base_url, timeout=DOCKER_TIMEOUT_S)
        else:
            client = docker.from_env(timeout=DOCKER_TIMEOUT_S)
        with self._lock:
            self._client = client
        if self._stopping.is_set():
            return
        since = int(time.time()) - 1  # replay what happens while listing
        stream = client.events(decode=True, filters={"type": "container"}, since=since)
        with self._lock:
            self._stream = stream
        if self._stopping.is_set():
            return
        meta = {}
        for c in client.containers.list(all=False, sparse=True):
            a = c.attrs
            names = a.get("Names") or [""]
            meta[a["Id"]] = ContainerMeta(names[0].lstrip("/"), a.get("Image", ""),
                                  tuple(sorted((a.get("Labels") or {}).items())),
                                  a.get("State", "running"))
        with self._lock:
            self._meta = meta
            self._connected = True
        self.error = ""
        for event in stream:
            if self._stopping.is_set():
                return
            self._apply_event(client, event)

    def _apply_event(self, client, event: dict) -> None:
        """Update the metadata cache from one container event."""
        cid = (event.get("Actor") or {}).get("ID") or event.get("id") or ""
        action = str(event.get("Action") or event.get("status") or "").split(":", 1)[0]
        if not cid:
            return
        if action == "destroy":
            with self._lock:
                self._meta.pop(cid, None)
        elif action == "die":
            with self._lock:
                if cid in self._meta:
                    m = self._meta[cid]
                    self._meta[cid] = ContainerMeta(m.name, m.image, m.labels, "exited")
        elif action in ("create", "start", "restart", "rename", "pause", "unpause", "update"):
            import docker.errors

            try:
                a = client.api.inspect_container(cid)
            except docker.errors.NotFound:
                with self._lock:
                    self._meta.pop(cid, None)
                return
            cfg, st = a.get("Config") or {}, a.get("State") or {}
            m = ContainerMeta(str(a.get("Name", "")).lstrip("/"), cfg.get("Image", ""),
                      tuple(sorted((cfg.get("Labels") or {}).items())),
                      st.get("Status", ""))
            with self._lock:
                self._meta[cid] = m
