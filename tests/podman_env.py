"""A real podman for the tests: rootful, with its own storage and its own
API service, so nothing on the machine is touched.

``PodmanService`` runs ``podman system service`` on a socket in a temp folder
with the folder's own ``--root``/``--runroot``; every ``podman`` command of
the tests passes the same options (``cli``). The image is the busybox
docker-archive the CRI tests build (cri_env.image_archive), loaded with
``podman load``: no registry, no Docker. This sandbox needs runc (crun does
not run on a hybrid cgroup host), the cgroupfs manager (no systemd) and
ulimits no higher than the current ones (no CAP_SYS_RESOURCE); networking
is off. Every command is an argument list.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time

from tests.cri_env import image_archive
from tests.docker_env import IDLE_CMD, DockerUnavailable

IMAGE = "localhost/ctop-test-podman:latest"


class PodmanUnavailable(DockerUnavailable):
    """Why the podman tests cannot run here (turned into pytest.skip)."""


class PodmanService:
    def __init__(self) -> None:
        if os.geteuid() != 0:
            raise PodmanUnavailable("the podman tests need root")
        for tool in ("podman", "runc"):
            if shutil.which(tool) is None:
                raise PodmanUnavailable(f"{tool} not found: apt-get install podman runc")
        self.dir = tempfile.mkdtemp(prefix="ctoppod-", dir="/tmp")
        self.socket = f"{self.dir}/podman.sock"
        self.endpoint = f"unix://{self.socket}"
        self.options = ["--root", f"{self.dir}/root", "--runroot", f"{self.dir}/run",
                        "--cgroup-manager", "cgroupfs", "--runtime", "runc", "--events-backend", "file",
                        "--tmpdir", f"{self.dir}/tmp"]
        self.proc: subprocess.Popen | None = None

    def cli(self, *args: str, check: bool = True, timeout: float = 120,
            stdin: bytes | None = None) -> subprocess.CompletedProcess:
        proc = subprocess.run(["podman", *self.options, *args], input=stdin, capture_output=True,
                              timeout=timeout)
        if check and proc.returncode != 0:
            raise RuntimeError(f"podman {' '.join(args)} failed: {proc.stderr.decode(errors='replace')}")
        return proc

    def start(self, timeout: float = 30) -> "PodmanService":
        log = open(f"{self.dir}/service.log", "ab")
        with log:
            self.proc = subprocess.Popen(["podman", *self.options, "system", "service", "--time=0",
                                          self.endpoint], stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while not os.path.exists(self.socket):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise PodmanUnavailable(f"podman's API service did not start, see {self.dir}/service.log")
            time.sleep(0.1)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None

    def load_image(self) -> None:
        self.cli("load", stdin=image_archive(IMAGE, ("sh",)))

    def run(self, name: str, *cmd: str) -> str:
        """A detached container of the test image; returns its full id."""
        out = self.cli("run", "-d", "--name", name, "--network", "none",
                       "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024",
                       IMAGE, *(cmd or IDLE_CMD))
        return out.stdout.decode().strip()

    def pid(self, name: str) -> int:
        return int(self.cli("inspect", "-f", "{{.State.Pid}}", name).stdout.decode().strip())

    def cleanup(self) -> None:
        try:
            self.cli("rm", "-f", "-a", "-t", "2", check=False, timeout=60)
        except subprocess.TimeoutExpired:
            pass
        self.stop()
        with open("/proc/self/mounts") as f:
            mounts = [line.split()[1] for line in f if len(line.split()) > 1]
        prefix = self.dir.rstrip("/") + "/"
        for mnt in sorted((m for m in mounts if m.startswith(prefix)), reverse=True):
            subprocess.run(["umount", "-l", mnt], capture_output=True, timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


def start_podman() -> PodmanService:
    svc = PodmanService()
    try:
        svc.load_image()
        svc.start()
    except BaseException:
        svc.cleanup()
        raise
    return svc
