"""Per-container metric totals (ctop_ebpf.metrics), from synthetic ticks through the model.

No kernel, no network: the records come from SystemState fed with synthetic
events, as the live source would feed it; the exposition is rendered by the
agent's prometheus_client glue without a server.
"""

from __future__ import annotations

import gzip

from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_text

from ctop_ebpf.agent import Exposition, build_info
from ctop_ebpf.metrics import families as F
from ctop_ebpf.metrics.totals import STALE_SCRAPES, MetricsTotals
from ctop_ebpf.model import events as ev
from ctop_ebpf.model.state import SystemState
from ctop_ebpf.views.engine import compile_filter
from tests.synthetic import T0, snapshot, tick, users

WEB = "a" * 64
DB = "b" * 64
POD_LABELS = (("io.kubernetes.pod.name", "web-0"), ("io.kubernetes.pod.namespace", "shop"))


def info(cid, name, cpu_ns=-1, memory=-1, labels=()):
    return ev.ContainerInfo(
        cid, "docker", name, f"{name}:1", labels, "running", cpu_ns=cpu_ns, memory_bytes=memory
    )


class Feed:
    """A model and its metric totals, fed tick by tick."""

    def __init__(self, *snaps, query=None, per_syscall=False):
        self.state = SystemState(user_name=users)
        for s in snaps:
            self.state.apply(s)
        self.totals = MetricsTotals(compile_filter(query) if query else None, per_syscall=per_syscall)
        self.n = 0
        self.scrapes = 0

    def tick(self, *events, **kw):
        for e in events:
            self.state.apply(e)
        interval = 0.0 if self.n == 0 else 1.0
        self.totals.update(self.state.end_tick(tick(self.n, interval=interval, **kw)), self.scrapes)
        self.n += 1
        return self.totals.snapshot()


def sc(pid, name, calls, errors=0, ns=0):
    return ev.SyscallStat(pid, pid, name, calls, errors, ns)


def test_counts_add_up_from_the_baseline_on_with_the_container_labels():
    f = Feed(snapshot(10, "nginx", container=WEB, runtime="docker"), snapshot(1, "init"))
    web = [info(WEB, "web", labels=POD_LABELS)]
    # the baseline tick: what happened before the agent started is not counted
    snap = f.tick(syscalls=[sc(10, "read", 1000, 5)], containers=web, events=50)
    assert snap.value(F.SYSCALLS.name, container="web") == 0
    f.tick(
        ev.Open(T0, 10, 10, "openat", "/var/log/a", 0o1, 5),
        syscalls=[sc(10, "read", 7, 2), sc(1, "wait4", 1)],
        fdio=[ev.FdIO(10, 5, 100, 4096, 1, 1)],
        containers=web,
        events=9,
        lost=1,
    )
    snap = f.tick(
        syscalls=[sc(10, "write", 3)], fdio=[ev.FdIO(10, 5, 0, 1000, 0, 1)], containers=web, events=4
    )
    labels = {
        "container_id": WEB[:12],
        "container": "web",
        "image": "web:1",
        "runtime": "docker",
        "pod": "web-0",
        "namespace": "shop",
    }
    assert snap.value(F.SYSCALLS.name, **labels) == 10
    assert snap.value(F.SYSCALL_ERRORS.name, **labels) == 2
    assert snap.value(F.FILE_BYTES.name, direction="write", **labels) == 5096
    assert snap.value(F.FILE_BYTES.name, direction="read", **labels) == 100
    assert snap.value(F.PROCESSES.name, **labels) == 1
    host = {
        "container_id": "host",
        "container": "host",
        "image": "",
        "runtime": "",
        "pod": "",
        "namespace": "",
    }
    assert snap.value(F.SYSCALLS.name, **host) == 1
    assert snap.value(F.EVENTS.name) == 13 and snap.value(F.EVENTS_LOST.name) == 1
    # the label set is exactly the documented one
    fam = dict(snap.families)
    assert {f.labels for f in fam if f.name.startswith("ctop_container_")} >= {F.CONTAINER_LABELS}
    assert not any(f.name.startswith("ctop_container_syscall_") and f is not F.SYSCALL_ERRORS for f in fam)


def test_net_bytes_by_direction():
    f = Feed(snapshot(20, "curl", container=WEB, runtime="docker"))
    f.state.apply(ev.Socket(T0, 20, 4, 2, 1, 0))
    f.state.apply(ev.SockAddr(T0, 20, 20, "connect", 4, 0, 2, "127.0.0.1", 40000, "127.0.0.1", 80))
    f.tick(containers=[info(WEB, "web")])
    snap = f.tick(fdio=[ev.FdIO(20, 4, 300, 20, 1, 1)], containers=[info(WEB, "web")])
    assert snap.value(F.NET_BYTES.name, container="web", direction="receive") == 300
    assert snap.value(F.NET_BYTES.name, container="web", direction="transmit") == 20


def test_container_cpu_is_its_cgroup_including_processes_that_exited_between_ticks():
    f = Feed(snapshot(30, "app", container=WEB, runtime="docker"))
    f.tick(
        samples=[ev.ProcSample(30, 30, 5_000_000_000, 0, 1)],
        containers=[info(WEB, "web", cpu_ns=9_000_000_000)],
    )
    # a short-lived child ran 0.7 s and exited between two /proc reads: only the cgroup saw it
    f.state.apply(ev.Fork(T0, 30, 31, 31, False, "worker", 1))
    f.state.apply(ev.Exit(T0, 31, 31, 0))
    snap = f.tick(
        samples=[ev.ProcSample(30, 30, 5_200_000_000, 0, 1)],
        containers=[info(WEB, "web", cpu_ns=9_900_000_000, memory=1 << 20)],
    )
    assert abs(snap.value(F.CPU_SECONDS.name, container="web") - 0.9) < 1e-9
    assert snap.value(F.MEMORY_BYTES.name, container="web") == 1 << 20
    # the container restarts: its new cgroup counts from 0 again; the total goes on growing
    snap = f.tick(containers=[info(WEB, "web", cpu_ns=300_000_000)])
    assert abs(snap.value(F.CPU_SECONDS.name, container="web") - 1.2) < 1e-9


def test_a_container_started_after_the_agent_counts_its_whole_cgroup():
    f = Feed(snapshot(1, "init"))
    f.tick()
    f.state.apply(snapshot(40, "job", container=DB, runtime="docker"))
    snap = f.tick(containers=[info(DB, "db", cpu_ns=250_000_000)])
    assert abs(snap.value(F.CPU_SECONDS.name, container="db") - 0.25) < 1e-9


def test_host_cpu_is_the_sum_of_its_processes_cpu_since_the_start():
    f = Feed(snapshot(1, "init"), snapshot(50, "sshd"))
    f.tick(samples=[ev.ProcSample(1, 1, 10_000_000_000, 0, 1), ev.ProcSample(50, 50, 3_000_000_000, 0, 1)])
    steady = [ev.ProcSample(1, 1, 10_100_000_000, 4096, 1), ev.ProcSample(50, 50, 3_000_000_000, 0, 1)]
    snap = f.tick(samples=steady)
    assert abs(snap.value(F.CPU_SECONDS.name, container="host") - 0.1) < 1e-9
    # a process born after the start counts from 0; one that exits keeps what it used
    f.state.apply(ev.Fork(T0, 50, 51, 51, False, "sshd", 1))
    snap = f.tick(samples=[*steady, ev.ProcSample(51, 51, 40_000_000, 1000, 1)])
    assert abs(snap.value(F.CPU_SECONDS.name, container="host") - 0.14) < 1e-9
    assert snap.value(F.MEMORY_BYTES.name, container="host") == 5096  # the sum of RSS
    assert snap.value(F.PROCESSES.name, container="host") == 3
    f.state.apply(ev.Exit(T0, 51, 51, 0))
    f.tick(samples=steady)
    # its pid is reused by a new process: counted from its own start
    f.state.apply(ev.Fork(T0, 50, 51, 51, False, "sshd", 1))
    snap = f.tick(samples=[*steady, ev.ProcSample(51, 51, 10_000_000, 0, 1)])
    assert abs(snap.value(F.CPU_SECONDS.name, container="host") - 0.15) < 1e-9


def test_a_gone_container_keeps_its_values_for_a_few_scrapes_then_is_dropped():
    f = Feed(snapshot(60, "app", container=WEB, runtime="docker"))
    f.tick(containers=[info(WEB, "web")])
    f.tick(syscalls=[sc(60, "read", 5)], containers=[info(WEB, "web")])
    f.state.apply(ev.Exit(T0, 60, 60, 0))
    snap = f.tick(syscalls=[sc(60, "exit_group", 1)])
    assert snap.value(F.SYSCALLS.name, container="web") == 6  # its last tick, counted
    for _ in range(5):  # no scrape: kept
        snap = f.tick()
    assert snap.value(F.SYSCALLS.name, container="web") == 6
    for i in range(STALE_SCRAPES):
        f.scrapes += 1
        snap = f.tick()
        assert (snap.value(F.SYSCALLS.name, container="web") is None) == (i == STALE_SCRAPES - 1)


def test_container_filter_counts_whole_containers_and_process_filter_counts_processes():
    snaps = (
        snapshot(70, "nginx", container=WEB, runtime="docker"),
        snapshot(71, "logger", container=WEB, runtime="docker"),
        snapshot(80, "postgres", container=DB, runtime="docker"),
        snapshot(1, "init"),
    )
    ticks = [
        dict(
            samples=[ev.ProcSample(70, 70, 1_000_000_000, 0, 1), ev.ProcSample(71, 71, 1_000_000_000, 0, 1)],
            containers=[info(WEB, "web", cpu_ns=5_000_000_000, memory=100), info(DB, "db", cpu_ns=1)],
        ),
        dict(
            samples=[
                ev.ProcSample(70, 70, 1_100_000_000, 10, 1),
                ev.ProcSample(71, 71, 1_300_000_000, 20, 1),
            ],
            syscalls=[sc(70, "read", 10), sc(71, "write", 4), sc(80, "read", 99), sc(1, "wait4", 1)],
            containers=[info(WEB, "web", cpu_ns=5_500_000_000, memory=100), info(DB, "db", cpu_ns=2)],
        ),
    ]
    whole = Feed(*snaps, query="container.name = web")
    procs = Feed(*snaps, query="proc.name = nginx")
    for kw in ticks:
        a, b = whole.tick(**kw), procs.tick(**kw)
    assert {s.labels[1] for s in a.samples(F.SYSCALLS.name)} == {"web"}
    assert a.value(F.SYSCALLS.name, container="web") == 14
    assert abs(a.value(F.CPU_SECONDS.name, container="web") - 0.5) < 1e-9  # the cgroup
    assert a.value(F.MEMORY_BYTES.name, container="web") == 100
    assert {s.labels[1] for s in b.samples(F.SYSCALLS.name)} == {"web"}
    assert b.value(F.SYSCALLS.name, container="web") == 10  # nginx only
    assert abs(b.value(F.CPU_SECONDS.name, container="web") - 0.1) < 1e-9  # nginx's own CPU
    assert (
        b.value(F.MEMORY_BYTES.name, container="web") == 10
        and b.value(F.PROCESSES.name, container="web") == 1
    )


def test_per_syscall_and_errno_series_only_when_asked():
    plain = Feed(snapshot(90, "app", container=WEB, runtime="docker"))
    asked = Feed(snapshot(90, "app", container=WEB, runtime="docker"), per_syscall=True)
    kw = dict(
        syscalls=[sc(90, "openat", 10, 3, 5_000), sc(90, "read", 2, 0, 1_000)],
        errnos=[ev.ErrnoStat(90, "openat", 2, 3)],
        containers=[info(WEB, "web")],
    )
    for f in (plain, asked):
        f.tick(containers=[info(WEB, "web")])
        f.tick(**kw)
        snap = f.tick(**kw)
    assert {fam.name for fam, _ in plain.totals.snapshot().families}.isdisjoint(
        {fam.name for fam in F.SYSCALL_FAMILIES}
    )
    assert snap.value(F.SYSCALL_CALLS.name, container="web", syscall="openat") == 20
    assert snap.value(F.SYSCALL_FAILED.name, container="web", syscall="openat") == 6
    assert abs(snap.value(F.SYSCALL_SECONDS.name, container="web", syscall="openat") - 10e-6) < 1e-12
    assert snap.value(F.SYSCALL_ERRNOS.name, container="web", syscall="openat", errno="ENOENT") == 6
    # pids, paths and peers never become labels
    for fam, _ in snap.families:
        assert not {"pid", "path", "fd", "peer", "comm"} & set(fam.labels)


def test_hostile_names_become_inert_label_values():
    f = Feed(snapshot(95, "x", container=WEB, runtime="docker"))
    evil = 'we"b\n# HELP fake\udcff' + "x" * 1000
    snap = f.tick(containers=[info(WEB, evil)])
    (name,) = {s.labels[1] for s in snap.samples(F.SYSCALLS.name) if s.labels[0] == WEB[:12]}
    assert "\n" not in name and "\udcff" not in name and len(name) <= 256
    text = Exposition(snap).render(None, None)[0].decode()
    fams = {m.name: m for m in parse_text(text)}
    assert {
        s.labels["container"] for s in fams[F.SYSCALLS.name].samples if s.labels["container_id"] == WEB[:12]
    } == {name}


def _series(snap):
    out = {}
    for fam, samples in snap.families:
        if fam.kind == "counter":
            for s in samples:
                out[(fam.name, s.labels[:1] + s.labels[6:])] = s.value
    return out


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.lists(
                st.tuples(st.sampled_from([100, 101, 200]), st.integers(0, 50), st.integers(0, 5)), max_size=4
            ),
            st.dictionaries(st.sampled_from([WEB, DB]), st.integers(-1, 10**10), max_size=2),
            st.lists(st.tuples(st.sampled_from([100, 101, 200]), st.integers(-1, 10**10)), max_size=3),
            st.integers(0, 2),
        ),
        min_size=2,
        max_size=12,
    )
)
def test_counters_never_decrease(steps):
    f = Feed(
        snapshot(100, "a", container=WEB, runtime="docker"),
        snapshot(101, "b", container=DB, runtime="docker"),
        snapshot(200, "c"),
        per_syscall=True,
    )
    before: dict = {}
    for calls, cgroups, samples, scrapes in steps:
        f.scrapes += scrapes
        snap = f.tick(
            syscalls=[sc(pid, "read", n, min(e, n)) for pid, n, e in calls],
            containers=[info(cid, cid[:3], cpu_ns=v) for cid, v in cgroups.items()],
            samples=[ev.ProcSample(pid, pid, v, 0, 1) for pid, v in samples],
        )
        now = _series(snap)
        for key, value in now.items():
            assert value >= before.get(key, 0), key
        before = now


def test_the_exposition_is_prometheus_text_or_openmetrics_as_asked():
    f = Feed(snapshot(10, "nginx", container=WEB, runtime="docker"))
    f.totals.build.update(build_info())
    f.tick(containers=[info(WEB, "web")])
    f.tick(syscalls=[sc(10, "read", 3)], containers=[info(WEB, "web")])
    f.totals.observe_tick(0.003)
    expo = Exposition(f.totals.snapshot())
    body, headers = expo.render("text/plain", None)
    assert dict(headers)["Content-Type"].startswith("text/plain; version=0.0.4")
    fams = {m.name: m for m in parse_text(body.decode())}
    for fam in F.CONTAINER_FAMILIES + (F.EVENTS, F.EVENTS_LOST, F.TICK_SECONDS):
        assert fam.name in fams, fam.name
    assert "ctop_container_syscalls_total" in {s.name for s in fams[F.SYSCALLS.name].samples}
    assert fams[F.TICK_SECONDS.name].type == "histogram"
    assert any(s.name == "process_resident_memory_bytes" for m in fams.values() for s in m.samples)
    assert fams[F.BUILD.sample_name].samples[0].labels["version"]
    om, headers = expo.render("application/openmetrics-text; version=1.0.0,text/plain;q=0.5", "gzip")
    assert dict(headers)["Content-Type"].startswith("application/openmetrics-text")
    assert dict(headers)["Content-Encoding"] == "gzip"
    text = gzip.decompress(om).decode()
    assert text.endswith("# EOF\n")
    parsed = {m.name: m for m in parse_openmetrics(text)}
    assert parsed[F.SYSCALLS.name].type == "counter"
    value = next(s.value for s in parsed[F.SYSCALLS.name].samples if s.labels["container"] == "web")
    assert value == 3
    # one render per format and tick, however many scrapes
    assert expo.render("text/plain", None)[0] is body and expo.scrapes == 3
