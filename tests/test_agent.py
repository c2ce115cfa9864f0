"""The agent for real: the probes, a Docker daemon, a real Prometheus scraping it.

``ctop-ebpf --metrics-addr 127.0.0.1:PORT`` runs as an operator runs it; a
Prometheus of the test's own (Debian's package, unpacked) scrapes it every
second, ``promtool check metrics`` lints what it serves, and the HTTP API
shows what Prometheus stored. Then the bad inputs: addresses that cannot be
bound, scrapers that hang or vanish, twenty at once, and the stop signals.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import threading
import time

import pytest

from tests.agent_env import (
    CTOP,
    ROOT,
    AgentRun,
    Prometheus,
    Unavailable,
    free_port,
    http_get,
    parse,
    unpack_prometheus,
    value,
)
from tests.docker_env import IMAGE

pytestmark = [pytest.mark.kernel, pytest.mark.usefixtures("kernel")]

WRITE_BYTES = 256 * 4096  # what the container writes to a file


@pytest.fixture(scope="session")
def prometheus_bin(tmp_path_factory):
    try:
        return unpack_prometheus(tmp_path_factory.mktemp("prometheus-pkg"))
    except Unavailable as exc:
        pytest.skip(str(exc))


def wait_for(condition, timeout: float, what: str, every: float = 0.5):
    deadline = time.monotonic() + timeout
    while True:
        got = condition()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(every)


@pytest.mark.docker
def test_prometheus_stores_a_containers_file_writes_with_its_name_and_image(
    containers, prometheus_bin, tmp_path
):
    with (
        AgentRun() as agent,
        Prometheus(prometheus_bin, tmp_path / "prom", [f"127.0.0.1:{agent.port}"]) as prom,
    ):
        agent.wait_ticks(1)
        # it writes after a few scrapes have seen it idle
        name, cid = containers(
            "writer",
            "sh",
            "-c",
            f"sleep 5; dd if=/dev/zero of=/tmp/out bs=4096 count={WRITE_BYTES // 4096}; "
            "trap 'exit 0' TERM; while :; do sleep 1; done",
        )
        selector = f'ctop_container_file_bytes_total{{direction="write",container="{name}"}}'

        def moved():
            got = prom.query(f"max_over_time({selector}[5m]) - min_over_time({selector}[5m])")
            return got if got and float(got[0]["value"][1]) >= WRITE_BYTES else None

        wait_for(moved, 45, f"{selector} moving by {WRITE_BYTES}")
        (series,) = prom.query(selector)
        labels = series["metric"]
        assert labels["container_id"] == cid[:12]
        assert labels["image"] == IMAGE and labels["runtime"] == "docker"
        # no pod here: its empty pod and namespace labels are no labels to Prometheus
        assert "pod" not in labels and "namespace" not in labels and labels["container"] == name
        (up,) = prom.targets_up()
        assert up["health"] == "up", up
        # its other series are there with the same labels, and the agent's own
        for family in (
            "ctop_container_syscalls_total",
            "ctop_container_cpu_seconds_total",
            "ctop_container_processes",
            "ctop_container_memory_bytes",
        ):
            got = prom.query(f'{family}{{container="{name}"}}')
            assert got and got[0]["metric"]["image"] == IMAGE, family
        assert float(prom.query(f'ctop_container_syscalls_total{{container="{name}"}}')[0]["value"][1]) > 0
        assert prom.query("ctop_events_total") and prom.query("ctop_build_info")
        assert prom.query("ctop_agent_tick_duration_seconds_count")
        # never decreasing, as Prometheus saw it
        assert not [r for r in prom.query("resets(ctop_container_syscalls_total[5m]) > 0")]
        # promtool lints the text exposition, and the OpenMetrics one parses
        text = agent.scrape_text()
        lint = subprocess.run(
            [str(prometheus_bin / "promtool"), "check", "metrics"],
            input=text,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert lint.returncode == 0, lint.stdout + lint.stderr
        status, headers, body = http_get(
            agent.url, headers={"Accept": "application/openmetrics-text; version=1.0.0"}
        )
        assert status == 200 and headers["Content-Type"].startswith("application/openmetrics-text")
        assert body.endswith(b"# EOF\n")
    assert "Traceback" not in agent.stderr


@pytest.mark.docker
def test_filter_pushed_down_and_per_syscall_series(containers, prometheus_bin):
    name, _ = containers(
        "watched", "sh", "-c", "while :; do cat /etc/hostname /missing > /dev/null 2>&1; sleep 0.1; done"
    )
    other, _ = containers("ignored", "sh", "-c", "while :; do cat /etc/hostname > /dev/null; sleep 0.1; done")
    with AgentRun("--filter", f"container.name = {name}", "--metrics-syscalls") as agent:
        agent.wait_ticks(3)
        text = agent.scrape_text()
        fams = parse(text)
    seen = {s.labels["container"] for s in fams["ctop_container_syscalls"].samples}
    assert seen == {name}, seen  # not the other container, not the host
    assert value(fams, "ctop_container_syscalls", container=name) > 0
    assert value(fams, "ctop_container_syscall_calls", container=name, syscall="openat") > 0
    assert value(fams, "ctop_container_syscall_errnos", container=name, syscall="openat", errno="ENOENT") > 0
    assert value(fams, "ctop_container_syscall_failed_calls", container=name, syscall="openat") > 0
    for fam in fams.values():  # pids, paths and peers never become labels
        for s in fam.samples:
            assert not {"pid", "path", "fd", "peer"} & set(s.labels)
    lint = subprocess.run(
        [str(prometheus_bin / "promtool"), "check", "metrics"],
        input=text,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert other not in text


def run_fails(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    t0 = time.monotonic()
    done = subprocess.run([*CTOP, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    done.seconds = time.monotonic() - t0
    return done


def test_an_address_that_cannot_be_bound_exits_2_with_the_reason():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_fails("--metrics-addr", f"127.0.0.1:{port}")
    assert done.returncode == 2, done.stderr
    assert f"cannot serve metrics on 127.0.0.1:{port}: Address already in use" in done.stderr
    assert done.seconds < 5  # before the probes are compiled
    # an address this host does not have (TEST-NET-1: bind fails, nothing is sent)
    done = run_fails("--metrics-addr", "192.0.2.1:9490")
    assert done.returncode == 2 and "Cannot assign requested address" in done.stderr, done.stderr
    for bad, says in (
        ("9490", "HOST:PORT"),
        ("127.0.0.1:http", "must be a number"),
        ("127.0.0.1:70000", "1-65535"),
        ("::1:9490", "brackets"),
    ):
        done = run_fails("--metrics-addr", bad)
        assert done.returncode == 2 and says in done.stderr, (bad, done.stderr)
    for extra in (("--batch",), ("--view", "files"), ("--read", "x.ctop")):
        done = run_fails("--metrics-addr", "127.0.0.1:9490", *extra)
        assert done.returncode == 2 and extra[0] in done.stderr, (extra, done.stderr)
    done = run_fails("--metrics-syscalls")
    assert done.returncode == 2 and "--metrics-addr" in done.stderr
    assert "Traceback" not in done.stderr


def test_hung_and_vanishing_scrapers_stop_neither_ticks_nor_other_scrapes():
    with AgentRun() as agent:
        agent.wait_ticks(1)
        port = agent.port
        hung = []
        for _ in range(5):  # connect and say nothing
            hung.append(socket.create_connection(("127.0.0.1", port)))
        for _ in range(5):  # half a request line
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(b"GET /metr")
            hung.append(s)
        for _ in range(5):  # a whole request, and the reader stops reading
            s = socket.create_connection(("127.0.0.1", port))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            s.recv(100)
            hung.append(s)
        for _ in range(10):  # a request, then gone before the answer (a reset)
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.close()
        before = agent.ticks()
        # twenty scrapers at once, five scrapes each, while those hang
        results: list = []

        def scraper():
            for _ in range(5):
                t0 = time.monotonic()
                status, _, body = http_get(agent.url, timeout=10)
                results.append((status, time.monotonic() - t0, b"ctop_container_syscalls_total" in body))

        threads = [threading.Thread(target=scraper) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert len(results) == 100 and all(r[0] == 200 and r[2] for r in results), results[:5]
        assert max(r[1] for r in results) < 5, max(r[1] for r in results)
        time.sleep(2)
        assert agent.ticks() >= before + 2  # ticks went on
        assert http_get(f"http://127.0.0.1:{port}/healthz")[0] == 200
        assert http_get(f"http://127.0.0.1:{port}/nothing")[0] == 404
        for s in hung:
            s.close()
        rc, took = agent.stop(signal.SIGTERM)
    assert rc == 0 and took < 5, (rc, took, agent.stderr)
    assert "Traceback" not in agent.stderr and "error serving" not in agent.stderr, agent.stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGHUP])
def test_stop_signals_exit_0_release_the_port_and_finalise_a_capture(sig, tmp_path):
    capture = tmp_path / "agent.ctop"
    with AgentRun("--write", str(capture)) as agent:
        agent.wait_ticks(3)
        rc, took = agent.stop(sig)
    assert rc == 0 and took < 5, (rc, took, agent.stderr)
    assert "Traceback" not in agent.stderr
    replay = subprocess.run(
        [*CTOP, "--read", str(capture), "--batch", "--output", "json", "--view", "processes"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert replay.returncode == 0 and "warning" not in replay.stderr, replay.stderr
    assert len(replay.stdout.splitlines()) >= 2
    with socket.socket() as s:  # nothing listens there any more (a restarted agent can bind it)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", agent.port))
        s.listen()


def test_a_stop_signal_while_the_probes_compile_exits_0():
    port = free_port()
    with AgentRun(port=port) as agent:
        wait_for(lambda: agent.ticks() == 0, 30, "the server answering before the first tick", every=0.05)
        rc, took = agent.stop(signal.SIGTERM)
    assert rc == 0 and took < 5, (rc, took, agent.stderr)
    assert "Traceback" not in agent.stderr
