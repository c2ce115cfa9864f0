"""ContainerDirectory: fake cgroup trees (v1, v2, hybrid) and a real Docker daemon."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from ctop_ebpf.model.events import ContainerInfo
from ctop_ebpf.probes.containers.cgroups import ContainerRef
from ctop_ebpf.probes.containers.directory import ContainerDirectory, labels_get
from tests.data.cgroup_samples import C, D, K, P

pytest_plugins = ["tests.conftest_docker"]  # harmless if tests/conftest.py loads it too

D_SHORT = D[:12]


def write(path: Path, text: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def v1_tree(root: Path, cgpath: str, cpu_ns: int, mem: int) -> None:
    """A container's directories in the v1 cpuacct, memory and name=systemd hierarchies."""
    rel = cgpath.strip("/")
    for h in ("cpuacct", "memory", "systemd"):
        write(root / h / "cgroup.procs")
        (root / h / rel).mkdir(parents=True, exist_ok=True)
    write(root / "cpuacct" / rel / "cpuacct.usage", f"{cpu_ns}\n")
    write(root / "memory" / rel / "memory.usage_in_bytes", f"{mem}\n")


def v2_dir(v2root: Path, cgpath: str, usage_usec: int | None, mem: int | None) -> Path:
    d = v2root / cgpath.strip("/")
    d.mkdir(parents=True, exist_ok=True)
    if usage_usec is not None:
        write(d / "cpu.stat", f"usage_usec {usage_usec}\nuser_usec 1\nsystem_usec 2\n")
    if mem is not None:
        write(d / "memory.current", f"{mem}\n")
    return d


def proc_cgroup(proc: Path, pid: int, text: str) -> None:
    write(proc / str(pid) / "cgroup", text)


def by_id(infos: list[ContainerInfo]) -> dict[str, ContainerInfo]:
    return {i.id: i for i in infos}


# ---- fake trees -------------------------------------------------------------


@pytest.fixture
def v2_host(tmp_path):
    cg, proc = tmp_path / "cg", tmp_path / "proc"
    write(cg / "cgroup.controllers", "cpu memory pids\n")
    v2_dir(cg, "/system.slice/ssh.service", 5, 6)
    v2_dir(cg, f"/system.slice/docker-{D}.scope", 1500, 4096)
    v2_dir(cg, f"/system.slice/docker-{D}.scope/init.scope", 7, 8)  # sub-cgroup: same container
    v2_dir(cg, f"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-podx.slice/"
               f"cri-containerd-{K}.scope", 2, None)
    v2_dir(cg, f"/kubepods.slice/kubepods-pody.slice/crio-conmon-{C}.scope", 1, 1)
    v2_dir(cg, "/lxc.payload.web01", None, 100)
    v2_dir(cg, r"/machine.slice/machine-foo\x2dbar.scope/payload", 1, 1)
    v2_dir(cg, f"/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{P}.scope", 3, 4)
    proc_cgroup(proc, 10, f"0::/system.slice/docker-{D}.scope\n")
    proc_cgroup(proc, 11, "0::/user.slice/user-1000.slice/session-1.scope\n")
    return ContainerDirectory(cgroup_root=str(cg), proc_root=str(proc), docker_enabled=False), cg


def test_v2_snapshot(v2_host):
    d, _ = v2_host
    infos = by_id(d.snapshot())
    assert set(infos) == {D, K, "web01", "foo-bar", P}
    dock = infos[D]
    assert (dock.runtime, dock.name) == ("docker", D_SHORT)
    assert (dock.cpu_ns, dock.memory_bytes) == (1_500_000, 4096)
    assert (infos[K].runtime, infos[K].cpu_ns, infos[K].memory_bytes) == ("containerd", 2000, -1)
    lxc = infos["web01"]
    assert (lxc.runtime, lxc.name, lxc.cpu_ns, lxc.memory_bytes) == ("lxc", "web01", -1, 100)
    assert infos["foo-bar"].runtime == "nspawn"
    assert infos[P].runtime == "podman"
    assert all(i.state == "" and i.image == "" for i in infos.values())


def test_v2_for_pid(v2_host):
    d, _ = v2_host
    assert d.for_pid(10) == ContainerRef(D, "docker")
    assert d.for_pid(11) is None
    assert d.for_pid(999999) is None  # vanished


def test_v2_for_cgroup_id(v2_host):
    d, cg = v2_host
    scope = cg / f"system.slice/docker-{D}.scope"
    assert d.for_cgroup_id(os.stat(scope).st_ino) == ContainerRef(D, "docker")
    assert d.for_cgroup_id(os.stat(scope / "init.scope").st_ino) == ContainerRef(D, "docker")
    assert d.for_cgroup_id(os.stat(cg).st_ino) is None  # root
    assert d.for_cgroup_id(os.stat(cg / "system.slice/ssh.service").st_ino) is None
    conmon = cg / f"kubepods.slice/kubepods-pody.slice/crio-conmon-{C}.scope"
    assert d.for_cgroup_id(os.stat(conmon).st_ino) is None


def test_cgroup_id_rescan_is_rate_limited(v2_host, monkeypatch):
    d, cg = v2_host
    scans = []
    real_scan = d._scan
    monkeypatch.setattr(d, "_scan", lambda: scans.append(1) or real_scan())
    assert d.for_cgroup_id(os.stat(cg).st_ino) is None  # first lookup: scan
    assert len(scans) == 1
    new = "a" * 64
    ino = os.stat(v2_dir(cg, f"/system.slice/docker-{new}.scope", 1, 1)).st_ino
    for _ in range(100):  # misses within 0.5 s do not rescan
        assert d.for_cgroup_id(ino) is None
    assert len(scans) == 1
    time.sleep(0.55)
    assert d.for_cgroup_id(ino) == ContainerRef(new, "docker")
    assert len(scans) == 2
    for _ in range(100):  # hits are cached
        d.for_cgroup_id(ino)
    assert len(scans) == 2


def test_v1_tree(tmp_path):
    cg, proc = tmp_path / "cg", tmp_path / "proc"
    v1_tree(cg, f"/docker/{D}", 123456789, 8192)
    v1_tree(cg, "/lxc/web01", 5, 6)
    v1_tree(cg, "/user.slice", 1, 1)
    write(cg / "systemd/machine.slice/machine-arch.scope/cgroup.procs")  # name=systemd only
    proc_cgroup(proc, 42, "".join(f"{i}:{c}:/docker/{D}\n" for i, c in
                                  enumerate(["cpuacct", "memory", "name=systemd"], 1)))
    d = ContainerDirectory(cgroup_root=str(cg), proc_root=str(proc), docker_enabled=False)
    assert d.v2 is None and {"cpuacct", "memory", "name=systemd"} <= set(d.v1)
    infos = by_id(d.snapshot())
    assert set(infos) == {D, "web01", "arch"}
    assert (infos[D].cpu_ns, infos[D].memory_bytes) == (123456789, 8192)
    arch = infos["arch"]
    assert (arch.runtime, arch.cpu_ns, arch.memory_bytes) == ("nspawn", -1, -1)
    assert d.for_pid(42) == ContainerRef(D, "docker")
    assert d.for_cgroup_id(12345) is None  # no v2 hierarchy at all


def test_hybrid_tree(tmp_path):
    """This CI host's layout: v1 controllers plus v2 at unified/, Docker in both."""
    cg, proc = tmp_path / "cg", tmp_path / "proc"
    v1_tree(cg, f"/docker/{D}", 27_128_128, 1 << 20)
    write(cg / "unified" / "cgroup.controllers", "")
    unified = v2_dir(cg / "unified", f"/docker/{D}", 27128, None)  # no memory controller on v2
    d = ContainerDirectory(cgroup_root=str(cg), proc_root=str(proc), docker_enabled=False)
    assert d.v2 is not None and d.v2.path == str(cg / "unified")
    info = by_id(d.snapshot())[D]
    assert (info.cpu_ns, info.memory_bytes) == (27_128_128, 1 << 20)  # ns from cpuacct
    assert d.for_cgroup_id(os.stat(unified).st_ino) == ContainerRef(D, "docker")
    # Without the v1 cpuacct directory, v2's usage_usec is used.
    (cg / "cpuacct" / "docker" / D / "cpuacct.usage").unlink()
    assert by_id(d.snapshot())[D].cpu_ns == 27_128_000


def test_hierarchies_from_mountinfo(tmp_path):
    cg, proc = tmp_path / "cg", tmp_path / "proc"
    v1_tree(cg, f"/docker/{D}", 1, 2)
    unified = v2_dir(cg / "unified", f"/docker/{D}", 3, None)
    lines = [f"31 23 0:28 / {cg} rw - tmpfs tmpfs rw",
             f"33 31 0:30 / {cg}/cpuacct rw - cgroup cgroup rw,cpuacct",
             f"35 31 0:32 / {cg}/memory rw - cgroup cgroup rw,memory",
             f"40 31 0:37 / {cg}/systemd rw - cgroup cgroup rw,name=systemd",
             f"41 31 0:38 / {cg}/unified rw - cgroup2 cgroup2 rw",
             "42 31 0:39 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory",  # not ours
             "garbage line"]
    write(proc / "self" / "mountinfo", "\n".join(lines) + "\n")
    d = ContainerDirectory(cgroup_root=str(cg), proc_root=str(proc), docker_enabled=False)
    assert d.v2.path == str(cg / "unified")
    assert d.v1["memory"].path == str(cg / "memory")
    assert d.for_cgroup_id(os.stat(unified).st_ino) == ContainerRef(D, "docker")
    assert by_id(d.snapshot())[D].cpu_ns == 1


def test_empty_or_missing_root(tmp_path):
    d = ContainerDirectory(cgroup_root=str(tmp_path / "nope"), proc_root=str(tmp_path),
                           docker_enabled=False)
    assert d.snapshot() == []
    assert d.for_cgroup_id(1) is None
    assert d.for_pid(1) is None


def test_malformed_stat_files(tmp_path):
    cg = tmp_path / "cg"
    write(cg / "cgroup.controllers")
    v2_dir(cg, f"/docker/{D}", None, None)
    write(cg / "docker" / D / "cpu.stat", "usage_usec lots\n")
    write(cg / "docker" / D / "memory.current", "\n")
    d = ContainerDirectory(cgroup_root=str(cg), proc_root=str(tmp_path), docker_enabled=False)
    info = by_id(d.snapshot())[D]
    assert (info.cpu_ns, info.memory_bytes) == (-1, -1)


def test_labels_get():
    info = ContainerInfo(id=D, runtime="docker", labels=(("io.kubernetes.pod.name", "web-0"),
                                                        ("com.docker.compose.project", "shop")))
    assert labels_get(info, "io.kubernetes.pod.name") == "web-0"
    assert labels_get(info, "com.docker.compose.project") == "shop"
    assert labels_get(info, "io.kubernetes.pod.namespace") == ""
    assert labels_get(info, "missing", "-") == "-"


def test_docker_socket_missing_never_blocks(v2_host, tmp_path):
    _, cg = v2_host
    d = ContainerDirectory(cgroup_root=str(cg), proc_root=str(tmp_path / "proc"),
                           docker_base_url=f"unix://{tmp_path}/no-such.sock").start()
    try:
        deadline = time.monotonic() + 5
        while not d.docker_error and time.monotonic() < deadline:
            time.sleep(0.05)
        assert d.docker_error and not d.docker_connected
        t = time.monotonic()
        infos = by_id(d.snapshot())
        assert time.monotonic() - t < 0.1
        assert infos[D].name == D_SHORT
    finally:
        t = time.monotonic()
        d.stop()
        assert time.monotonic() - t < 1.0


# ---- a real Docker daemon ---------------------------------------------------


def wait_for(predicate, timeout: float = 10.0, step: float = 0.1):
    """Poll until predicate() is truthy; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(step)


def name_of(d: ContainerDirectory, cid: str) -> str | None:
    """The name snapshot() gives a container, None while it is absent."""
    info = by_id(d.snapshot()).get(cid)
    return info.name if info else None


def v2_inode_of(d: ContainerDirectory, pid: int) -> int:
    """The cgroup v2 id (directory inode) of a process, as BPF would report it."""
    text = Path(f"/proc/{pid}/cgroup").read_text()
    v2path = next(line.split(":", 2)[2] for line in text.splitlines() if line.startswith("0::"))
    return os.stat(d.v2.path + v2path).st_ino


@pytest.fixture
def directory():
    d = ContainerDirectory().start()
    yield d
    d.stop()


@pytest.mark.docker
def test_docker_two_containers(dockerd, containers, directory):
    from tests.docker_env import IMAGE, LABEL

    assert wait_for(lambda: directory.docker_connected, 15), directory.docker_error
    name_a, id_a = containers("a")
    name_b, id_b = containers("b")  # started after the directory: learnt from events

    def both():
        infos = by_id(directory.snapshot())
        if all(i in infos and infos[i].name in (name_a, name_b) for i in (id_a, id_b)):
            return infos
        return None

    infos = wait_for(both, 10)
    assert infos, "both containers with names"
    for cid, name in ((id_a, name_a), (id_b, name_b)):
        info = infos[cid]
        assert (info.name, info.image) == (name, IMAGE)
        assert (info.runtime, info.state) == ("docker", "running")
        assert labels_get(info, LABEL.split("=")[0]) == "1"
        assert info.cpu_ns > 0 and info.memory_bytes > 0

    pid = dockerd.container_pid(name_a)
    assert directory.for_pid(pid) == ContainerRef(id_a, "docker")
    assert directory.for_cgroup_id(v2_inode_of(directory, pid)) == ContainerRef(id_a, "docker")
    assert directory.for_cgroup_id(os.stat(directory.v2.path).st_ino) is None  # host root
    assert directory.for_pid(os.getpid()) is None

    dockerd.cli("stop", name_b)
    assert wait_for(lambda: id_b not in by_id(directory.snapshot()), 3), "stopped container left"
    assert id_a in by_id(directory.snapshot())


@pytest.mark.docker
def test_docker_daemon_restart(private_dockerd):
    """Stopping the daemon: nothing raises or blocks; names come back on restart."""
    daemon = private_dockerd
    d = ContainerDirectory(docker_base_url=daemon.host).start()
    try:
        name = "ctop-test-restart-%d" % os.getpid()
        cid = daemon.run_container(name, args=["--restart", "unless-stopped"])
        assert wait_for(lambda: name_of(d, cid) == name, 10)
        pid = daemon.container_pid(name)
        ino = v2_inode_of(d, pid)

        daemon.stop()
        worst = 0.0
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:  # daemon down: every call stays fast
            for call in (d.snapshot, lambda: d.for_pid(pid), lambda: d.for_cgroup_id(ino),
                         lambda: d.for_cgroup_id(ino + 10**9)):
                t = time.monotonic()
                call()
                worst = max(worst, time.monotonic() - t)
            time.sleep(0.05)
        assert worst < 0.1, f"a call took {worst:.3f}s with the daemon down"
        assert not d.docker_connected and d.docker_error

        daemon.start()
        assert wait_for(lambda: d.docker_connected, 15), d.docker_error
        # The container comes back (restart policy) with its name...
        assert wait_for(lambda: name_of(d, cid) == name, 20)
        # ...and one made after the restart is named too: the stream is followed again.
        name2 = name + "-after"
        cid2 = daemon.run_container(name2)
        assert wait_for(lambda: name_of(d, cid2) == name2, 10)
    finally:
        t = time.monotonic()
        d.stop()
        assert time.monotonic() - t < 2.5


@pytest.mark.docker
def test_docker_custom_cgroup_parent(dockerd, containers, directory):
    """A bare id under an unknown parent is a container once Docker knows it."""
    assert wait_for(lambda: directory.docker_connected, 15), directory.docker_error
    parent = f"ctop-test-parent-{os.getpid()}"
    name, cid = containers("parent", args=["--cgroup-parent", parent])
    pid = dockerd.container_pid(name)
    assert f"/{parent}/{cid}" in Path(f"/proc/{pid}/cgroup").read_text()
    info = wait_for(lambda: by_id(directory.snapshot()).get(cid), 10)
    assert info and (info.name, info.runtime) == (name, "docker")
    assert info.cpu_ns > 0 and info.memory_bytes > 0
    assert directory.for_pid(pid) == ContainerRef(cid, "docker")
    assert directory.for_cgroup_id(v2_inode_of(directory, pid)) == ContainerRef(cid, "docker")
    # Looked up before Docker is known, the id is not cached as host for good.
    late = ContainerDirectory()
    assert late.for_cgroup_id(v2_inode_of(late, pid)) is None
    late.start()
    try:
        assert wait_for(lambda: late.for_cgroup_id(v2_inode_of(late, pid)), 10) == \
            ContainerRef(cid, "docker")
    finally:
        late.stop()
