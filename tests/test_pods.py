"""Pods in the model and the views, from synthetic events: pod fields on every
record of a pod's processes, the Containers view's pod and namespace columns,
the Pods view (grouping, cgroup CPU and memory, the pause container aside,
a pod with no process yet), its drill-down, and pod-label filters."""

from __future__ import annotations

import pytest

from ctop_ebpf.model import events as ev
from ctop_ebpf.model.state import SystemState
from ctop_ebpf.views import engine
from ctop_ebpf.views.catalogue import get_view
from ctop_ebpf.views.filter import parse
from tests.synthetic import snapshot, tick, users

WEB, WEB_POD, DB, OTHER, CTR, LONELY = ("a" * 64, "b" * 64, "c" * 64, "d" * 64, "plain-1", "e" * 64)
LABELS = (("app", "web"), ("app.kubernetes.io/name", "frontend"))


def info(cid, name, *, pod="", ns="", uid="", labels=(), sandbox=False, cpu=-1, mem=-1, runtime="containerd"):
    return ev.ContainerInfo(cid, runtime, name, "nginx:1" if not sandbox else "", (), "running", cpu, mem,
                            namespace=ns, pod=pod, pod_uid=uid, pod_labels=labels, sandbox=sandbox)


def run_ticks():
    s = SystemState(user_name=users)
    for e in (snapshot(1, "init"),
              snapshot(10, "nginx", container=WEB, runtime="kubernetes"),
              snapshot(11, "nginx", ppid=10, container=WEB, runtime="kubernetes"),
              snapshot(12, "pause", container=WEB_POD, runtime="kubernetes"),
              snapshot(20, "postgres", container=DB, runtime="containerd"),
              snapshot(30, "nginx", container=OTHER, runtime="containerd"),
              snapshot(40, "sleep", container=CTR, runtime="containerd")):
        s.apply(e)
    containers = [
        info(WEB, "nginx", pod="web-0", ns="shop", uid="u1", labels=LABELS, cpu=0, mem=3 << 20),
        info(WEB_POD, "POD", pod="web-0", ns="shop", uid="u1", labels=LABELS, sandbox=True, cpu=0, mem=1 << 20),
        info(DB, "postgres", pod="db-0", ns="shop", uid="u2", cpu=0, mem=8 << 20),
        info(OTHER, "nginx", pod="web-0", ns="test", uid="u3", cpu=0, mem=2 << 20),  # same pod name elsewhere
        info(CTR, "plain-1", ns="default"),  # ctr run: a containerd namespace, no pod
        info(LONELY, "idle", pod="idle-0", ns="shop", uid="u4", cpu=0, mem=1 << 20),  # no process seen yet
    ]
    s.end_tick(tick(1, containers=containers))
    later = [ev.ContainerInfo(**{**{f: getattr(c, f) for f in c.__dataclass_fields__},
                                 "cpu_ns": 500_000_000 if c.cpu_ns == 0 else c.cpu_ns}) for c in containers]
    return s.end_tick(tick(2, containers=later, syscalls=[ev.SyscallStat(11, 11, "read", 7, 0, 10)]))


@pytest.fixture(scope="module")
def records():
    return run_ticks()


def test_pod_fields_on_the_records_of_its_processes(records):
    by_pid = {r["proc.pid"]: r for r in records.procs}
    web = by_pid[11]
    assert (web["k8s.pod.name"], web["k8s.ns.name"], web["k8s.pod.uid"]) == ("web-0", "shop", "u1")
    assert web["k8s.pod.label.app"] == "web" and web["k8s.pod.label.app.kubernetes.io/name"] == "frontend"
    assert web["container.namespace"] == "shop" and web["container.runtime"] == "containerd"
    plain = by_pid[40]
    assert plain["container.namespace"] == "default" and "k8s.pod.name" not in plain
    assert "k8s.pod.name" not in by_pid[1] and "container.namespace" not in by_pid[1]


def test_containers_view_pod_and_namespace_columns(records):
    rows = {r.values["name"] + "/" + str(r.values["namespace"]): r.values
            for r in engine.compute(get_view("containers"), records)}
    assert rows["nginx/shop"]["pod"] == "web-0" and rows["nginx/test"]["pod"] == "web-0"
    assert rows["plain-1/default"]["pod"] is None
    assert rows["host/None"]["pod"] is None
    assert rows["idle/shop"]["procs"] == 0 and rows["idle/shop"]["pod"] == "idle-0"  # no process yet


def test_pods_view_rows(records):
    view = get_view("pods")
    rows = {(r.values["namespace"], r.values["pod"]): r.values for r in engine.compute(view, records)}
    assert set(rows) == {("shop", "web-0"), ("shop", "db-0"), ("test", "web-0"), ("shop", "idle-0")}
    web = rows[("shop", "web-0")]
    assert web["containers"] == 1  # its pause container aside
    assert web["procs"] == 3  # both nginx and the pause process
    assert web["memory_bytes"] == 4 << 20  # summed over the pod's containers' cgroups
    assert web["cpu_pct"] == pytest.approx(100.0)  # 0.5 s of CPU in each of two containers over 1 s
    assert web["syscalls"] == 7
    assert rows[("shop", "idle-0")]["procs"] == 0 and rows[("shop", "idle-0")]["containers"] == 1
    assert [c.id for c in view.columns] == ["namespace", "pod", "containers", "procs", "threads", "cpu_pct",
                                            "rss_bytes", "memory_bytes", "syscalls", "file_bytes", "net_bytes"]


def test_pods_view_drills_into_the_pods_containers(records):
    view = get_view("pods")
    row = next(r for r in engine.compute(view, records) if r.values["pod"] == "web-0"
               and r.values["namespace"] == "test")
    target, clause = engine.drill(view, row)
    assert target == "containers"
    assert parse(clause) == parse("k8s.pod.name = web-0 and k8s.ns.name = test")
    names = [r.values["id"] for r in engine.compute(get_view(target), records, parse(clause))]
    assert names == [OTHER[:12]]  # not the web-0 of namespace shop


@pytest.mark.parametrize("text,pids", [
    ("k8s.pod.name = web-0", {10, 11, 12, 30}),
    ("k8s.pod.name = web-0 and k8s.ns.name = shop", {10, 11, 12}),
    ("k8s.pod.label.app = web", {10, 11, 12}),
    ("k8s.pod.label[app.kubernetes.io/name] = frontend", {10, 11, 12}),
    ("k8s.pod.uid = u2", {20}),
    ("container.namespace = default", {40}),
    ("not k8s.pod.name exists", {1, 40}),
])
def test_pod_filters_select_processes(records, text, pids):
    rows = engine.compute(get_view("processes"), records, parse(text))
    assert {r.values["pid"] for r in rows} == pids
