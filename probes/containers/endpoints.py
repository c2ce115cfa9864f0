"""Which container runtimes to ask, and how: the standard sockets, the ones
the user names (``--runtime-endpoint``, ``CONTAINER_RUNTIME_ENDPOINT``, as
crictl takes them) and Docker's (``DOCKER_HOST``).

Each endpoint gets one client (meta.RuntimeMetadata): Docker's API for a
``docker.sock``, the same API for podman's socket, the CRI for the rest
(containerd, CRI-O, cri-dockerd, or any socket the user names). A standard
socket that does not exist costs nothing; its client keeps looking for it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

__all__ = ["DEFAULT_ENDPOINTS", "ENV_VARIABLE", "HOST_ROOT_VARIABLE", "Endpoint", "EndpointError",
           "normalize", "plan", "under_host_root"]

ENV_VARIABLE = "CONTAINER_RUNTIME_ENDPOINT"
# Where the host's filesystem is mounted when ctop-ebpf runs in a container
# (the DaemonSet mounts the node's /run at /host/run): the standard sockets
# are looked for under it.
HOST_ROOT_VARIABLE = "CTOP_HOST_ROOT"
DEFAULT_ENDPOINTS = (
    "unix:///run/containerd/containerd.sock",
    "unix:///run/k3s/containerd/containerd.sock",
    "unix:///run/crio/crio.sock",
    "unix:///var/run/crio/crio.sock",
    "unix:///run/podman/podman.sock",
    "unix:///var/run/docker.sock",
)


class EndpointError(ValueError):
    """An endpoint the user named that cannot be used (bad scheme)."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    url: str  # unix:///path
    kind: str  # docker, podman, cri
    explicit: bool  # named by the user (its absence is reported)

    @property
    def path(self) -> str:
        return self.url[len("unix://"):]


def normalize(text: str) -> str:
    """``unix:///path`` (or a bare absolute path) as ``unix:///path``; anything else is refused:
    runtimes serve their API on local unix sockets only."""
    text = text.strip()
    if text.startswith("unix://"):
        path = text[len("unix://"):]
    elif text.startswith("/"):
        path = text
    else:
        raise EndpointError(f"runtime endpoint {text!r}: expected unix:///path/to/socket")
    if not path.startswith("/") or "\x00" in path:
        raise EndpointError(f"runtime endpoint {text!r}: expected an absolute socket path")
    return "unix://" + os.path.normpath(path)


def kind_of(url: str) -> str:
    name = os.path.basename(url)
    if "podman" in name:
        return "podman"
    if "docker" in name and "cri-dockerd" not in name:
        return "docker"
    return "cri"


def under_host_root(defaults: tuple[str, ...], root: str) -> tuple[str, ...]:
    """The standard sockets as seen from a container with the host's
    filesystem at ``root`` (/var/run is /run on the hosts that matter, and
    only the host's /run is mounted, so /var/run/x is looked for at run/x)."""
    root = root.rstrip("/")
    if not root:
        return defaults
    out = []
    for url in defaults:
        path = url[len("unix://"):]
        if path.startswith("/var/run/"):
            path = path[len("/var"):]
        out.append("unix://" + root + path)
    return tuple(out)


def _same_file_key(url: str) -> str:
    # /var/run is a link to /run on most systems: one runtime, two standard names
    return os.path.realpath(url[len("unix://"):])


def plan(named: list[str] | tuple[str, ...] = (), env: str | None = None, *,
         docker: bool = True, docker_host: str | None = None,
         defaults: tuple[str, ...] = DEFAULT_ENDPOINTS) -> list[Endpoint]:
    """The endpoints to follow, each once, the user's first.

    ``named`` are --runtime-endpoint values, ``env`` the CONTAINER_RUNTIME_ENDPOINT
    value; ``docker`` False (--no-docker) drops Docker's standard socket, which
    is otherwise Docker's client (``docker_host``, i.e. DOCKER_HOST, replaces it).
    Raises EndpointError for a named endpoint that is not a unix socket.
    """
    out: list[Endpoint] = []
    seen: set[str] = set()

    def add(url: str, explicit: bool) -> None:
        key = _same_file_key(url)
        if key in seen:
            return
        seen.add(key)
        out.append(Endpoint(url, kind_of(url), explicit))

    for text in named:
        add(normalize(text), True)
    if env and env.strip():
        for text in env.split(","):  # several, comma-separated, like crictl's list
            if text.strip():
                add(normalize(text), True)
    for url in defaults:
        if kind_of(url) == "docker":
            if not docker:
                continue
            if docker_host:
                if docker_host.startswith("unix://") or docker_host.startswith("/"):
                    add(normalize(docker_host), False)
                else:  # tcp:// and the like: Docker's client takes it as is
                    out.append(Endpoint(docker_host, "docker", False))
                continue
        add(url, False)
    return out
