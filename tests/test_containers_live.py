"""The containers view for real: the probes, a Docker daemon, real containers."""

from __future__ import annotations

import pytest

from tests.batch_run import BatchRun, rows

pytestmark = [pytest.mark.kernel, pytest.mark.docker, pytest.mark.usefixtures("kernel")]


def by_name(tick: dict) -> dict[str, dict]:
    return {r["name"]: r for r in tick["rows"]}


def test_containers_named_attributed_and_gone_when_stopped(containers, dockerd):
    first, first_id = containers("alpha", "sh", "-c", "while true; do cat /etc/passwd > /dev/null; sleep 0.1; done")
    with BatchRun("containers") as run, BatchRun("processes") as procs:
        run.wait_ready()
        procs.wait_ready()
        second, second_id = containers("beta", "sleep", "1000")  # started after the tool
        run.collect_until(lambda ticks: second in by_name(ticks[-1]) and first in by_name(ticks[-1]), settle=1)
        tick = by_name(run.ticks[-1])
        for name, cid in ((first, first_id), (second, second_id)):
            row = tick[name]
            assert row["id"] == cid[:12]
            assert row["image"] == "ctop-test-busybox:latest"
            assert row["runtime"] == "docker"
            assert row["procs"] >= 1
        assert tick[first]["syscalls"] > 0
        assert tick[first]["memory_bytes"] and tick[first]["memory_bytes"] > 0
        assert "host" in tick and tick["host"]["id"] == "host" and tick["host"]["procs"] > 1
        # the container's main process is attributed to it in the processes view
        main_pid = dockerd.container_pid(second)
        # (before its exec it is runc's child, still in the host's cgroup)
        procs.collect_until(lambda ticks: any(r["pid"] == main_pid and r["name"] == "sleep"
                                              for r in ticks[-1]["rows"]), settle=0)
        row = next(r for r in procs.ticks[-1]["rows"] if r["pid"] == main_pid)
        assert row["container"] == second
        # stopped during the run: it leaves the view within two ticks
        dockerd.cli("rm", "-f", second)
        seen = len(run.ticks)
        run.collect_until(lambda ticks: second not in by_name(ticks[-1]), settle=0, timeout=10)
        assert len(run.ticks) - seen <= 3  # at delay 0.5 s: allow for the rm itself


def test_filter_on_container_name(containers):
    name, cid = containers("gamma", "sh", "-c", "while true; do cat /etc/hostname > /dev/null; sleep 0.1; done")
    with BatchRun("files", "--filter", f"container.name = {name}") as run:
        run.wait_ready()
        run.collect_until(lambda ticks: any(r["name"] == "/etc/hostname" for r in rows(ticks)), settle=0)
    assert {r["container"] for r in rows(run.ticks)} == {name}


def test_daemon_restart_names_come_back(private_dockerd):
    d = private_dockerd
    name = "ctop-test-restart-live"
    cid = d.run_container(name, "sleep", "1000")
    env = {"DOCKER_HOST": d.host}
    with BatchRun("containers", extra_env=env) as run:
        run.wait_ready()
        run.collect_until(lambda ticks: name in by_name(ticks[-1]), settle=0)
        d.stop()  # containers keep running (live-restore is off: they stop with the daemon)
        run.next_tick()
        run.next_tick()
        assert run.proc.poll() is None  # no crash, ticks keep coming
        d.start()
        d.cli("start", name, check=False)
        run.collect_until(lambda ticks: name in by_name(ticks[-1]), settle=0, timeout=60)
    assert by_name(run.ticks[-1])[name]["id"] == cid[:12]
    assert "Traceback" not in run.stderr
