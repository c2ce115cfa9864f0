"""Which container a process is in, from its cgroup path.

``parse_cgroup`` reads the text of ``/proc/PID/cgroup`` (cgroup v1 lines
``N:controllers:/path``, the v2 line ``0::/path``, or both on a hybrid
host); ``parse_cgroup_path`` looks at one path. Both return a
``ContainerRef`` or ``None`` for a host process, and never raise.

Recognised formats (samples in ``tests/data/cgroup_samples.py``)::

    /docker/<64hex>                                   docker  (cgroupfs driver)
    /system.slice/docker-<64hex>.scope                docker  (systemd driver, also rootless)
    .../cri-containerd-<64hex>.scope                  containerd
    ...slice:cri-containerd:<64hex>                   containerd (systemd-style cgroupsPath, cgroupfs)
    .../nerdctl-<64hex>.scope                         containerd
    /k8s.io/<64hex>                                   containerd (CRI pods without a cgroup parent)
    /kubepods[/<qos>]/pod<uid>/<64hex>                kubernetes (runtime not in the path)
    .../crio-<64hex>.scope, ...slice:crio:<64hex>     cri-o
    .../libpod-<64hex>[.scope]                        podman  (root and rootless)
    /lxc/<name>, /lxc.payload.<name>, /lxc.payload/<name>   lxc
    /machine.slice/machine-<name>.scope               nspawn  (systemd escapes undone)

Decisions:

* Runtime for Kubernetes: the runtime that the path names wins
  (``cri-containerd-`` → ``containerd``, ``crio-`` → ``cri-o``,
  ``docker-`` → ``docker``). Only a bare id under ``kubepods`` (cgroupfs
  driver), where the path does not tell which runtime made it, gives
  ``kubernetes``.
* Nesting (docker-in-docker, podman in LXC, ...): the innermost container
  wins, i.e. the deepest path segment that names a container. Sub-cgroups
  that a container makes inside its own (``init.scope``, ``payload``,
  ``system.slice/...``) are skipped over.
* Monitors are host processes: ``crio-conmon-``, ``libpod-conmon-``,
  ``lxc.monitor.<name>`` and the nspawn ``supervisor`` sub-cgroup belong to
  whatever contains them (the host, usually), not to the container they watch.
  libvirt's ``machine-qemu…scope`` is a VM, not a container.
* ``/<namespace>/<id>`` (``ctr run``, any containerd namespace, any id) is
  also what many host cgroups look like, so the parser never claims it:
  ``containerd_candidate`` names the (namespace, id) it could be, and the
  directory counts it as a container only once containerd says it knows it.
  The CRI's own namespace with a 64-hex id (``/k8s.io/<id>``) is claimed.
* Ids are the full id as it appears in the path (64 lowercase hex for the
  OCI runtimes, the container name for LXC and nspawn).
* In ``/proc/PID/cgroup`` the v2 line is looked at first; if it names no
  container, the v1 line with the deepest container path is used.
  A `` (deleted)`` suffix (dead v2 cgroup) is ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "ContainerRef", "container_at", "containerd_candidate", "parse_cgroup", "parse_cgroup_path",
    "systemd_unescape",
]


@dataclass(frozen=True, slots=True)
class ContainerRef:
    """A container as named by a cgroup path: full id and runtime."""

    id: str
    runtime: str  # docker, containerd, kubernetes, cri-o, podman, lxc, nspawn

    @property
    def short_id(self) -> str:
        """The 12-character id the Docker CLI shows (names are kept whole)."""
        return self.id[:12] if _HEX64.fullmatch(self.id) else self.id


_HEX64 = re.compile(r"[0-9a-f]{64}")

# One path segment that names a container by itself, wherever it sits.
_SCOPE_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"docker-([0-9a-f]{64})\.scope"), "docker"),
    (re.compile(r"cri-containerd-([0-9a-f]{64})\.scope"), "containerd"),
    (re.compile(r"[^:]+\.slice:cri-containerd:([0-9a-f]{64})"), "containerd"),
    (re.compile(r"[^:]+\.slice:crio:([0-9a-f]{64})"), "cri-o"),
    (re.compile(r"nerdctl-([0-9a-f]{64})\.scope"), "containerd"),
    (re.compile(r"crio-([0-9a-f]{64})\.scope"), "cri-o"),
    (re.compile(r"libpod-([0-9a-f]{64})(?:\.scope)?"), "podman"),
    (re.compile(r"lxc\.payload\.(.+)"), "lxc"),
)
_MACHINE_SCOPE = re.compile(r"machine-(.+)\.scope")
CRI_NAMESPACE = "k8s.io"  # the containerd namespace of the CRI plugin
# containerd's identifiers (namespaces and container ids): alphanumerics joined by . _ -
_IDENTIFIER = re.compile(r"[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*")
_NOT_CONTAINERD = re.compile(r".*\.(?:slice|scope|service|mount|socket|swap|target|device)")
_MONITORS = ("crio-conmon-", "libpod-conmon-", "lxc.monitor")
_SYSTEMD_ESCAPE = re.compile(r"\\x([0-9a-fA-F]{2})")


def systemd_unescape(name: str) -> str:
    r"""Undo systemd's unit-name escaping (``foo\x2dbar`` → ``foo-bar``)."""
    return _SYSTEMD_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), name)


def _match_segment(segments: list[str], i: int) -> ContainerRef | None:
    """The container that segment ``i`` names, given the segments above it."""
    seg = segments[i]
    parent = segments[i - 1] if i > 0 else ""
    for pattern, runtime in _SCOPE_PATTERNS:
        m = pattern.fullmatch(seg)
        if m:
            return ContainerRef(m.group(1), runtime)
    if parent in ("lxc", "lxc.payload"):
        return ContainerRef(seg, "lxc")
    m = _MACHINE_SCOPE.fullmatch(seg)
    if m and parent == "machine.slice":
        name = systemd_unescape(m.group(1))
        if not name.startswith("qemu-"):  # a libvirt VM, not a container
            return ContainerRef(name, "nspawn")
    if _HEX64.fullmatch(seg):
        if parent == "docker":
            return ContainerRef(seg, "docker")
        if parent == CRI_NAMESPACE:
            return ContainerRef(seg, "containerd")
        if any(s.startswith("kubepods") for s in segments[:i]):
            return ContainerRef(seg, "kubernetes")
    return None


def parse_cgroup_path(path: str) -> ContainerRef | None:
    """The innermost container named by one cgroup path, or None (host)."""
    if not isinstance(path, str):
        return None
    path = path.strip()
    if path.endswith(" (deleted)"):
        path = path[: -len(" (deleted)")]
    segments = [s for s in path.split("/") if s]
    i = len(segments) - 1
    while i >= 0:
        seg = segments[i]
        if seg == "supervisor" and i > 0 and _MACHINE_SCOPE.fullmatch(segments[i - 1]):
            i -= 2  # systemd-nspawn itself: belongs to what contains its machine
            continue
        if not seg.startswith(_MONITORS):  # a monitor belongs to what contains it
            ref = _match_segment(segments, i)
            if ref is not None:
                return ref
        i -= 1
    return None


def container_at(path: str) -> ContainerRef | None:
    """The container whose own cgroup directory ``path`` is, or None.

    Unlike ``parse_cgroup_path`` only the last segment counts: a container's
    sub-cgroups (``.../docker-<id>.scope/init.scope``) give None. Used to find
    each container's directory once when walking a hierarchy.
    """
    segments = [s for s in path.split("/") if s] if isinstance(path, str) else []
    if not segments or segments[-1].startswith(_MONITORS):
        return None
    return _match_segment(segments, len(segments) - 1)


def parse_cgroup(text: str) -> ContainerRef | None:
    """The container of a process from the text of /proc/PID/cgroup, or None.

    The v2 line (``0::/path``) is preferred; otherwise the v1 line whose
    container path is the deepest. Malformed lines are ignored.
    """
    if not isinstance(text, str):
        return None
    best: tuple[int, ContainerRef] | None = None
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3 or not parts[2].startswith("/"):
            continue
        hier, controllers, path = parts
        ref = parse_cgroup_path(path)
        if ref is None:
            continue
        if hier == "0" and controllers == "":
            return ref
        depth = path.count("/")
        if best is None or depth > best[0]:
            best = (depth, ref)
    return best[1] if best else None


def containerd_candidate(path: str) -> tuple[str, str] | None:
    """(namespace, id) when ``path`` has the shape containerd gives containers
    made outside Kubernetes (``/<namespace>/<id>``), else None.

    Only a candidate: host cgroups can look the same (``/user/1000``), so it
    counts as a container only if containerd knows that id in that namespace.
    systemd units and the paths the parser names are never candidates.
    """
    if not isinstance(path, str):
        return None
    segments = [s for s in path.strip().removesuffix(" (deleted)").split("/") if s]
    if len(segments) != 2:
        return None
    namespace, cid = segments
    for name in segments:
        if len(name) > 76 or not _IDENTIFIER.fullmatch(name) or _NOT_CONTAINERD.fullmatch(name):
            return None
    if namespace in ("docker", "lxc", "lxc.payload", "kubepods", "machine.slice", "libpod_parent"):
        return None
    return namespace, cid
