"""Podman's names, images and labels of containers, through the
Docker-compatible API that ``podman system service`` serves on its socket
(``/run/podman/podman.sock`` for root). The Docker client (docker.py) does
the work; only the runtime's name and socket differ. Podman's cgroups are
``libpod-<id>.scope`` (systemd) or ``/libpod_parent/libpod-<id>`` (cgroupfs).
"""

from __future__ import annotations

from .docker import DockerMetadata

__all__ = ["PodmanMetadata", "DEFAULT_PODMAN_SOCKET"]

DEFAULT_PODMAN_SOCKET = "unix:///run/podman/podman.sock"


class PodmanMetadata(DockerMetadata):
    kind = "podman"
    runtime = "podman"

    def __init__(self, endpoint: str = DEFAULT_PODMAN_SOCKET, *, explicit: bool = False,
                 warn=None) -> None:
        super().__init__(endpoint, warn=warn)
        self.explicit = explicit
