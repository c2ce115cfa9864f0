"""The live container resolver: cgroups on this host plus runtime metadata.

``ContainerDirectory`` answers three questions for the live event source:

* ``for_pid(pid)``: which container a process is in (from /proc/PID/cgroup);
* ``for_cgroup_id(id)``: which container a cgroup v2 id (what BPF's
  ``bpf_get_current_cgroup_id()`` returns: the inode number of the cgroup's
  directory in the v2 hierarchy) belongs to, from a cached walk of that
  hierarchy, so no file is read per event on a hit;
* ``snapshot()``: every container present now, with the runtime's name,
  image, labels, state and pod when known, and cumulative CPU and memory
  from its cgroup.

None of them ever talks to a runtime: each runtime endpoint (endpoints.py:
Docker, podman, CRI runtimes) is followed by its client in its own thread
(meta.RuntimeMetadata, ``start()``/``stop()``) and only read here; an id the
runtimes do not know yet is handed to them (``want``) to look up. Unknown
containers are named by their 12-character short id (LXC and nspawn ids are
names already).

Cgroup layouts: pure v2 (``/sys/fs/cgroup``), hybrid (v1 controllers plus
v2 at ``/sys/fs/cgroup/unified``) and pure v1 are found from
``PROC/self/mountinfo``, or by probing ``cgroup_root`` when that lists no
cgroup mount under it (a fake tree in tests).
"""

from __future__ import annotations

import os
import re
import threading
import time
from dataclasses import dataclass

from ctop_ebpf.model.events import ContainerInfo

from .cgroups import ContainerRef, container_at, containerd_candidate, parse_cgroup, parse_cgroup_path
from .cri import CriMetadata
from .docker import DEFAULT_DOCKER_HOST, DockerMetadata
from .endpoints import DEFAULT_ENDPOINTS, ENV_VARIABLE, HOST_ROOT_VARIABLE, Endpoint, plan, under_host_root
from .meta import LIVE_STATES, ContainerMeta, RuntimeMetadata
from .podman import PodmanMetadata

__all__ = ["ContainerDirectory", "labels_get"]

RESCAN_INTERVAL_S = 0.5  # at most one walk of the v2 hierarchy per interval on misses
_HEX64 = re.compile(r"[0-9a-f]{64}")
_V1_WALKED = ("memory", "cpuacct", "name=systemd")  # v1 hierarchies searched for containers
_Dirs = dict[str, str]  # a container's directory per hierarchy ("v2" or a v1 controller)


def labels_get(info: ContainerInfo, key: str, default: str = "") -> str:
    """The value of one label of a ContainerInfo (labels are a tuple of pairs)."""
    for k, v in info.labels:
        if k == key:
            return v
    return default


@dataclass(frozen=True, slots=True)
class _Hierarchy:
    path: str  # where it is mounted (under cgroup_root)
    root: str  # the cgroup path of that mount's root (usually "/")
    controllers: frozenset[str]  # empty for v2

    def cgroup_path(self, fs_path: str) -> str:
        rel = os.path.relpath(fs_path, self.path)
        rel = "" if rel == "." else rel
        return "/" + "/".join(p for p in (self.root.strip("/"), rel) if p)


def _unescape_mountinfo(field: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            return f.read()
    except (OSError, ValueError):
        return None


def _read_int(path: str, key: str | None = None) -> int:
    """An integer file (``memory.current``) or one ``key value`` line of it; -1 if unknown."""
    text = _read(path)
    if text is None:
        return -1
    try:
        if key is None:
            return int(text.split()[0])
        for line in text.splitlines():
            k, _, v = line.partition(" ")
            if k == key:
                return int(v)
    except (ValueError, IndexError):
        pass
    return -1


class ContainerDirectory:
    """Resolve processes and cgroup ids to containers and describe them."""

    def __init__(self, *, cgroup_root: str = "/sys/fs/cgroup", proc_root: str = "/proc",
                 docker_enabled: bool = True, docker_base_url: str | None = None,
                 runtime_endpoints: tuple[str, ...] | list[str] = (), runtime_env: str | None = None,
                 default_endpoints: tuple[str, ...] = DEFAULT_ENDPOINTS, warn=None) -> None:
        """``runtime_endpoints``: --runtime-endpoint values; ``runtime_env``: the
        CONTAINER_RUNTIME_ENDPOINT value (read from the environment when None);
        ``warn(text)``: one notice per runtime outage (raises EndpointError for a
        named endpoint that is not a unix socket)."""
        self.cgroup_root = cgroup_root.rstrip("/") or "/"
        self.proc_root = proc_root
        if runtime_env is None:
            runtime_env = os.environ.get(ENV_VARIABLE)
        docker_host = os.environ.get("DOCKER_HOST") if docker_base_url is None else docker_base_url
        default_endpoints = under_host_root(default_endpoints, os.environ.get(HOST_ROOT_VARIABLE, ""))
        endpoints = plan(runtime_endpoints, runtime_env, docker=docker_enabled, docker_host=docker_host,
                         defaults=default_endpoints)
        self.runtimes: list[RuntimeMetadata] = [
            self._client(e, docker_base_url, warn) for e in endpoints]
        self.docker = next((r for r in self.runtimes if type(r) is DockerMetadata), None)
        self.v2, self.v1 = self._find_hierarchies()
        self._lock = threading.Lock()
        self._by_ino: dict[int, str] = {}  # v2 cgroup id -> cgroup path
        # v2 cgroup id -> (parsed ref, bare 64-hex id in the path when ref is None)
        self._ref_by_ino: dict[int, tuple[ContainerRef | None, str]] = {}
        self._last_scan = float("-inf")

    @staticmethod
    def _client(e: Endpoint, docker_base_url: str | None, warn) -> RuntimeMetadata:
        if e.kind == "docker":
            # Docker's standard socket, and a tcp DOCKER_HOST, go through the SDK's
            # environment (DOCKER_HOST, TLS); any other socket (named, or the
            # standard one under CTOP_HOST_ROOT) is asked directly
            own = e.url.startswith("unix://") and (e.explicit or e.url != DEFAULT_DOCKER_HOST)
            if own:
                return DockerMetadata(e.url, explicit=e.explicit, warn=warn)
            return DockerMetadata(docker_base_url, explicit=e.explicit or None, warn=warn)
        if e.kind == "podman":
            return PodmanMetadata(e.url, explicit=e.explicit, warn=warn)
        return CriMetadata(e.url, explicit=e.explicit, warn=warn)

    # ---- layout ---------------------------------------------------------

    def _find_hierarchies(self) -> tuple[_Hierarchy | None, dict[str, _Hierarchy]]:
        """The v2 hierarchy and the v1 ones by controller, under cgroup_root."""
        v2: _Hierarchy | None = None
        v1: dict[str, _Hierarchy] = {}
        for line in (_read(os.path.join(self.proc_root, "self/mountinfo")) or "").splitlines():
            left, sep, right = line.partition(" - ")
            fields, rfields = left.split(), right.split()
            if not sep or len(fields) < 5 or len(rfields) < 3:
                continue
            root, mnt = _unescape_mountinfo(fields[3]), _unescape_mountinfo(fields[4])
            if mnt != self.cgroup_root and not mnt.startswith(self.cgroup_root + "/"):
                continue
            if rfields[0] == "cgroup2":
                v2 = _Hierarchy(mnt, root, frozenset())
            elif rfields[0] == "cgroup":
                ctrls = frozenset(rfields[2].split(",")) - {"rw", "ro"}
                for c in ctrls:
                    v1.setdefault(c, _Hierarchy(mnt, root, ctrls))
        if v2 is None and not v1:
            v2, v1 = self._probe_hierarchies()
        return v2, v1

    def _probe_hierarchies(self) -> tuple[_Hierarchy | None, dict[str, _Hierarchy]]:
        """Guess the layout from the files under cgroup_root (no mountinfo)."""
        root = self.cgroup_root
        if os.path.exists(os.path.join(root, "cgroup.controllers")):
            return _Hierarchy(root, "/", frozenset()), {}
        v2 = None
        if os.path.exists(os.path.join(root, "unified", "cgroup.controllers")):
            v2 = _Hierarchy(os.path.join(root, "unified"), "/", frozenset())
        v1: dict[str, _Hierarchy] = {}
        try:
            names = sorted(os.listdir(root))
        except OSError:
            names = []
        for name in names:
            path = os.path.join(root, name)
            if name == "unified" or not os.path.exists(os.path.join(path, "cgroup.procs")):
                continue
            ctrls = frozenset("name=systemd" if c == "systemd" else c for c in name.split(","))
            for c in ctrls:
                v1.setdefault(c, _Hierarchy(path, "/", ctrls))
        return v2, v1

    # ---- per process and per cgroup id -------------------------------------

    def for_pid(self, pid: int) -> ContainerRef | None:
        """The container of a process, None on the host or if it is gone."""
        text = _read(os.path.join(self.proc_root, str(int(pid)), "cgroup"))
        if not text:
            return None
        ref = parse_cgroup(text)
        if ref is None:
            ref = self._runtime_fallback(text)
        return ref

    def for_cgroup_id(self, cgroup_id: int) -> ContainerRef | None:
        """The container of a cgroup v2 id (BPF's cgroup id), None for the host."""
        with self._lock:
            path = self._by_ino.get(cgroup_id)
            stale = path is None and time.monotonic() - self._last_scan >= RESCAN_INTERVAL_S
        if stale:
            self._scan()
            with self._lock:
                path = self._by_ino.get(cgroup_id)
        if path is None:
            return None
        with self._lock:
            cached = self._ref_by_ino.get(cgroup_id)
        if cached is None:
            ref = parse_cgroup_path(path)
            cached = (ref, _unclaimed_ids(path) if ref is None else ())
            with self._lock:
                self._ref_by_ino[cgroup_id] = cached
        ref, unclaimed = cached
        if ref is None:
            for cid in unclaimed:
                runtime = self._runtime_of(cid)
                if runtime:
                    return ContainerRef(cid, runtime)
        return ref

    def _runtime_fallback(self, text: str) -> ContainerRef | None:
        """A container id that no path shape claims but a runtime knows (Docker's
        --cgroup-parent, ``ctr run``'s ``/<namespace>/<id>``), else None."""
        for line in reversed(text.splitlines()):
            _, _, path = line.partition(":")
            _, _, path = path.partition(":")
            for cid in _unclaimed_ids(path):
                runtime = self._runtime_of(cid)
                if runtime:
                    return ContainerRef(cid, runtime)
        return None

    # ---- walking the hierarchies ------------------------------------------

    @staticmethod
    def _walk(h: _Hierarchy, max_depth: int = 16):
        """(fs path, cgroup path, inode) of every directory of a hierarchy."""
        try:
            yield h.path, h.cgroup_path(h.path), os.stat(h.path).st_ino
        except OSError:
            return
        stack = [(h.path, 0)]
        while stack:
            d, depth = stack.pop()
            try:
                with os.scandir(d) as it:
                    for e in it:
                        if e.is_dir(follow_symlinks=False):
                            yield e.path, h.cgroup_path(e.path), e.inode()
                            if depth < max_depth:
                                stack.append((e.path, depth + 1))
            except OSError:
                continue  # removed while walking, or unreadable

    def _scan(self) -> tuple[dict[str, tuple[ContainerRef, _Dirs]], dict[str, tuple[str, _Dirs]]]:
        """Walk the hierarchies once: refresh the v2 id map, return what was found.

        Returns ``(containers, bare)``: containers by id as (ref, directories by
        hierarchy: "v2" or a v1 controller), and directories that no path shape
        claims but may be a container's: named by a bare 64-hex id (Docker's
        ``--cgroup-parent``) or shaped ``/<namespace>/<id>`` (``ctr run``), by id
        as (containerd namespace or "", directories); they count only if a
        runtime knows the id.
        """
        found: dict[str, tuple[ContainerRef, _Dirs]] = {}
        bare: dict[str, tuple[str, _Dirs]] = {}
        by_ino: dict[int, str] = {}
        walked: list[tuple[str, _Hierarchy]] = []
        if self.v2 is not None:
            walked.append(("v2", self.v2))
        walked += [(c, self.v1[c]) for c in _V1_WALKED if c in self.v1]
        for key, h in walked:
            for fs_path, cg_path, ino in self._walk(h):
                if key == "v2":
                    by_ino[ino] = cg_path
                ref = container_at(cg_path)
                if ref is not None:
                    found.setdefault(ref.id, (ref, {}))[1].setdefault(key, fs_path)
                    continue
                candidate = containerd_candidate(cg_path)
                if candidate is not None:
                    bare.setdefault(candidate[1], (candidate[0], {}))[1].setdefault(key, fs_path)
                elif _HEX64.fullmatch(base := os.path.basename(fs_path)):
                    bare.setdefault(base, ("", {}))[1].setdefault(key, fs_path)
        with self._lock:
            self._by_ino = by_ino
            self._ref_by_ino = {i: r for i, r in self._ref_by_ino.items() if i in by_ino}
            self._last_scan = time.monotonic()
        return found, bare

    @staticmethod
    def _usage(dirs: _Dirs) -> tuple[int, int]:
        """Cumulative CPU ns and memory bytes of a container's own cgroup."""
        cpu = mem = -1
        if "cpuacct" in dirs:  # same count as v2's usage_usec, in ns
            cpu = _read_int(os.path.join(dirs["cpuacct"], "cpuacct.usage"))
        if "v2" in dirs:
            if cpu < 0:
                usec = _read_int(os.path.join(dirs["v2"], "cpu.stat"), "usage_usec")
                cpu = usec * 1000 if usec >= 0 else -1
            mem = _read_int(os.path.join(dirs["v2"], "memory.current"))
        if mem < 0 and "memory" in dirs:
            mem = _read_int(os.path.join(dirs["memory"], "memory.usage_in_bytes"))
        return cpu, mem

    def cgroup_ids(self, container_ids: set[str]) -> set[int]:
        """The v2 cgroup ids (with sub-cgroups) of these containers, for the
        kernel-side filter; ids may be full or 12-character short ids."""
        wanted = {c for c in container_ids if c}
        if not wanted:
            return set()
        with self._lock:
            by_ino = dict(self._by_ino)
        out = set()
        for ino, path in by_ino.items():
            ref = parse_cgroup_path(path)
            if ref is not None and (ref.id in wanted or ref.id[:12] in wanted):
                out.add(ino)
        return out

    def runtime_metadata(self) -> dict[str, tuple[ContainerMeta, bool]]:
        """What every runtime knows, by id: (metadata, whether its runtime is
        connected). Pod metadata wins over none (cri-dockerd and Docker both)."""
        merged: dict[str, tuple[ContainerMeta, bool]] = {}
        for r in self.runtimes:
            meta, connected = r.snapshot()
            for cid, m in meta.items():
                have = merged.get(cid)
                if have is None or (m.pod and not have[0].pod):
                    merged[cid] = (m, connected)
        return merged

    def snapshot(self) -> list[ContainerInfo]:
        """Every container present now, sorted by id (never blocks on a runtime)."""
        found, bare = self._scan()
        meta = self.runtime_metadata()
        for cid, (namespace, dirs) in bare.items():
            if cid in found:
                continue
            if cid in meta:
                found[cid] = (ContainerRef(cid, meta[cid][0].runtime or "docker"), dirs)
            elif namespace:  # ctr's /<namespace>/<id>: containerd may know it
                self._want(cid, namespace)
        out: list[ContainerInfo] = []
        seen: set[str] = set()
        for _, (ref, dirs) in sorted(found.items()):
            m, connected = meta.get(ref.id, (None, False))
            if m is not None and connected and m.state and m.state not in LIVE_STATES:
                continue  # stopped: its cgroup is on its way out
            if m is None:
                self._want(ref.id)
            seen.add(ref.id)
            out.append(self._info(ref, m, dirs))
        for cid, (m, connected) in sorted(meta.items()):
            # running but its cgroup was not found (a layout this walk does not know)
            if connected and cid not in seen and m.state in LIVE_STATES and not m.sandbox:
                out.append(self._info(ContainerRef(cid, m.runtime or "docker"), m, {}))
        out.sort(key=lambda info: info.id)
        return out

    def _info(self, ref: ContainerRef, m: ContainerMeta | None, dirs: _Dirs) -> ContainerInfo:
        cpu, mem = self._usage(dirs)
        if m is None:
            return ContainerInfo(id=ref.id, runtime=ref.runtime, name=ref.short_id,
                                 cpu_ns=cpu, memory_bytes=mem)
        return ContainerInfo(id=ref.id, runtime=m.runtime or ref.runtime, name=m.name or ref.short_id,
                             image=m.image, labels=m.labels, state=m.state,
                             cpu_ns=cpu, memory_bytes=mem, namespace=m.namespace, pod=m.pod,
                             pod_uid=m.pod_uid, pod_labels=m.pod_labels, sandbox=m.sandbox)

    # ---- runtimes --------------------------------------------------------------

    def _runtime_of(self, cid: str) -> str:
        """The runtime that knows this id ("" when none does)."""
        for r in self.runtimes:
            if r.knows(cid):
                return r.runtime or r.kind
        return ""

    def _want(self, cid: str, namespace: str = "") -> None:
        for r in self.runtimes:
            r.want(cid, namespace)

    @property
    def docker_connected(self) -> bool:
        return self.docker is not None and self.docker.connected

    @property
    def docker_error(self) -> str:
        return self.docker.error if self.docker is not None else "disabled"

    def start(self) -> "ContainerDirectory":
        """Start following the runtimes' metadata (their own threads)."""
        for r in self.runtimes:
            r.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        for r in self.runtimes:
            r._stopping.set()  # all at once: each stop waits for its thread
        for r in self.runtimes:
            r.stop(timeout)

    def __enter__(self) -> "ContainerDirectory":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _unclaimed_ids(path: str) -> tuple[str, ...]:
    """Ids in a cgroup path that no shape claims but a runtime may know, deepest
    first: bare 64-hex ids (Docker's --cgroup-parent) and ctr's ``/<namespace>/<id>``."""
    ids = list(reversed(_HEX64.findall(path)))
    candidate = containerd_candidate(path)
    if candidate is not None and candidate[1] not in ids:
        ids.insert(0, candidate[1])
    return tuple(ids)
