"""Which runtime endpoints are followed, and what a bad one costs: one notice,
never a crash, a hang or a slow snapshot. The bad endpoints are real unix
sockets: one that hangs (accepts, never answers), one that answers garbage,
one that refuses, a real gRPC server whose replies are not CRI messages."""

from __future__ import annotations

import os
import socket
import threading
import time

import pytest

from ctop_ebpf.probes.containers.directory import ContainerDirectory
from ctop_ebpf.probes.containers.endpoints import (
    DEFAULT_ENDPOINTS,
    EndpointError,
    kind_of,
    normalize,
    plan,
)
from tests.batch_run import CTOP, ROOT


def test_normalize_and_kinds():
    assert normalize("unix:///run/containerd/containerd.sock") == "unix:///run/containerd/containerd.sock"
    assert normalize("/run/crio//crio.sock") == "unix:///run/crio/crio.sock"
    for bad in ("tcp://127.0.0.1:2375", "containerd.sock", "unix://relative/x.sock", "npipe:////./pipe/x"):
        with pytest.raises(EndpointError):
            normalize(bad)
    assert kind_of("unix:///run/podman/podman.sock") == "podman"
    assert kind_of("unix:///var/run/docker.sock") == "docker"
    assert kind_of("unix:///run/cri-dockerd.sock") == "cri"
    assert kind_of("unix:///run/k3s/containerd/containerd.sock") == "cri"


def test_plan_defaults_named_env_and_docker():
    eps = plan()
    assert [e.url for e in eps] == [e for e in DEFAULT_ENDPOINTS
                                    if os.path.realpath(e[7:]) != os.path.realpath("/run/crio/crio.sock")
                                    or e == "unix:///run/crio/crio.sock"]
    assert not any(e.explicit for e in eps)
    assert {e.kind for e in eps} == {"cri", "podman", "docker"}
    # named first, then the variable (comma-separated), each once; then the standard ones
    eps = plan(["unix:///tmp/a.sock", "/tmp/a.sock"], "unix:///tmp/b.sock,unix:///run/containerd/containerd.sock",
               defaults=("unix:///run/containerd/containerd.sock",))
    assert [(e.url, e.explicit) for e in eps] == [
        ("unix:///tmp/a.sock", True), ("unix:///tmp/b.sock", True),
        ("unix:///run/containerd/containerd.sock", True)]
    # --no-docker drops Docker's standard socket; DOCKER_HOST replaces it
    assert all(e.kind != "docker" for e in plan(docker=False))
    eps = plan(docker_host="unix:///tmp/d/docker.sock", defaults=("unix:///var/run/docker.sock",))
    assert [(e.url, e.kind) for e in eps] == [("unix:///tmp/d/docker.sock", "docker")]
    eps = plan(docker_host="tcp://127.0.0.1:2375", defaults=("unix:///var/run/docker.sock",))
    assert [(e.url, e.kind) for e in eps] == [("tcp://127.0.0.1:2375", "docker")]


def test_bad_endpoint_values_are_usage_errors(tmp_path):
    import subprocess

    for args, env in ((["--runtime-endpoint", "tcp://10.0.0.1:1"], {}),
                      ([], {"CONTAINER_RUNTIME_ENDPOINT": "containerd.sock"})):
        out = subprocess.run([*CTOP, "--batch", "-n", "1", *args], cwd=ROOT, capture_output=True, text=True,
                             env={**os.environ, **env}, timeout=60)
        assert out.returncode == 2, out.stderr
        assert "expected unix:///path/to/socket" in out.stderr


class BadServer:
    """A unix socket that hangs (accepts and never answers) or answers garbage."""

    def __init__(self, path: str, mode: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.bind(path)
        self.sock.listen(64)
        self.mode = mode
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            if self.mode == "garbage":
                try:
                    conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n" + bytes(range(256)))
                    conn.close()
                except OSError:
                    pass

    def close(self) -> None:
        self.sock.close()
        for c in self.conns:
            c.close()


@pytest.fixture
def bad_endpoints(tmp_path):
    d = tmp_path
    servers = [BadServer(f"{d}/hang.sock", "hang"), BadServer(f"{d}/garbage.sock", "garbage")]
    refusing = socket.socket(socket.AF_UNIX)
    refusing.bind(f"{d}/refuse.sock")
    refusing.close()  # the file stays, nobody listens
    yield {name: f"unix://{d}/{name}.sock" for name in ("hang", "garbage", "refuse", "missing")}
    for s in servers:
        s.close()


def test_bad_endpoints_cost_one_notice_each_and_never_block(bad_endpoints):
    notices: list[str] = []
    d = ContainerDirectory(docker_enabled=False, default_endpoints=("unix:///nonexistent/podman.sock",),
                           runtime_endpoints=list(bad_endpoints.values()), warn=notices.append).start()
    try:
        slowest = 0.0
        deadline = time.monotonic() + 5.5  # long enough for a retry of every endpoint
        while time.monotonic() < deadline:
            t = time.monotonic()
            d.snapshot()
            slowest = max(slowest, time.monotonic() - t)
            time.sleep(0.2)
        errors = {r.endpoint: r.error for r in d.runtimes}
    finally:
        t = time.monotonic()
        d.stop()
        stop_s = time.monotonic() - t
    assert slowest < 0.5  # the snapshot never waits for a runtime
    assert stop_s < 3
    # one notice per named endpoint (retried several times meanwhile), none for the
    # standard socket that does not exist
    assert sorted(n.split(":", 1)[0] for n in notices) == sorted(
        f"cri at {url.split(':', 1)[0]}" for url in bad_endpoints.values()), notices
    assert not any("nonexistent" in n for n in notices)
    assert "hangs" in errors[bad_endpoints["hang"]]
    assert "refused" in errors[bad_endpoints["refuse"]]
    assert "no socket" in errors[bad_endpoints["missing"]]
    assert errors[bad_endpoints["garbage"]]
    assert all("short ids" in n for n in notices)


def test_grpc_server_with_garbage_replies(tmp_path):
    """A real gRPC server on the CRI's paths whose replies are not CRI messages."""
    grpc = pytest.importorskip("grpc")
    from concurrent import futures

    def garbage(request, context):
        return b"\x0b\xff\xff"  # a group start: not a protobuf message we read

    handler = grpc.method_handlers_generic_handler("runtime.v1.RuntimeService", {
        name: grpc.unary_unary_rpc_method_handler(garbage)
        for name in ("Version", "ListPodSandbox", "ListContainers")})
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2), handlers=[handler])
    path = f"{tmp_path}/cri.sock"
    server.add_insecure_port(f"unix://{path}")
    server.start()
    notices: list[str] = []
    d = ContainerDirectory(docker_enabled=False, default_endpoints=(), runtime_endpoints=[f"unix://{path}"],
                           warn=notices.append).start()
    try:
        deadline = time.monotonic() + 5
        while not notices and time.monotonic() < deadline:
            d.snapshot()
            time.sleep(0.1)
        time.sleep(1.5)  # a retry: still one notice
    finally:
        d.stop()
        server.stop(0)
    assert len(notices) == 1, notices
    assert "not a CRI message" in notices[0]


def test_standard_sockets_under_a_host_root():
    """In a pod with the node's /run at /host/run (deploy/daemonset.yaml)."""
    from ctop_ebpf.probes.containers.endpoints import DEFAULT_ENDPOINTS, under_host_root

    assert under_host_root(DEFAULT_ENDPOINTS, "") == DEFAULT_ENDPOINTS
    rooted = under_host_root(DEFAULT_ENDPOINTS, "/host/")
    assert "unix:///host/run/containerd/containerd.sock" in rooted
    assert "unix:///host/run/docker.sock" in rooted  # /var/run/docker.sock, /var/run being /run
    assert "unix:///host/run/crio/crio.sock" in rooted
    assert all(u.startswith("unix:///host/run/") for u in rooted)


def test_docker_is_asked_on_its_socket_under_the_host_root(monkeypatch, tmp_path):
    from ctop_ebpf.probes.containers.directory import ContainerDirectory

    monkeypatch.setenv("CTOP_HOST_ROOT", str(tmp_path))
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    d = ContainerDirectory(cgroup_root=str(tmp_path), runtime_env="")
    assert d.docker is not None and d.docker.base_url == f"unix://{tmp_path}/run/docker.sock"
    assert not d.docker.explicit  # a standard socket: its absence costs no notice
