"""deploy/: the Kubernetes manifests, checked offline (no API server runs here).

Every built-in resource is validated against the Kubernetes OpenAPI schema
in strict mode (unknown fields are errors) by kubernetes-validate; then the
pieces are checked against each other (selectors, named ports, volumes,
the agent's arguments) and against what the agent needs. The capability
set is also tried for real: the agent runs on this host with exactly the
DaemonSet's capabilities (less CAP_SYS_RESOURCE, which this sandbox cannot
grant) and names and counts a container.
"""

from __future__ import annotations

import copy
import re
import time

import kubernetes_validate
import pytest

from ctop_ebpf.session import parse_listen_address
from tests import deploy_env
from tests.agent_env import AgentRun, value

K8S_VERSION = "1.30"


def test_every_builtin_resource_passes_the_kubernetes_schema_strictly():
    docs = deploy_env.documents()
    assert set(docs) >= {
        "namespace.yaml",
        "daemonset.yaml",
        "service.yaml",
        "servicemonitor.yaml",
        "kustomization.yaml",
    }
    checked = 0
    for name, items in docs.items():
        for doc in items:
            if doc["apiVersion"].startswith(("monitoring.coreos.com/", "kustomize.config.k8s.io/")):
                continue  # CRDs and kustomize: no schema in the Kubernetes API; checked below
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
            checked += 1
    assert checked == 3
    # the check bites: a misspelt field or a wrong type is refused
    ds = copy.deepcopy(deploy_env.daemonset())
    ds["spec"]["template"]["spec"]["hostPid"] = True
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(ds, K8S_VERSION, strict=True)
    ds = copy.deepcopy(deploy_env.daemonset())
    ds["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "9490"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(ds, K8S_VERSION, strict=True)


def test_the_daemonset_gives_the_agent_what_it_needs_on_every_node():
    ds = deploy_env.daemonset()
    pod = ds["spec"]["template"]["spec"]
    c = deploy_env.agent_container(ds)
    assert (
        ds["spec"]["selector"]["matchLabels"].items() <= ds["spec"]["template"]["metadata"]["labels"].items()
    )
    assert pod["hostPID"] is True
    assert {"operator": "Exists"} in pod["tolerations"]  # every node, whatever its taints
    sc = c["securityContext"]
    assert sc.get("privileged") is False
    assert sorted(sc["capabilities"]["add"]) == ["BPF", "PERFMON", "SYS_PTRACE", "SYS_RESOURCE"]
    assert sc["capabilities"]["drop"] == ["ALL"]
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(c["resources"][kind])
    # the named port is where --metrics-addr listens, and what the probes and annotations use
    args = c["args"]
    _, port = parse_listen_address(args[args.index("--metrics-addr") + 1])
    (p,) = c["ports"]
    assert p["name"] == "metrics" and p["containerPort"] == port
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert c["readinessProbe"]["httpGet"]["port"] == "metrics"
    notes = ds["spec"]["template"]["metadata"]["annotations"]
    assert notes["prometheus.io/scrape"] == "true" and notes["prometheus.io/port"] == str(port)
    # the mounts of a node agent (docs: cluster.md), each backed by a volume
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
    assert all(m["name"] in volumes for m in mounts.values())
    host = {
        volumes[m["name"]]["hostPath"]["path"]: path
        for path, m in mounts.items()
        if "hostPath" in volumes[m["name"]]
    }
    assert host["/sys/kernel/tracing"] == "/sys/kernel/tracing"
    assert host["/sys/fs/cgroup"] == "/sys/fs/cgroup"
    for path in ("/lib/modules", "/usr/src"):
        assert host[path] == path and mounts[path]["readOnly"]
    # the runtimes' sockets are looked for under the host's /run
    env = {e["name"]: e["value"] for e in c["env"]}
    assert env["CTOP_HOST_ROOT"] + "/run" == host["/run"]
    # a read-only root file system has a writable /tmp
    assert sc["readOnlyRootFilesystem"] and "/tmp" in mounts


def test_service_and_servicemonitor_select_the_agents_and_their_named_port():
    docs = deploy_env.documents()
    ds = deploy_env.daemonset()
    pod_labels = ds["spec"]["template"]["metadata"]["labels"]
    (ns,) = docs["namespace.yaml"]
    (svc,) = docs["service.yaml"]
    (sm,) = docs["servicemonitor.yaml"]
    for doc in (ds, svc, sm):
        assert doc["metadata"]["namespace"] == ns["metadata"]["name"]
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
    assert svc["spec"]["selector"].items() <= pod_labels.items()
    assert svc["spec"]["clusterIP"] == "None"
    (port,) = svc["spec"]["ports"]
    assert port["name"] == "metrics" and port["targetPort"] == "metrics"
    assert sm["kind"] == "ServiceMonitor" and sm["apiVersion"] == "monitoring.coreos.com/v1"
    assert sm["spec"]["selector"]["matchLabels"].items() <= svc["metadata"]["labels"].items()
    assert sm["spec"]["namespaceSelector"]["matchNames"] == [ns["metadata"]["name"]]
    (endpoint,) = sm["spec"]["endpoints"]
    assert endpoint["port"] == "metrics" and endpoint["path"] == "/metrics"
    # the agent's pod's own container/pod/namespace target labels would clash with the series' labels
    (drop,) = [r for r in endpoint["relabelings"] if r.get("action") == "labeldrop"]
    assert re.fullmatch(drop["regex"], "pod") and re.fullmatch(drop["regex"], "container")
    assert re.fullmatch(drop["regex"], "namespace") and not re.fullmatch(drop["regex"], "node")
    assert {"sourceLabels": ["__meta_kubernetes_pod_node_name"], "targetLabel": "node"} in endpoint["relabelings"]
    (kust,) = docs["kustomization.yaml"]
    assert kust["resources"] == ["namespace.yaml", "daemonset.yaml", "service.yaml"]


@pytest.mark.kernel
@pytest.mark.docker
def test_the_agent_runs_with_the_daemonsets_capabilities_only(kernel, containers):
    """Root, but its bounding set holds only the DaemonSet's capabilities (setpriv, util-linux)."""
    caps = [c for c in deploy_env.capabilities() if c not in deploy_env.SANDBOX_LACKS]
    bounding = "-all," + ",".join(f"+{c.lower()}" for c in caps)
    name, cid = containers("capped", "sh", "-c", "while :; do cat /etc/hostname > /dev/null; sleep 0.1; done")
    with AgentRun(wrap=["setpriv", f"--bounding-set={bounding}"]) as agent:
        agent.wait_ticks(2)
        with open(f"/proc/{agent.proc.pid}/status") as f:
            status = dict(line.split(":", 1) for line in f)
        bits = {"BPF": 39, "PERFMON": 38, "SYS_PTRACE": 19}
        assert int(status["CapEff"], 16) == sum(1 << bits[c] for c in caps), status["CapEff"]
        deadline = time.monotonic() + 20
        while not (value(fams := agent.scrape(), "ctop_container_syscalls", container=name) or 0) > 20:
            assert time.monotonic() < deadline
            time.sleep(0.5)
        sample = next(s for s in fams["ctop_container_syscalls"].samples if s.labels["container"] == name)
        assert sample.labels["container_id"] == cid[:12] and sample.labels["image"]
        assert value(fams, "ctop_container_processes", container="host") > 5
