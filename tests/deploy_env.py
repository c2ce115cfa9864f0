"""deploy/: the Kubernetes manifests, read as data, and what they ask of a node in docker's words."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
# capabilities this sandbox cannot grant (its bounding set lacks them): left out here
SANDBOX_LACKS = {"SYS_RESOURCE"}
# Docker 20.10 does not know CAP_BPF and CAP_PERFMON by name: CAP_SYS_ADMIN holds both
DOCKER_NAMES = {"BPF": "SYS_ADMIN", "PERFMON": "SYS_ADMIN"}


def documents() -> dict[str, list[dict]]:
    """Every YAML document under deploy/, by file name."""
    return {
        p.name: [d for d in yaml.safe_load_all(p.read_text()) if d] for p in sorted(DEPLOY.glob("*.yaml"))
    }


def daemonset() -> dict:
    (ds,) = documents()["daemonset.yaml"]
    return ds


def agent_container(ds: dict | None = None) -> dict:
    (c,) = (ds or daemonset())["spec"]["template"]["spec"]["containers"]
    return c


def capabilities() -> list[str]:
    return agent_container()["securityContext"]["capabilities"]["add"]


def docker_run_args(ds: dict | None = None) -> list[str]:
    """``docker run`` options that give a container what the DaemonSet gives its pod."""
    ds = ds or daemonset()
    pod = ds["spec"]["template"]["spec"]
    c = agent_container(ds)
    sc = c["securityContext"]
    args = ["--pid", "host"] if pod.get("hostPID") else []
    args += ["--cap-drop", "ALL"] if "ALL" in sc["capabilities"].get("drop", []) else []
    for cap in dict.fromkeys(DOCKER_NAMES.get(x, x) for x in sc["capabilities"]["add"]):
        if cap not in SANDBOX_LACKS:
            args += ["--cap-add", cap]
    if sc.get("seccompProfile", {}).get("type") == "Unconfined":
        args += ["--security-opt", "seccomp=unconfined"]
    if sc.get("allowPrivilegeEscalation") is False:
        args += ["--security-opt", "no-new-privileges"]
    if sc.get("readOnlyRootFilesystem"):
        args += ["--read-only"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    for m in c["volumeMounts"]:
        v = volumes[m["name"]]
        if "hostPath" in v:
            args += ["-v", f"{v['hostPath']['path']}:{m['mountPath']}{':ro' if m.get('readOnly') else ''}"]
        elif "emptyDir" in v:
            args += ["--tmpfs", m["mountPath"]]
    for e in c.get("env", []):
        args += ["-e", f"{e['name']}={e['value']}"]
    return args
