"""The Container Runtime Interface (CRI v1) as a client: what containerd,
CRI-O and cri-dockerd say of the pods and containers of a Kubernetes node.

``CriClient`` makes the few read-only calls needed, over gRPC on the
runtime's unix socket, each with a short deadline: ``Version``,
``ListPodSandbox``, ``ListContainers`` and ``ContainerStatus`` of the
``runtime.v1.RuntimeService``. Messages are encoded and decoded by hand
(protowire.py) with the field numbers of the CRI API (kubernetes/cri-api,
pkg/apis/runtime/v1/api.proto); only the fields read here are decoded,
everything else is skipped.

For containerd the client also reads containerd's own container store
(``containerd.services.containers.v1.Containers/List``, the namespace in the
``containerd-namespace`` header), which names the containers made outside
Kubernetes (``ctr run``: cgroup ``/<namespace>/<id>``).

``CriMetadata`` follows one endpoint in a daemon thread (CRI has no event
stream on containerd 1.6): it lists pods and containers every few seconds,
and at once when the directory asks about an id it does not know.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass

from .meta import ContainerMeta, RuntimeMetadata
from .protowire import Message, Writer

__all__ = ["CriClient", "CriContainer", "CriMetadata", "CriPod", "RUNTIME_NAMES", "channel_target"]

SERVICE = "/runtime.v1.RuntimeService/"
CONTAINERD_CONTAINERS = "/containerd.services.containers.v1.Containers/List"
NAMESPACE_HEADER = "containerd-namespace"
CALL_TIMEOUT_S = 2.0  # per call: a runtime that hangs costs this, in the runtime's thread
POLL_S = 2.0  # full listing period while connected
WAKE_MIN_S = 0.3  # at most one extra listing per this, when asked about unknown ids
ASK_AGAIN_S = 10.0  # an id still unknown after a listing is asked about again after this
RETRY_MIN_S, RETRY_MAX_S = 1.0, 5.0
MAX_MESSAGE = 64 << 20
KUBE_CONTAINER_NAME = "io.kubernetes.container.name"
SANDBOX_NAME = "POD"  # what the pause container of a pod is called (as by dockershim)

# CRI's runtime_name (Version) -> the runtime name ctop-ebpf shows
RUNTIME_NAMES = {"containerd": "containerd", "cri-o": "cri-o", "crio": "cri-o", "docker": "docker",
                 "cri-dockerd": "docker"}
CONTAINER_STATES = {0: "created", 1: "running", 2: "exited", 3: "unknown"}
SANDBOX_STATES = {0: "running", 1: "exited"}  # SANDBOX_READY, SANDBOX_NOTREADY


@dataclass(frozen=True, slots=True)
class CriPod:
    id: str  # sandbox id (also the id of its pause container's cgroup)
    name: str
    uid: str
    namespace: str
    state: str
    labels: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class CriContainer:
    id: str
    pod_sandbox_id: str
    name: str
    image: str  # what ImageSpec.image says: a tag, or an image id (sha256:...)
    image_ref: str
    state: str
    labels: tuple[tuple[str, str], ...]


def channel_target(endpoint: str) -> str:
    """gRPC's target for ``unix:///path`` or a bare path."""
    path = socket_path(endpoint)
    return f"unix://{path}" if path else endpoint


def socket_path(endpoint: str) -> str:
    """The file of a ``unix://`` endpoint (or a bare absolute path); "" for other schemes."""
    if endpoint.startswith("unix://"):
        return endpoint[len("unix://"):]
    if endpoint.startswith("/"):
        return endpoint
    return ""


def _pod(m: Message) -> CriPod:
    meta = m.message(2)  # PodSandboxMetadata: name 1, uid 2, namespace 3
    return CriPod(id=m.string(1), name=meta.string(1), uid=meta.string(2), namespace=meta.string(3),
                  state=SANDBOX_STATES.get(m.integer(3), "unknown"),
                  labels=tuple(sorted(m.string_map(5).items())))


def _container(m: Message) -> CriContainer:
    # Container: id 1, pod_sandbox_id 2, metadata 3 (name 1), image 4 (ImageSpec: image 1),
    # image_ref 5, state 6, labels 8
    return CriContainer(id=m.string(1), pod_sandbox_id=m.string(2), name=m.message(3).string(1),
                        image=m.message(4).string(1), image_ref=m.string(5),
                        state=CONTAINER_STATES.get(m.integer(6), "unknown"),
                        labels=tuple(sorted(m.string_map(8).items())))


class CriClient:
    """Blocking CRI calls on one endpoint, each with a deadline."""

    def __init__(self, endpoint: str, timeout: float = CALL_TIMEOUT_S) -> None:
        # gRPC's own logging writes to fd 2, under the TUI: failures are reported by the caller
        os.environ.setdefault("GRPC_VERBOSITY", "NONE")
        import grpc  # only the runtime threads need it

        self.endpoint = endpoint
        self.timeout = timeout
        self._grpc = grpc
        self.channel = grpc.insecure_channel(channel_target(endpoint), options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE),
            ("grpc.enable_retries", 0),
            ("grpc.enable_http_proxy", 0),
            ("grpc.initial_reconnect_backoff_ms", 300),
            ("grpc.max_reconnect_backoff_ms", 2000),
        ])

    def call(self, method: str, request: bytes, *, metadata=None, timeout: float | None = None) -> Message:
        """One unary call (``method`` is the full path); the reply parsed as a Message."""
        stub = self.channel.unary_unary(method, request_serializer=None, response_deserializer=None)
        reply = stub(request, timeout=timeout or self.timeout, metadata=metadata,
                     wait_for_ready=False)
        return Message.parse(reply)

    def rpc(self, name: str, request: Writer | bytes = b"", **kw) -> Message:
        body = request.done() if isinstance(request, Writer) else request
        return self.call(SERVICE + name, body, **kw)

    def version(self) -> tuple[str, str]:
        """(runtime_name, runtime_version) as the runtime reports them."""
        m = self.rpc("Version", Writer().string(1, "v1"))
        return m.string(2), m.string(3)

    def list_pods(self) -> list[CriPod]:
        return [_pod(p) for p in self.rpc("ListPodSandbox").messages(1)]

    def list_containers(self) -> list[CriContainer]:
        return [_container(c) for c in self.rpc("ListContainers").messages(1)]

    def container_image(self, cid: str) -> str:
        """The image of one container as ContainerStatus names it (a tag where the
        runtime knows one; ListContainers may only give the image id)."""
        status = self.rpc("ContainerStatus", Writer().string(1, cid)).message(1)
        return status.message(8).string(1)  # ContainerStatus.image (ImageSpec).image

    def containerd_containers(self, namespace: str) -> list[tuple[str, str, tuple]]:
        """(id, image, labels) of containerd's own containers in one namespace."""
        m = self.call(CONTAINERD_CONTAINERS, b"", metadata=((NAMESPACE_HEADER, namespace),))
        return [(c.string(1), c.string(3), tuple(sorted(c.string_map(2).items())))
                for c in m.messages(1)]

    def close(self) -> None:
        self.channel.close()


def _is_image_id(image: str) -> bool:
    body = image.removeprefix("sha256:")
    return len(body) == 64 and all(ch in "0123456789abcdef" for ch in body)


class CriMetadata(RuntimeMetadata):
    """What one CRI endpoint says of its pods and containers, kept current by a thread."""

    kind = "cri"

    def __init__(self, endpoint: str, *, explicit: bool = False, warn=None,
                 poll_s: float = POLL_S, timeout: float = CALL_TIMEOUT_S) -> None:
        super().__init__(endpoint, explicit=explicit, warn=warn)
        self.poll_s = poll_s
        self.timeout = timeout
        self.runtime = ""  # from Version: containerd, cri-o, docker
        self._wake = threading.Event()
        self._asked: dict[str, float] = {}  # id -> when it was last asked about
        self._namespaces: set[str] = set()  # containerd namespaces to list (ctr containers)
        self._images: dict[str, str] = {}  # image id -> tag, from ContainerStatus
        self._client: CriClient | None = None

    # ---- asked by the directory (any thread) ---------------------------------

    def want(self, cid: str, namespace: str = "") -> None:
        """The directory saw a container this runtime may know: look soon."""
        now = time.monotonic()
        with self._lock:
            if namespace and len(self._namespaces) < 100:
                self._namespaces.add(namespace)
            if cid in self._meta or now - self._asked.get(cid, -ASK_AGAIN_S) < ASK_AGAIN_S:
                return
            self._asked[cid] = now
            if len(self._asked) > 10_000:
                self._asked = {k: t for k, t in self._asked.items() if now - t < ASK_AGAIN_S}
        self._wake.set()

    # ---- the thread -----------------------------------------------------------

    def _wakeup(self) -> None:
        self._wake.set()

    def _close_client(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            try:
                client.close()
            except Exception:  # noqa: BLE001 - closing a broken channel may fail any way
                pass

    def _session(self) -> None:
        path = socket_path(self.endpoint)
        if path and not os.path.exists(path):
            raise FileNotFoundError(f"no socket at {path}")
        client = CriClient(self.endpoint, self.timeout)
        with self._lock:
            self._client = client
        if self._stopping.is_set():
            return
        name, _version = client.version()
        self.runtime = RUNTIME_NAMES.get(name.lower(), name.lower() or "cri")
        last = float("-inf")
        while not self._stopping.is_set():
            wait = max(0.0, min(self.poll_s - (time.monotonic() - last), self.poll_s))
            if self._wake.wait(wait):
                self._stopping.wait(max(0.0, WAKE_MIN_S - (time.monotonic() - last)))
            self._wake.clear()
            if self._stopping.is_set():
                return
            last = time.monotonic()
            self._refresh(client)

    def _refresh(self, client: CriClient) -> None:
        pods = {p.id: p for p in client.list_pods()}
        containers = client.list_containers()
        runtime = self.runtime
        meta: dict[str, ContainerMeta] = {}
        for p in pods.values():
            meta[p.id] = ContainerMeta(SANDBOX_NAME, "", (), p.state, runtime=runtime,
                                       namespace=p.namespace, pod=p.name, pod_uid=p.uid,
                                       pod_labels=p.labels, sandbox=True)
        for c in containers:
            image = c.image
            if not image or _is_image_id(image):
                image = self._image_of(client, c)
            labels = dict(c.labels)
            p = pods.get(c.pod_sandbox_id)
            name = c.name or labels.get(KUBE_CONTAINER_NAME, "")
            if p is not None:
                meta[c.id] = ContainerMeta(name, image, c.labels, c.state, runtime=runtime,
                                           namespace=p.namespace, pod=p.name, pod_uid=p.uid,
                                           pod_labels=p.labels)
            else:  # its pod is gone already, or the labels are all there is
                meta[c.id] = ContainerMeta(
                    name, image, c.labels, c.state, runtime=runtime,
                    namespace=labels.get("io.kubernetes.pod.namespace", ""),
                    pod=labels.get("io.kubernetes.pod.name", ""),
                    pod_uid=labels.get("io.kubernetes.pod.uid", ""))
        if runtime == "containerd":
            with self._lock:
                namespaces = sorted(self._namespaces)
            for ns in namespaces:
                for cid, image, labels in client.containerd_containers(ns):
                    if cid not in meta:
                        meta[cid] = ContainerMeta(cid, image, labels, "", runtime=runtime,
                                                  namespace=ns)
        self._publish(meta)

    def _image_of(self, client: CriClient, c: CriContainer) -> str:
        """A readable image name for a container listed with only its image id."""
        key = c.image or c.image_ref
        got = self._images.get(key)
        if got is None:
            try:
                got = client.container_image(c.id) or key
            except self._grpc_error():
                got = key  # gone meanwhile: ask again for the next container of that image
                return got
            if len(self._images) > 1000:
                self._images.clear()
            self._images[key] = got
        return got

    @staticmethod
    def _grpc_error():
        import grpc

        return grpc.RpcError
