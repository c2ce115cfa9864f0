"""A real containerd with its CRI plugin, and pods made through the CRI the
way the kubelet makes them, for the tests. No Docker and no registry.

``CriRuntime`` starts a containerd of its own (Debian's containerd package,
already installed with docker.io): its own root, state, socket and config
in a temp folder, so Docker's containerd is left alone. The configuration
is the one that works in this kind of sandbox (../shared/reference/
cluster.md): ``restrict_oom_score_adj`` (no CAP_SYS_RESOURCE here), the
native snapshotter, empty CNI folders (pods use the host's network).

Images are built here, not pulled: a docker-archive tar (manifest.json, an
image config, one layer) of the busybox root filesystem that the Docker
tests use, imported with ``ctr images import``. The CRI sets no default
PATH, so the config carries ``PATH=/bin``; the pod's sandbox ("pause")
image runs a shell that never exits but stops on SIGTERM.

Pods: ``RunPodSandbox`` (host network, cgroup parent
``/kubepods/besteffort/pod<uid>`` like the kubelet's cgroupfs driver, or
none), ``CreateContainer`` with the labels the kubelet sets,
``StartContainer``; removal with ``StopPodSandbox`` + ``RemovePodSandbox``.
Requests are encoded with the project's protobuf writer and sent with the
project's CRI client (probes/containers/cri.py); every command is an
argument list.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
import uuid
from dataclasses import dataclass, field

from ctop_ebpf.probes.containers.cri import CriClient
from ctop_ebpf.probes.containers.protowire import Writer
from tests.docker_env import IDLE_CMD, DockerUnavailable, busybox_rootfs_tar

IMAGE = "docker.io/library/ctop-test-cri:latest"
PAUSE_IMAGE = "docker.io/library/ctop-test-pause:latest"
NODE = 2  # NamespaceMode.NODE
CONFIG = """\
version = 2
root = "{root}"
state = "{state}"

[grpc]
  address = "{socket}"

[ttrpc]
  address = "{state}/ttrpc.sock"

[debug]
  address = ""

[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "{pause}"
    restrict_oom_score_adj = true
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"
    enable_selinux = false
    [plugins."io.containerd.grpc.v1.cri".containerd]
      snapshotter = "native"
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "{cni}/bin"
      conf_dir = "{cni}/conf"
  [plugins."io.containerd.internal.v1.opt"]
    path = "{root}/opt"
"""


def image_archive(repo_tag: str, cmd: tuple[str, ...]) -> bytes:
    """A docker-archive (what ``docker save`` writes) of the busybox root filesystem."""
    layer = busybox_rootfs_tar()
    diff_id = "sha256:" + hashlib.sha256(layer).hexdigest()
    config = json.dumps({
        "architecture": {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, "amd64"),
        "os": "linux",
        "config": {"Env": ["PATH=/bin"], "Cmd": list(cmd)},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created_by": "ctop-ebpf tests"}],
    }).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    manifest = json.dumps([{"Config": config_name, "RepoTags": [repo_tag],
                            "Layers": ["layer/layer.tar"]}]).encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in (("manifest.json", manifest), (config_name, config),
                           ("layer/layer.tar", layer)):
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def pod_config(name: str, namespace: str, uid: str, labels: dict[str, str],
               cgroup_parent: str, log_dir: str) -> Writer:
    """PodSandboxConfig as the kubelet writes it (host network: no hostname)."""
    all_labels = {**labels, "io.kubernetes.pod.name": name, "io.kubernetes.pod.namespace": namespace,
                  "io.kubernetes.pod.uid": uid}
    ns_options = Writer().varint(1, NODE)  # NamespaceOption.network = NODE
    security = Writer().message(1, ns_options)  # LinuxSandboxSecurityContext.namespace_options
    linux = Writer().string(1, cgroup_parent).message(2, security)  # LinuxPodSandboxConfig
    return (Writer()
            .message(1, Writer().string(1, name).string(2, uid).string(3, namespace))  # metadata
            .string(3, log_dir)
            .string_map(6, all_labels)
            .message(8, linux))


@dataclass
class Pod:
    sandbox_id: str
    name: str
    namespace: str
    uid: str
    config: bytes
    containers: dict[str, str] = field(default_factory=dict)  # name -> id


class CriUnavailable(DockerUnavailable):
    """Why the CRI tests cannot run here (turned into pytest.skip)."""


class CriRuntime:
    """A private containerd with the CRI plugin, reached on ``self.endpoint``."""

    def __init__(self) -> None:
        if os.geteuid() != 0:
            raise CriUnavailable("the CRI tests need root")
        for tool in ("containerd", "ctr", "runc"):
            if shutil.which(tool) is None:
                raise CriUnavailable(f"{tool} not found: apt-get install containerd runc")
        # short paths: unix socket names must fit in 108 bytes
        self.dir = tempfile.mkdtemp(prefix="ctopcri-", dir="/tmp")
        self.socket = f"{self.dir}/c.sock"
        self.endpoint = f"unix://{self.socket}"
        self.proc: subprocess.Popen | None = None
        self.client: CriClient | None = None
        self.pods: list[Pod] = []
        self.log_path = f"{self.dir}/containerd.log"
        for d in ("root", "state", "cni/bin", "cni/conf", "logs"):
            os.makedirs(f"{self.dir}/{d}", exist_ok=True)
        with open(f"{self.dir}/config.toml", "w") as f:
            f.write(CONFIG.format(root=f"{self.dir}/root", state=f"{self.dir}/state",
                                  socket=self.socket, cni=f"{self.dir}/cni", pause=PAUSE_IMAGE))

    # ---- the daemon -----------------------------------------------------------

    def start(self, timeout: float = 60) -> "CriRuntime":
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(["containerd", "--config", f"{self.dir}/config.toml"],
                                         stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise CriUnavailable(f"containerd exited early: {self.log_tail()}")
            if os.path.exists(self.socket) and self.ready():
                return self
            time.sleep(0.2)
        raise CriUnavailable(f"containerd's CRI not ready after {timeout}s: {self.log_tail()}")

    def ready(self) -> bool:
        if self.client is None:
            self.client = CriClient(self.endpoint, timeout=5)
        try:
            self.client.version()
            # the CRI plugin answers Version before it is ready for pods: ask it for them
            self.client.list_pods()
            return True
        except Exception:  # noqa: BLE001 - not up yet
            return False

    def log_tail(self, lines: int = 15) -> str:
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 20) -> None:
        """Stop the daemon (containers keep running under their shims)."""
        if self.client is not None:
            self.client.close()
            self.client = None
        if self.proc is None or self.proc.poll() is not None:
            self.proc = None
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def ctr(self, *args: str, namespace: str = "k8s.io", stdin: bytes | None = None,
            timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(["ctr", "-a", self.socket, "-n", namespace, *args], input=stdin,
                              capture_output=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise RuntimeError(f"ctr {' '.join(args)} failed: {proc.stderr.decode(errors='replace')}")
        return proc

    def import_images(self) -> None:
        """The test image and the pause image, built here and imported with ctr."""
        for name, cmd in ((IMAGE, ("sh",)), (PAUSE_IMAGE, IDLE_CMD)):
            archive = image_archive(name, cmd)
            self.ctr("images", "import", "--snapshotter", "native", "-", stdin=archive)

    # ---- pods, as the kubelet makes them ------------------------------------------

    def run_pod(self, name: str, namespace: str = "default", labels: dict[str, str] | None = None,
                *, cgroup_parent: bool = True) -> Pod:
        uid = str(uuid.uuid4())
        parent = f"/kubepods/besteffort/pod{uid}" if cgroup_parent else ""
        log_dir = f"{self.dir}/logs/{namespace}_{name}_{uid}"
        os.makedirs(log_dir, exist_ok=True)
        config = pod_config(name, namespace, uid, labels or {}, parent, log_dir).done()
        reply = self.client.rpc("RunPodSandbox", Writer().message(1, config), timeout=60)
        pod = Pod(reply.string(1), name, namespace, uid, config)
        self.pods.append(pod)
        return pod

    def run_container(self, pod: Pod, name: str, *command: str) -> str:
        labels = {"io.kubernetes.container.name": name, "io.kubernetes.pod.name": pod.name,
                  "io.kubernetes.pod.namespace": pod.namespace, "io.kubernetes.pod.uid": pod.uid}
        security = Writer().message(3, Writer().varint(1, NODE))  # namespace_options: host network
        config = (Writer()
                  .message(1, Writer().string(1, name))  # ContainerMetadata.name
                  .message(2, Writer().string(1, IMAGE))  # ImageSpec.image
                  .strings(3, command or IDLE_CMD)
                  .string_map(9, labels)
                  .string(11, f"{name}/0.log")
                  .message(15, Writer().message(2, security)))  # LinuxContainerConfig
        reply = self.client.rpc("CreateContainer", Writer().string(1, pod.sandbox_id).message(2, config)
                                .message(3, pod.config), timeout=60)
        cid = reply.string(1)
        self.client.rpc("StartContainer", Writer().string(1, cid), timeout=60)
        pod.containers[name] = cid
        return cid

    def remove_pod(self, pod: Pod) -> None:
        for rpc in ("StopPodSandbox", "RemovePodSandbox"):
            self.client.rpc(rpc, Writer().string(1, pod.sandbox_id), timeout=60)
        if pod in self.pods:
            self.pods.remove(pod)

    def container_pid(self, cid: str) -> int:
        """The host pid of a container's main process (ContainerStatus verbose info)."""
        reply = self.client.rpc("ContainerStatus", Writer().string(1, cid).boolean(2, True))
        info = json.loads(reply.string_map(2).get("info", "{}"))
        return int(info.get("pid", 0))

    # ---- clean-up ---------------------------------------------------------------

    def cleanup(self) -> None:
        """Remove every pod made here, stop the daemon and its shims, unmount, delete."""
        if self.proc is not None and self.proc.poll() is None and self.client is not None:
            for pod in list(self.pods):
                try:
                    self.remove_pod(pod)
                except Exception:  # noqa: BLE001 - best effort, the shims are killed below
                    pass
        self.stop()
        self._kill_shims()
        with open("/proc/self/mounts") as f:
            mounts = [line.split()[1] for line in f if len(line.split()) > 1]
        prefix = self.dir.rstrip("/") + "/"
        for mnt in sorted((m for m in mounts if m.startswith(prefix)), reverse=True):
            subprocess.run(["umount", "-l", mnt], capture_output=True, timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)

    def _kill_shims(self) -> None:
        """containerd-shim processes started for this daemon (their command line names its socket
        folder), and what runs under them."""
        marker = self.dir.encode()
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    cmdline = f.read()
            except OSError:
                continue
            if b"containerd-shim" in cmdline and marker in cmdline:
                try:
                    os.killpg(int(entry), signal.SIGKILL)
                except OSError:
                    try:
                        os.kill(int(entry), signal.SIGKILL)
                    except OSError:
                        pass


def start_runtime() -> CriRuntime:
    """A started containerd with the images; cleaned up again if anything fails."""
    rt = CriRuntime()
    try:
        rt.start()
        rt.import_images()
    except BaseException:
        rt.cleanup()
        raise
    return rt
