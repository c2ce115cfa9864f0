r"""Real-world /proc/PID/cgroup texts and cgroup paths, with the expected answer.

Each sample is (description, text, expected id or None, expected runtime or
None). Texts are whole /proc/PID/cgroup files as the kernel prints them
(v1 ``N:controllers:/path``, v2 ``0::/path``); the formats come from Docker,
containerd/Kubernetes, CRI-O, Podman, LXC/LXD and systemd-nspawn hosts.
"""

D = "3b1f4ab4e1c8d0f1a2b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7"  # docker
D2 = "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b"  # nested
K = "f0e1d2c3b4a5968778695a4b3c2d1e0ff0e1d2c3b4a5968778695a4b3c2d1e0f"  # containerd
C = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"  # cri-o
P = "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00"  # podman
UID = "8d5f7a2c-4b1e-4c3d-9f0a-6e2b1c3d4e5f"
UID_ = UID.replace("-", "_")


def v1(path: str, systemd: str | None = None) -> str:
    """A cgroup v1 /proc/PID/cgroup with every controller at ``path``."""
    ctrls = ["cpu,cpuacct", "memory", "pids", "blkio", "devices", "freezer",
             "net_cls,net_prio", "perf_event", "cpuset", "hugetlb", "rdma"]
    lines = [f"{12 - i}:{c}:{path}" for i, c in enumerate(ctrls)]
    lines.append(f"1:name=systemd:{systemd or path}")
    return "\n".join(lines) + "\n"


def hybrid(path: str, v2path: str | None = None) -> str:
    """A hybrid host: v1 controllers plus the v2 line."""
    return v1(path) + f"0::{v2path if v2path is not None else path}\n"


def this_host(path: str) -> str:
    """/proc/PID/cgroup on the CI host (Debian 12, kernel 6.18, hybrid: these v1
    controllers, the v2 line last), as read there for a container at ``path``."""
    ctrls = ["name=systemd", "pids", "blkio", "freezer", "devices", "memory", "cpuset", "cpuacct", "cpu"]
    return "".join(f"{9 - i}:{c}:{path}\n" for i, c in enumerate(ctrls)) + f"0::{path}\n"


def v2(path: str) -> str:
    return f"0::{path}\n"


SAMPLES: list[tuple[str, str, str | None, str | None]] = [
    # ---- host -------------------------------------------------------------
    ("v2 root", v2("/"), None, None),
    ("v2 user session", v2("/user.slice/user-1000.slice/session-3.scope"), None, None),
    ("v2 system service", v2("/system.slice/ssh.service"), None, None),
    ("dockerd itself", v2("/system.slice/docker.service"), None, None),
    ("containerd itself", v2("/system.slice/containerd.service"), None, None),
    ("v1 host", v1("/", "/init.scope"), None, None),
    ("hybrid host", hybrid("/user.slice", "/user.slice/user-0.slice/session-1.scope"), None, None),
    ("32-hex sandbox cgroup is not a container",
     "4:memory:/process_api/a15d64aac9a9ba19000be1978c859152\n0::/\n", None, None),
    ("kubelet slice, no container", v2("/kubepods.slice/kubepods-burstable.slice"), None, None),
    ("pod slice without container",
     v2(f"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{UID_}.slice"),
     None, None),
    # ---- Docker -----------------------------------------------------------
    ("docker v1 cgroupfs", v1(f"/docker/{D}"), D, "docker"),
    ("docker hybrid cgroupfs (this CI host)", hybrid(f"/docker/{D}"), D, "docker"),
    ("docker v2 systemd driver", v2(f"/system.slice/docker-{D}.scope"), D, "docker"),
    ("docker v1 systemd driver", v1(f"/system.slice/docker-{D}.scope"), D, "docker"),
    ("docker v2 cgroupfs", v2(f"/docker/{D}"), D, "docker"),
    ("docker rootless v2",
     v2(f"/user.slice/user-1000.slice/user@1000.service/user.slice/docker-{D}.scope"),
     D, "docker"),
    ("docker with systemd inside (sub-cgroup)",
     v2(f"/system.slice/docker-{D}.scope/init.scope"), D, "docker"),
    ("docker v2 deleted cgroup", f"0::/system.slice/docker-{D}.scope (deleted)\n", D, "docker"),
    ("docker-in-docker: innermost id", hybrid(f"/docker/{D}/docker/{D2}"), D2, "docker"),
    ("docker-in-docker systemd outer: innermost id",
     v2(f"/system.slice/docker-{D}.scope/docker/{D2}"), D2, "docker"),
    ("hybrid: v2 at root, v1 in docker", hybrid(f"/docker/{D}", "/"), D, "docker"),
    # ---- containerd / Kubernetes -------------------------------------------
    ("k8s v2 systemd containerd",
     v2(f"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{UID_}.slice/"
        f"cri-containerd-{K}.scope"), K, "containerd"),
    ("k8s v2 guaranteed containerd",
     v2(f"/kubepods.slice/kubepods-pod{UID_}.slice/cri-containerd-{K}.scope"), K, "containerd"),
    ("k8s v1 systemd containerd",
     v1(f"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UID_}.slice/"
        f"cri-containerd-{K}.scope"), K, "containerd"),
    ("k8s v1 cgroupfs: runtime unknown", v1(f"/kubepods/burstable/pod{UID}/{K}"), K, "kubernetes"),
    ("k8s v1 cgroupfs guaranteed", v1(f"/kubepods/pod{UID}/{K}"), K, "kubernetes"),
    ("k8s v2 cgroupfs", v2(f"/kubepods/besteffort/pod{UID}/{K}"), K, "kubernetes"),
    ("k8s on docker (dockershim, systemd)",
     v1(f"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UID_}.slice/"
        f"docker-{D}.scope"), D, "docker"),
    ("kind node: k8s inside a docker container",
     v2(f"/system.slice/docker-{D}.scope/kubelet.slice/kubelet-kubepods.slice/"
        f"kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod{UID_}.slice/"
        f"cri-containerd-{K}.scope"), K, "containerd"),
    ("nerdctl systemd", v2(f"/system.slice/nerdctl-{K}.scope"), K, "containerd"),
    # seen on the CI host (hybrid, cgroupfs driver) with containerd 1.6's CRI plugin
    ("CRI pod container, cgroup parent /kubepods/besteffort (this CI host)",
     this_host(f"/kubepods/besteffort/pod{UID}/{K}"), K, "kubernetes"),
    ("CRI pod without a cgroup parent: /k8s.io/<id> (this CI host)", this_host(f"/k8s.io/{K}"), K, "containerd"),
    ("ctr run: /<namespace>/<id> is not claimed by the path (this CI host)",
     this_host("/default/ctop-plain"), None, None),
    ("ctr run with a 64-hex id outside k8s.io is not claimed either", this_host(f"/ctop-test/{K}"), None, None),
    ("containerd, systemd cgroupsPath kept as a name (cgroupfs manager)",
     v2(f"/kubepods-besteffort-pod{UID_}.slice:cri-containerd:{K}"), K, "containerd"),
    ("cri-o, systemd cgroupsPath kept as a name (cgroupfs manager)",
     v2(f"/kubepods-burstable-pod{UID_}.slice:crio:{C}"), C, "cri-o"),
    # ---- CRI-O -------------------------------------------------------------
    ("cri-o v2",
     v2(f"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UID_}.slice/"
        f"crio-{C}.scope"), C, "cri-o"),
    ("cri-o v2 container sub-cgroup",
     v2(f"/kubepods.slice/kubepods-pod{UID_}.slice/crio-{C}.scope/container"), C, "cri-o"),
    ("cri-o conmon is host",
     v2(f"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UID_}.slice/"
        f"crio-conmon-{C}.scope"), None, None),
    ("cri-o v1 conmon is host",
     v1(f"/kubepods.slice/kubepods-pod{UID_}.slice/crio-conmon-{C}.scope"), None, None),
    # ---- Podman ------------------------------------------------------------
    ("podman root v2", v2(f"/machine.slice/libpod-{P}.scope"), P, "podman"),
    ("podman root v2 container sub-cgroup", v2(f"/machine.slice/libpod-{P}.scope/container"),
     P, "podman"),
    ("podman rootless v2",
     v2(f"/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{P}.scope"),
     P, "podman"),
    ("podman rootless conmon is host",
     v2(f"/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-conmon-{P}.scope"),
     None, None),
    ("podman root conmon is host", v2(f"/machine.slice/libpod-conmon-{P}.scope"), None, None),
    ("podman pod",
     v2(f"/machine.slice/machine-libpod_pod_{C}.slice/libpod-{P}.scope"), P, "podman"),
    ("podman cgroupfs v1", v1(f"/libpod_parent/libpod-{P}"), P, "podman"),
    ("podman rootful, cgroupfs manager (this CI host)", this_host(f"/libpod_parent/libpod-{P}"), P, "podman"),
    ("podman inside a docker container: innermost",
     v2(f"/docker/{D}/libpod_parent/libpod-{P}"), P, "podman"),
    ("podman conmon inside docker belongs to the docker container",
     v2(f"/docker/{D}/libpod_parent/libpod-conmon-{P}"), D, "docker"),
    # ---- LXC / LXD ---------------------------------------------------------
    ("lxc 1-3 v1", v1("/lxc/web01"), "web01", "lxc"),
    ("lxc with systemd inside", v1("/lxc/web01/system.slice/nginx.service"), "web01", "lxc"),
    ("lxc 4 payload v2", v2("/lxc.payload.web01"), "web01", "lxc"),
    ("lxd payload with init.scope", v2("/lxc.payload.u1/init.scope"), "u1", "lxc"),
    ("lxc 3 payload dir", v1("/lxc.payload/db-1"), "db-1", "lxc"),
    ("lxc monitor is host", v2("/lxc.monitor.web01"), None, None),
    ("lxc 3 monitor is host", v1("/lxc.monitor/web01"), None, None),
    ("docker inside lxc: innermost", v2(f"/lxc.payload.web01/system.slice/docker-{D}.scope"),
     D, "docker"),
    # ---- systemd-nspawn ----------------------------------------------------
    ("nspawn v2", v2("/machine.slice/machine-debian.scope"), "debian", "nspawn"),
    ("nspawn escaped name", v2(r"/machine.slice/machine-foo\x2dbar.scope"), "foo-bar", "nspawn"),
    ("nspawn payload", v2(r"/machine.slice/machine-my\x2dbox.scope/payload/system.slice/x.service"),
     "my-box", "nspawn"),
    ("nspawn supervisor is host", v2("/machine.slice/machine-debian.scope/supervisor"), None, None),
    ("nspawn supervisor inside docker belongs to docker",
     v2(f"/docker/{D}/machine.slice/machine-debian.scope/supervisor"), D, "docker"),
    ("nspawn inside docker: innermost",
     v2(f"/docker/{D}/machine.slice/machine-debian.scope/payload"), "debian", "nspawn"),
    ("nspawn v1 name=systemd only",
     "\n".join(f"{i}:{c}:/" for i, c in enumerate(["cpu,cpuacct", "memory", "pids"], 2))
     + "\n1:name=systemd:/machine.slice/machine-arch.scope\n", "arch", "nspawn"),
    ("libvirt qemu VM is not a container",
     v2(r"/machine.slice/machine-qemu\x2d1\x2dwin10.scope/libvirt/emulator"), None, None),
    # ---- malformed ---------------------------------------------------------
    ("empty text", "", None, None),
    ("blank lines", "\n\n  \n", None, None),
    ("garbage", "this is not a cgroup file\n\x00\xff:::\n", None, None),
    ("missing fields", f"0:/docker/{D}\n", None, None),
    ("relative path", f"0::docker/{D}\n", None, None),
    ("short id is not an id", v2("/docker/3b1f4ab4e1c8"), None, None),
    ("uppercase hex is not docker", v2(f"/docker/{D.upper()}"), None, None),
    ("truncated scope", v2(f"/system.slice/docker-{D[:40]}"), None, None),
    ("malformed lines around a good one",
     f"garbage\n:::\n12:memory\n0::/docker/{D}\nxx:yy:zz\n", D, "docker"),
    ("colons in path", v2(f"/docker/{D}:extra"), None, None),
    ("CRLF line endings", f"1:name=systemd:/docker/{D}\r\n0::/docker/{D}\r\n", D, "docker"),
]

# Single paths for parse_cgroup_path (and the directories the resolver walks).
PATHS: list[tuple[str, str | None, str | None]] = [
    ("/", None, None),
    ("", None, None),
    (f"/docker/{D}", D, "docker"),
    (f"docker/{D}", D, "docker"),
    (f"/system.slice/docker-{D}.scope", D, "docker"),
    (f"/kubepods/burstable/pod{UID}/{K}", K, "kubernetes"),
    (f"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{UID_}.slice/"
     f"cri-containerd-{K}.scope", K, "containerd"),
    (f"/machine.slice/crio-{C}.scope", C, "cri-o"),
    (f"/machine.slice/libpod-{P}.scope", P, "podman"),
    ("/lxc/alpine", "alpine", "lxc"),
    ("/lxc.payload.alpine", "alpine", "lxc"),
    ("lxc.payload/alpine", "alpine", "lxc"),
    (r"/machine.slice/machine-foo\x2dbar.scope", "foo-bar", "nspawn"),
    ("/lxc", None, None),
    ("/machine.slice", None, None),
    (f"/{D}", None, None),  # a bare id with no runtime around it
]
