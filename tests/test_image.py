"""The node agent's image: built without a registry, run as a DaemonSet pod runs.

``make image`` makes the base with mmdebstrap + ``docker import`` (kept for
the next build), the context (wheels, kernel headers) and builds the
Containerfile with ``--network none``. The agent then runs in the image
as deploy/daemonset.yaml runs it: the host's pid namespace, its
capabilities (Docker 20.10 knows CAP_BPF and CAP_PERFMON only as
CAP_SYS_ADMIN; this sandbox cannot grant CAP_SYS_RESOURCE), seccomp
unconfined, a read-only root with a /tmp, and its mounts; from inside it
names and counts a container started on the host. The TUI runs in that
container as ``kubectl exec -it`` would start it, and a capture recorded
there is copied out as ``kubectl cp`` does and replayed on the host.
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from tests import deploy_env
from tests.agent_env import CTOP, ROOT, free_port, http_get, parse, value
from tests.docker_env import IMAGE as BUSYBOX
from tests.test_tui_tmux import Pane

pytestmark = [pytest.mark.kernel, pytest.mark.docker, pytest.mark.usefixtures("kernel")]

IMAGE = "ctop-ebpf:test"


@pytest.fixture(scope="module")
def agent_image(dockerd):
    t0 = time.monotonic()
    done = subprocess.run(
        ["make", "image", f"IMAGE={IMAGE}"], cwd=ROOT, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    print(f"make image: {time.monotonic() - t0:.0f} s")
    return IMAGE


def test_the_agent_in_its_image_names_and_counts_a_container_started_on_the_host(
    dockerd, containers, agent_image, tmp_path
):
    port = free_port()
    name = f"ctop-test-agent-{port}"
    # what deploy/daemonset.yaml gives its pod, in docker run's words (host network: the test scrapes it)
    pod = deploy_env.docker_run_args()
    dockerd.cli(
        "run",
        "-d",
        "--name",
        name,
        "--label",
        "ctop-ebpf-test=1",
        "--network",
        "host",
        *pod,
        agent_image,
        "--metrics-addr",
        f"127.0.0.1:{port}",
        "--delay",
        "0.5",
    )
    try:
        url = f"http://127.0.0.1:{port}/metrics"

        def scrape():
            try:
                status, _, body = http_get(url, timeout=5)
            except OSError:
                return None
            return parse(body.decode()) if status == 200 else None

        deadline = time.monotonic() + 90
        while (fams := scrape()) is None or not value(
            fams, "ctop_agent_tick_duration_seconds", "ctop_agent_tick_duration_seconds_count"
        ):
            state = dockerd.cli("inspect", "-f", "{{.State.Status}}", name).stdout.strip()
            assert state == "running" and time.monotonic() < deadline, dockerd.cli("logs", name).stderr
            time.sleep(0.5)
        watched, cid = containers(
            "watched", "sh", "-c", "while :; do cat /etc/hostname > /dev/null; sleep 0.1; done"
        )
        deadline = time.monotonic() + 30
        while not (value(fams := scrape(), "ctop_container_syscalls", container=watched) or 0) > 50:
            assert time.monotonic() < deadline, [s for s in fams["ctop_container_syscalls"].samples]
            time.sleep(0.5)
        sample = next(s for s in fams["ctop_container_syscalls"].samples if s.labels["container"] == watched)
        assert sample.labels["container_id"] == cid[:12]
        assert sample.labels["image"] == BUSYBOX and sample.labels["runtime"] == "docker"
        assert value(fams, "ctop_container_processes", container=watched) >= 1
        assert value(fams, "ctop_container_file_bytes", direction="read", container=watched) > 0
        # the host's processes, seen through the host pid namespace
        assert value(fams, "ctop_container_processes", container="host") > 5
        # the agent names itself too
        assert value(fams, "ctop_container_processes", container=name) >= 1
        # the TUI in the agent's container, as `kubectl exec -it` starts it (here docker exec -it, in tmux)
        socket_name = f"ctop-image-{port}"
        try:
            subprocess.run(
                [
                    "tmux",
                    "-L",
                    socket_name,
                    "new-session",
                    "-d",
                    "-s",
                    "tui",
                    "-x",
                    "160",
                    "-y",
                    "45",
                    f"docker exec -it {name} ctop-ebpf",
                ],
                check=True,
                timeout=10,
            )
            pane = Pane(socket_name, "tui")
            pane.wait(
                lambda text: watched[:19] in text and "Containers" in text,
                "the watched container in the TUI",
                timeout=60,
            )
            pane.keys("q")
            pane.wait(lambda text: "Containers" not in text, "the TUI to quit")
        finally:
            subprocess.run(["tmux", "-L", socket_name, "kill-server"], capture_output=True, timeout=10)
        # a recording made in the pod, copied out as `kubectl cp` does (tar through exec), replayed here
        dockerd.cli(
            "exec",
            name,
            "ctop-ebpf",
            "--batch",
            "--iterations",
            "3",
            "--delay",
            "0.5",
            "--write",
            "/tmp/node.ctop",
            timeout=120,
        )
        tar = subprocess.run(
            ["docker", "exec", name, "tar", "cf", "-", "-C", "/tmp", "node.ctop"],
            capture_output=True,
            timeout=60,
            check=True,
        ).stdout
        subprocess.run(["tar", "xf", "-", "-C", str(tmp_path)], input=tar, check=True, timeout=60)
        replay = subprocess.run(
            [
                *CTOP,
                "--read",
                str(tmp_path / "node.ctop"),
                "--batch",
                "--output",
                "json",
                "--view",
                "containers",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert replay.returncode == 0, replay.stderr
        ticks = [json.loads(line) for line in replay.stdout.splitlines()]
        assert len(ticks) == 3
        rows = {r["name"]: r for r in ticks[-1]["rows"]}
        assert rows[watched]["image"] == BUSYBOX and rows[watched]["syscalls"] > 0
        # SIGTERM (docker stop, a pod deleted): exit 0, quickly
        t0 = time.monotonic()
        dockerd.cli("stop", "-t", "10", name)
        assert time.monotonic() - t0 < 8
        assert dockerd.cli("inspect", "-f", "{{.State.ExitCode}}", name).stdout.strip() == "0"
        logs = dockerd.cli("logs", name)
        assert "Traceback" not in logs.stdout + logs.stderr
    finally:
        dockerd.remove_container(name)


def test_the_images_kernel_headers_compile_and_attach_the_probes_without_the_hosts(dockerd, agent_image):
    """No /lib/modules, no /usr/src from the node: bcc compiles the real probes
    against the header set in the image (BCC_KERNEL_SOURCE) and attaches them."""
    script = (
        "import os\n"
        "assert not os.path.exists('/lib/modules') and not os.listdir('/usr/src')\n"
        "from bcc import BPF\n"
        "from ctop_ebpf.probes import loader\n"
        "text = loader.build_text(loader.default_defines())\n"
        "b = BPF(text=text.encode())\n"
        "loader.install_handlers(b, text)\n"
        "n = len(b.tracepoint_fds) + len(b.raw_tracepoint_fds)\n"
        "print('attached', n, os.environ['BCC_KERNEL_SOURCE'])\n"
    )
    done = dockerd.cli(
        "run",
        "--rm",
        "--network",
        "none",
        "--cap-add",
        "SYS_ADMIN",
        "--security-opt",
        "seccomp=unconfined",
        "-v",
        "/sys/kernel/tracing:/sys/kernel/tracing",
        "--entrypoint",
        "python3",
        agent_image,
        "-c",
        script,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    words = done.stdout.split()
    assert words[0] == "attached" and int(words[1]) > 0 and words[2] == "/opt/ctop-ebpf/kernel-headers", (
        done.stdout
    )
