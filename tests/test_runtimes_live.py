"""Kubernetes pods and podman containers for real, with the probes and without
Docker: batch JSON of the Containers, Pods and Processes views, filters on
pod fields, a pod started after ctop-ebpf, the runtime restarted, an
endpoint that hangs; and in the TUI, a pod removed while drilled into."""

from __future__ import annotations

import os
import shlex
import socket
import time

import pytest

from tests import cri_env, podman_env
from tests.batch_run import BatchRun, rows
from tests.test_tui_tmux import BINARY, ROOT, Pane, tmux

pytestmark = [pytest.mark.kernel, pytest.mark.runtimes, pytest.mark.usefixtures("kernel")]

WORK = ("sh", "-c", "trap 'exit 0' TERM; while :; do cat /etc/passwd > /dev/null; sleep 0.2; done")


def by(tick: dict, column: str) -> dict:
    return {r[column]: r for r in tick["rows"]}


@pytest.fixture
def hanging_endpoint(tmp_path):
    """A unix socket that accepts connections and never answers."""
    path = f"{tmp_path}/hang.sock"
    s = socket.socket(socket.AF_UNIX)
    s.bind(path)
    s.listen(64)
    yield f"unix://{path}"
    s.close()


def test_pods_and_podman_without_docker(cri, podman_service, hanging_endpoint):
    pod = cri.run_pod("web-0", "shop", {"app": "web"})
    cri.run_container(pod, "nginx", *WORK)
    pname = "ctop-test-podman-live"
    podman_service.run(pname, *WORK)
    args = ("--no-docker", "--runtime-endpoint", cri.endpoint, "--runtime-endpoint", podman_service.endpoint,
            "--runtime-endpoint", hanging_endpoint)
    try:
        with BatchRun("containers", *args) as conts, BatchRun("pods", *args) as pods, \
                BatchRun("processes", *args, "--filter", "k8s.pod.name = late-0") as procs:
            for run in (conts, pods, procs):
                run.wait_ready(120)
            late = cri.run_pod("late-0", "shop", {"app": "late"})  # started after ctop-ebpf
            cri.run_container(late, "worker", *WORK)
            conts.collect_until(lambda t: {"nginx", "worker", pname} <= set(by(t[-1], "name")), timeout=30,
                                settle=1)
            tick = by(conts.ticks[-1], "name")
            nginx, worker, pm = tick["nginx"], tick["worker"], tick[pname]
            assert (nginx["pod"], nginx["namespace"], nginx["image"], nginx["runtime"]) == (
                "web-0", "shop", cri_env.IMAGE, "containerd")
            assert (worker["pod"], worker["namespace"]) == ("late-0", "shop")
            assert nginx["procs"] >= 1 and nginx["syscalls"] > 0
            assert (pm["image"], pm["runtime"], pm["pod"], pm["namespace"]) == (
                podman_env.IMAGE, "podman", None, None)
            assert pm["procs"] >= 1
            assert "POD" in tick  # the pods' pause containers, named
            # the Pods view: one row per pod, its containers counted without the pause one
            pods.collect_until(lambda t: {"web-0", "late-0"} <= set(by(t[-1], "pod")), timeout=30, settle=0)
            prow = by(pods.ticks[-1], "pod")["web-0"]
            assert pods.ticks[-1]["columns"] == ["namespace", "pod", "containers", "procs", "threads", "cpu_pct",
                                                 "rss_bytes", "memory_bytes", "syscalls", "file_bytes",
                                                 "net_bytes"]
            assert (prow["namespace"], prow["containers"]) == ("shop", 1)
            assert prow["procs"] >= 2 and prow["memory_bytes"] > 0  # pause + the worker loop
            assert pname not in {r["pod"] for r in pods.ticks[-1]["rows"]}
            # the filter on the pod's name selects its processes, and only them
            procs.collect_until(lambda t: any(r["cmdline"] == "cat /etc/passwd" for r in t[-1]["rows"]),
                                timeout=30, settle=1)
            assert {r["container"] for r in rows(procs.ticks[-3:])} <= {"worker", "POD"}
            # the runtime restarted: ctop-ebpf goes on, names come back for pods made after
            cri.stop()
            for _ in range(6):  # 3 s: longer than the 2 s between listings, so one fails
                conts.next_tick()
            cri.start()
            again = cri.run_pod("again-0", "shop")
            cri.run_container(again, "after", *WORK)
            conts.collect_until(lambda t: (r := by(t[-1], "name").get("after")) and r["pod"] == "again-0",
                                timeout=40, settle=0)
            assert "nginx" in by(conts.ticks[-1], "name")
            # the hanging endpoint (a 2 s deadline per call, retried) cost the ticks nothing:
            # they keep about their 0.5 s pace (the median, as three ctop-ebpf and the pods
            # starting load the machine; a tick waiting on the endpoint would take 2.5 s)
            walls = [t["ts"] for t in conts.ticks[1:]]
            gaps = sorted(b - a for a, b in zip(walls, walls[1:]))
            assert gaps[len(gaps) // 2] < 1.25, gaps
    finally:
        podman_service.cli("rm", "-f", "-t", "1", pname, check=False)
    for run in (conts, pods, procs):
        assert "Traceback" not in run.stderr
        assert run.stderr.count("hangs") == 1, run.stderr  # one notice for the hanging endpoint
    assert "containerd at" in conts.stderr  # and one when the runtime went away


@pytest.fixture
def tmux_socket():
    sock = f"ctop-k8s-{os.getpid()}"
    yield sock
    tmux(sock, "kill-server", check=False)


def test_tui_pod_removed_while_drilled_into(cri, tmux_socket, tmp_path):
    pod = cri.run_pod("gone-0", "shop")
    cri.run_container(pod, "app", *WORK)
    command = (f"unset COLUMNS LINES; cd {shlex.quote(str(ROOT))} && {shlex.quote(str(BINARY))} --no-docker "
               f"--view pods --runtime-endpoint {shlex.quote(cri.endpoint)}; "
               f"echo $? > {shlex.quote(str(tmp_path / 'rc'))}; sleep 60")
    tmux(tmux_socket, "new-session", "-d", "-s", "ctop", "-x", "160", "-y", "45", command)
    pane = Pane(tmux_socket, "ctop")
    pane.wait(lambda t: "gone-0" in t and "▶ LIVE" in t, "the pod in the Pods view", timeout=120)
    pane.keys("\\", literal=True)
    pane.wait(lambda t: "Filter:" in t, "the filter bar")
    pane.keys("k8s.pod.name = gone-0", literal=True)
    pane.keys("Enter")
    pane.wait(lambda t: "filter k8s.pod.name = gone-0" in t, "the filtered Pods view")
    pane.keys("Enter")  # drill into the pod: its containers
    text = pane.wait(lambda t: "K8s Pods › shop/gone-0 › Containers" in t and " app " in t,
                     "the pod's containers")
    assert " POD " in text
    cri.remove_pod(pod)
    text = pane.wait(lambda t: "gone: nothing here any more" in t, "the notice that the pod has gone",
                     timeout=30)
    assert "Traceback" not in text
    pane.keys("BSpace")
    pane.wait(lambda t: "› Containers" not in t and " K8s Pods " in t.splitlines()[2], "back in the Pods view")
    pane.keys("q")
    deadline = time.monotonic() + 30
    while not (tmp_path / "rc").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert (tmp_path / "rc").read_text().strip() == "0"
