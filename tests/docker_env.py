"""A real Docker daemon and a local busybox image for the tests.

There is no registry here: the test image ``ctop-test-busybox:latest`` is made
with ``docker import`` from a root filesystem holding Debian's static
``/bin/busybox`` and a link for each of its applets. Containers only ever run
with ``--network none`` or ``--network host``.

``Daemon`` is one dockerd: the system one (``/var/run/docker.sock``), adopted
if it answers or started with ``--bridge=none --iptables=false`` if not, or
a private one with its own socket, data and exec roots (what the
daemon-restart test stops and starts, so that other tests using the system
daemon at the same time are left alone). Every command is an argument list;
nothing goes through a shell.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import struct
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Sequence

IMAGE = "ctop-test-busybox:latest"
BUSYBOX = "/bin/busybox"  # Debian busybox-static
LABEL = "ctop-ebpf-test=1"
# A main process that exits at once on SIGTERM (sh as PID 1 ignores it otherwise).
IDLE_CMD = ("sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done")


class DockerUnavailable(Exception):
    """Why the Docker tests cannot run here (turned into pytest.skip)."""


def is_static_elf(path: str) -> bool:
    """True for an ELF executable without a program interpreter (PT_INTERP)."""
    with open(path, "rb") as f:
        head = f.read(64)
        if head[:4] != b"\x7fELF" or head[4] != 2:  # 64-bit only
            return False
        end = "<" if head[5] == 1 else ">"
        phoff, = struct.unpack_from(end + "Q", head, 32)
        phentsize, phnum = struct.unpack_from(end + "HH", head, 54)
        f.seek(phoff)
        table = f.read(phentsize * phnum)
    return all(struct.unpack_from(end + "I", table, i * phentsize)[0] != 3 for i in range(phnum))


def busybox_rootfs_tar(busybox: str = BUSYBOX) -> bytes:
    """A tar of a minimal root filesystem: /bin/busybox and one link per applet."""
    if not os.path.exists(busybox) or not is_static_elf(busybox):
        raise DockerUnavailable(f"{busybox} is not a static busybox: "
                                "apt-get install busybox-static")
    listing = subprocess.run([busybox, "--list"], capture_output=True, text=True, check=True,
                             timeout=10)
    applets = sorted({a.strip() for a in listing.stdout.split() if a.strip()} - {"busybox"})
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for d, mode in (("bin", 0o755), ("dev", 0o755), ("etc", 0o755), ("proc", 0o555),
                        ("root", 0o700), ("sys", 0o555), ("tmp", 0o1777), ("var", 0o755)):
            info = tarfile.TarInfo(d)
            info.type, info.mode = tarfile.DIRTYPE, mode
            tar.addfile(info)
        tar.add(busybox, arcname="bin/busybox")
        for applet in applets:
            if "/" in applet or applet in (".", ".."):
                continue
            info = tarfile.TarInfo(f"bin/{applet}")
            info.type, info.linkname, info.mode = tarfile.SYMTYPE, "busybox", 0o777
            tar.addfile(info)
    return buf.getvalue()


class Daemon:
    """One dockerd, reached with ``docker -H host``."""

    def __init__(self, *, private_dir: str | None = None) -> None:
        self.private_dir = private_dir
        self.proc: subprocess.Popen | None = None
        self.log_path = ""
        if private_dir:
            self.host = f"unix://{private_dir}/docker.sock"
            self.pidfile = os.path.join(private_dir, "docker.pid")
        else:
            self.host = "unix:///var/run/docker.sock"
            self.pidfile = "/var/run/docker.pid"

    @property
    def socket(self) -> str:
        return self.host.removeprefix("unix://")

    def cli(self, *args: str, timeout: float = 60, check: bool = True,
            stdin: bytes | None = None) -> subprocess.CompletedProcess:
        """Run ``docker -H host ARGS`` and return the completed process (text output)."""
        proc = subprocess.run(["docker", "-H", self.host, *args], input=stdin,
                              capture_output=True, timeout=timeout)
        out = subprocess.CompletedProcess(proc.args, proc.returncode,
                                          proc.stdout.decode(errors="replace"),
                                          proc.stderr.decode(errors="replace"))
        if check and out.returncode != 0:
            raise RuntimeError(f"docker {' '.join(args)} failed: {out.stderr.strip()}")
        return out

    def ready(self) -> bool:
        try:
            return self.cli("info", timeout=10, check=False).returncode == 0
        except subprocess.TimeoutExpired:
            return False

    def command(self) -> list[str]:
        cmd = ["dockerd", "--bridge=none", "--iptables=false"]
        if self.private_dir:
            d = self.private_dir
            cmd += [f"--host={self.host}", f"--pidfile={self.pidfile}",
                    f"--data-root={d}/data", f"--exec-root={d}/exec", "--ip6tables=false"]
        return cmd

    def start(self, timeout: float = 60) -> None:
        """Start dockerd in the background (log to a file) and wait until it answers."""
        if shutil.which("dockerd") is None:
            raise DockerUnavailable("dockerd not found: apt-get install docker.io")
        if not self.log_path:  # one log per Daemon, appended to across restarts
            if self.private_dir:
                self.log_path = os.path.join(self.private_dir, "dockerd.log")
            else:
                fd, self.log_path = tempfile.mkstemp(prefix="ctop-dockerd-", suffix=".log")
                os.close(fd)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise DockerUnavailable(f"dockerd exited early, see {self.log_path}")
            if os.path.exists(self.socket) and self.ready():
                return
            time.sleep(0.3)
        self.stop()
        raise DockerUnavailable(f"dockerd not ready after {timeout}s, see {self.log_path}")

    def pid(self) -> int | None:
        try:
            with open(self.pidfile) as f:
                pid = int(f.read().strip())
            os.kill(pid, 0)
            return pid
        except (OSError, ValueError):
            return None

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM dockerd (this one or the one in the pidfile), SIGKILL after timeout."""
        pid = self.proc.pid if self.proc and self.proc.poll() is None else self.pid()
        if pid is None:
            return
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.pid == pid:
                if self.proc.poll() is not None:
                    break
            elif not os.path.exists(f"/proc/{pid}"):
                break
            time.sleep(0.1)
        else:
            os.kill(pid, signal.SIGKILL)
            if self.proc is not None and self.proc.pid == pid:
                self.proc.wait(10)
        self.proc = None

    def ensure_image(self) -> None:
        """Build the busybox test image in this daemon when it is missing (never pull)."""
        if self.cli("image", "inspect", IMAGE, check=False).returncode == 0:
            return
        self.cli("import", "--change", "ENV PATH=/bin", "--change", 'CMD ["sh"]',
                 "-", IMAGE, stdin=busybox_rootfs_tar(), timeout=120)

    def run_container(self, name: str, *cmd: str, network: str = "none",
                      args: Sequence[str] = ()) -> str:
        """``docker run -d`` of the test image; returns the full container id."""
        if network not in ("none", "host"):
            raise ValueError("test containers use --network none or host only")
        out = self.cli("run", "-d", "--name", name, "--network", network, "--label", LABEL,
                       "--stop-timeout", "2", *args, IMAGE, *(cmd or IDLE_CMD))
        return out.stdout.strip()

    def remove_container(self, name: str) -> None:
        """``docker rm -f``, ignoring a container that is already gone."""
        self.cli("rm", "-f", name, check=False)

    def container_pid(self, name: str) -> int:
        return int(self.cli("inspect", "-f", "{{.State.Pid}}", name).stdout.strip())


def require_root_and_docker() -> None:
    """Raise DockerUnavailable unless root with the docker CLI installed."""
    if os.geteuid() != 0:
        raise DockerUnavailable("Docker tests need root")
    if shutil.which("docker") is None:
        raise DockerUnavailable("docker CLI not found: apt-get install docker.io")


def system_daemon() -> tuple[Daemon, bool]:
    """The system daemon, started if none answers; returns (daemon, started_here)."""
    require_root_and_docker()
    daemon = Daemon()
    if daemon.ready():
        return daemon, False
    daemon.start()
    return daemon, True


def private_daemon() -> Daemon:
    """A second dockerd of our own (socket, data and exec roots in a temp dir), with the image."""
    require_root_and_docker()
    # Short path: the containerd socket under the exec root must fit in sun_path.
    daemon = Daemon(private_dir=tempfile.mkdtemp(prefix="ctopd-", dir="/tmp"))
    try:
        daemon.start()
        daemon.ensure_image()
    except BaseException:
        cleanup_private(daemon)
        raise
    return daemon


def cleanup_private(daemon: Daemon) -> None:
    """Stop a private daemon, remove its containers first, then its directory."""
    if daemon.ready():
        ids = daemon.cli("ps", "-aq", timeout=30, check=False).stdout.split()
        if ids:
            daemon.cli("rm", "-f", *ids, timeout=60, check=False)
    daemon.stop()
    if not daemon.private_dir:
        return
    with open("/proc/self/mounts") as f:  # anything dockerd left mounted under its dirs
        mounts = [line.split()[1] for line in f if len(line.split()) > 1]
    prefix = daemon.private_dir.rstrip("/") + "/"
    for mnt in sorted((m for m in mounts if m.startswith(prefix)), reverse=True):
        subprocess.run(["umount", "-l", mnt], capture_output=True, timeout=10)
    shutil.rmtree(daemon.private_dir, ignore_errors=True)


# Module-level helpers on the system daemon, as the other tests use them.
_SYSTEM = Daemon()


def run_container(name: str, *cmd: str, network: str = "none", args: Sequence[str] = ()) -> str:
    """Run a test container on the system daemon; returns its full id."""
    return _SYSTEM.run_container(name, *cmd, network=network, args=args)


def remove_container(name: str) -> None:
    """Remove a test container from the system daemon (no error if absent)."""
    _SYSTEM.remove_container(name)


def stop_daemon(daemon: Daemon) -> None:
    """Stop a daemon (for the daemon-restart test)."""
    daemon.stop()


def start_daemon(daemon: Daemon, timeout: float = 60) -> None:
    """Start a daemon stopped with stop_daemon and wait until it answers."""
    daemon.start(timeout)
