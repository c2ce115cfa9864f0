"""Docker's names, images, labels and states of containers, followed live.

``DockerMetadata`` lists the running containers once and then follows the
Docker events stream; the thread, the retries every 1-5 s while the daemon
is absent, stopped or restarting, and the one notice per outage are the
base class's (meta.py). Podman serves the same API (podman.py).
"""

from __future__ import annotations

import os
import time

from .meta import LIVE_STATES, ContainerMeta, RuntimeMetadata

__all__ = ["ContainerMeta", "DockerMetadata", "LIVE_STATES", "DEFAULT_DOCKER_HOST"]

DOCKER_TIMEOUT_S = 5  # per Docker API call (not the events stream)
DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"


class DockerMetadata(RuntimeMetadata):
    """What a Docker-API daemon says of its containers, kept current by a thread."""

    kind = "docker"
    runtime = "docker"

    def __init__(self, base_url: str | None = None, *, explicit: bool | None = None, warn=None) -> None:
        """``explicit`` (its absence is reported): by default, when ``base_url`` is given."""
        self.base_url = base_url
        endpoint = base_url or os.environ.get("DOCKER_HOST") or DEFAULT_DOCKER_HOST
        super().__init__(endpoint, explicit=bool(base_url) if explicit is None else explicit, warn=warn)
        self._client = None
        self._stream = None

    def _close_client(self) -> None:
        with self._lock:
            stream, client = self._stream, self._client
            self._stream = self._client = None
        for obj in (stream, client):
            try:
                if obj is not None:
                    obj.close()
            except Exception:  # noqa: BLE001 - closing a dead connection may fail any way
                pass

    def _session(self) -> None:
        """Connect, list, then apply events until the stream ends or stop()."""
        import docker  # the SDK is only needed by this thread

        if self.endpoint.startswith("unix://") and not os.path.exists(self.endpoint[len("unix://"):]):
            raise FileNotFoundError(f"no socket at {self.endpoint[len('unix://'):]}")
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
                                          a.get("State", "running"), runtime=self.runtime)
        self._publish(meta)
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
        if action in ("destroy", "remove"):
            with self._lock:
                self._meta.pop(cid, None)
        elif action in ("die", "died"):
            with self._lock:
                if cid in self._meta:
                    m = self._meta[cid]
                    self._meta[cid] = ContainerMeta(m.name, m.image, m.labels, "exited",
                                                    runtime=m.runtime)
        elif action in ("create", "start", "restart", "rename", "pause", "unpause", "update", "init"):
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
                              st.get("Status", ""), runtime=self.runtime)
            with self._lock:
                self._meta[cid] = m
