"""Runtime metadata from real runtimes, without the probes: a containerd with
its CRI plugin (pods made through the CRI as the kubelet makes them), a
plain containerd container (``ctr run``), and podman. The directory reads
the real cgroups of their processes."""

from __future__ import annotations

import glob
import os
import time

import pytest

from ctop_ebpf.probes.containers.cgroups import parse_cgroup
from ctop_ebpf.probes.containers.cri import CriClient
from ctop_ebpf.probes.containers.directory import ContainerDirectory
from tests import cri_env, podman_env

pytestmark = [pytest.mark.runtimes]


def wait_for(predicate, timeout: float = 15.0, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = predicate()
        if got:
            return got
        time.sleep(every)
    return predicate()


def directory(*endpoints: str, warn=None) -> ContainerDirectory:
    return ContainerDirectory(docker_enabled=False, default_endpoints=(), runtime_endpoints=list(endpoints),
                              warn=warn).start()


def test_cri_client_against_containerd(cri):
    pod = cri.run_pod("api-0", "shop", {"app": "api", "app.kubernetes.io/name": "backend"})
    cid = cri.run_container(pod, "server")
    client = CriClient(cri.endpoint)
    try:
        assert client.version()[0] == "containerd"
        pods = {p.id: p for p in client.list_pods()}
        p = pods[pod.sandbox_id]
        assert (p.name, p.namespace, p.uid, p.state) == ("api-0", "shop", pod.uid, "running")
        assert dict(p.labels)["app.kubernetes.io/name"] == "backend"
        c = {c.id: c for c in client.list_containers()}[cid]
        assert (c.pod_sandbox_id, c.name, c.state) == (pod.sandbox_id, "server", "running")
        assert client.container_image(cid) == cri_env.IMAGE
    finally:
        client.close()


def test_pods_named_from_their_cgroups(cri):
    notices: list[str] = []
    pod = cri.run_pod("web-0", "shop", {"app": "web"})
    cid = cri.run_container(pod, "nginx")
    bare = cri.run_pod("bare-0", "default", cgroup_parent=False)  # cgroup /k8s.io/<id>
    bare_cid = cri.run_container(bare, "main")
    d = directory(cri.endpoint, warn=notices.append)
    try:
        pid = cri.container_pid(cid)
        assert parse_cgroup(open(f"/proc/{pid}/cgroup").read()).id == cid  # /kubepods/besteffort/pod<uid>/<id>
        info = wait_for(lambda: (i := {i.id: i for i in d.snapshot()}.get(cid)) and i.pod and i)
        assert info, "the CRI container never got its pod"
        assert (info.name, info.image, info.runtime) == ("nginx", cri_env.IMAGE, "containerd")
        assert (info.pod, info.namespace, info.pod_uid) == ("web-0", "shop", pod.uid)
        assert dict(info.pod_labels)["app"] == "web"
        assert info.memory_bytes > 0 and info.cpu_ns >= 0
        snap = {i.id: i for i in d.snapshot()}
        sandbox = snap[pod.sandbox_id]  # the pod's pause container
        assert (sandbox.name, sandbox.pod, sandbox.sandbox) == ("POD", "web-0", True)
        other = snap[bare_cid]
        assert (other.name, other.pod, other.namespace, other.runtime) == ("main", "bare-0", "default",
                                                                         "containerd")
        assert d.for_pid(pid).id == cid
        # a pod started after the directory: looked up when its cgroup appears
        late = cri.run_pod("late-0", "shop")
        late_cid = cri.run_container(late, "worker")
        got = wait_for(lambda: (i := {i.id: i for i in d.snapshot()}.get(late_cid)) and i.pod and i, timeout=10)
        assert got and got.pod == "late-0" and got.name == "worker"
        # removed: gone from the snapshot
        cri.remove_pod(late)
        assert wait_for(lambda: late_cid not in {i.id for i in d.snapshot()}, timeout=10)
    finally:
        d.stop()
    assert notices == []


def test_plain_containerd_container_outside_kubernetes(cri):
    """``ctr run``: cgroup /<namespace>/<id>, named by containerd's own store."""
    cri.ctr("images", "import", "--snapshotter", "native", "-", namespace="ctop-test",
            stdin=cri_env.image_archive(cri_env.IMAGE, ("sh",)))
    cri.ctr("run", "-d", "--snapshotter", "native", cri_env.IMAGE, "plain-1",
            "sh", "-c", "while :; do sleep 1; done", namespace="ctop-test")
    d = directory(cri.endpoint)
    try:
        pid = int(cri.ctr("tasks", "ls", namespace="ctop-test").stdout.decode().splitlines()[1].split()[1])
        assert parse_cgroup(open(f"/proc/{pid}/cgroup").read()) is None  # not claimed by the path alone
        info = wait_for(lambda: {i.id: i for i in d.snapshot()}.get("plain-1"))
        assert info, "the ctr container was not found"
        assert (info.name, info.image, info.namespace, info.pod, info.runtime) == (
            "plain-1", cri_env.IMAGE, "ctop-test", "", "containerd")
        assert d.for_pid(pid).id == "plain-1"
    finally:
        d.stop()
        cri.ctr("tasks", "kill", "-s", "KILL", "plain-1", namespace="ctop-test", check=False)
        wait_for(lambda: b"plain-1" not in cri.ctr("tasks", "ls", namespace="ctop-test").stdout, 10)
        cri.ctr("containers", "rm", "plain-1", namespace="ctop-test", check=False)
        for parent in glob.glob("/sys/fs/cgroup/*/ctop-test"):  # the namespace's empty cgroups
            try:
                os.rmdir(parent)
            except OSError:
                pass


def test_runtime_restart_names_come_back(cri):
    notices: list[str] = []
    pod = cri.run_pod("db-0", "shop")
    cid = cri.run_container(pod, "postgres")
    d = directory(cri.endpoint, warn=notices.append)
    try:
        assert wait_for(lambda: (i := {i.id: i for i in d.snapshot()}.get(cid)) and i.name == "postgres")
        cri.stop()  # the containers keep running under their shims
        assert wait_for(lambda: notices, timeout=10), "no notice when the runtime went away"
        info = {i.id: i for i in d.snapshot()}[cid]
        assert info.name == "postgres"  # what was learnt is kept meanwhile
        cri.start()
        late = cri.run_pod("after-restart", "shop")
        late_cid = cri.run_container(late, "w")
        got = wait_for(lambda: (i := {i.id: i for i in d.snapshot()}.get(late_cid)) and i.pod and i, timeout=15)
        assert got and got.pod == "after-restart"
        assert {i.id: i for i in d.snapshot()}[cid].name == "postgres"
    finally:
        d.stop()
    assert len(notices) == 1 and "containerd at" in notices[0], notices


def test_podman_container_named(podman_service):
    name = "ctop-test-podman-1"
    cid = podman_service.run(name)
    d = directory(podman_service.endpoint)
    try:
        pid = podman_service.pid(name)
        ref = parse_cgroup(open(f"/proc/{pid}/cgroup").read())
        assert (ref.id, ref.runtime) == (cid, "podman")
        info = wait_for(lambda: (i := {i.id: i for i in d.snapshot()}.get(cid)) and i.name == name and i)
        assert info, "the podman container was not named"
        assert (info.image, info.runtime, info.pod) == (podman_env.IMAGE, "podman", "")
    finally:
        d.stop()
        podman_service.cli("rm", "-f", "-t", "1", name, check=False)
