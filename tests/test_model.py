"""The state model, driven by synthetic events (no kernel)."""

from __future__ import annotations

from ctop_ebpf.model import events as ev
from ctop_ebpf.model.state import SystemState
from tests.synthetic import T0, snapshot, tick, users

WEB = "a" * 64


def state_with(*events) -> SystemState:
    s = SystemState(user_name=users)
    for e in events:
        s.apply(e)
    return s


def test_snapshot_fork_exec_exit_lifecycle():
    s = state_with(snapshot(100, "bash", uid=1000))
    s.apply(ev.Fork(T0, 100, 101, 101, False, "bash", 1))
    s.apply(ev.Exec(T0 + 1, 101, 101, 1000, "cat", "/usr/bin/cat", ("cat", "/etc/hosts"), False, 1))
    s.apply(ev.Exit(T0 + 2, 101, 101, 0))
    recs = s.end_tick(tick(1))
    procs = {r["proc.pid"]: r for r in recs.procs}
    assert procs[101]["proc.cmdline"] == "cat /etc/hosts"
    assert procs[101]["proc.ppid"] == 100 and procs[101]["user.name"] == "alice"
    assert procs[101]["exited"] is True and procs[101]["exit_code"] == 0
    assert [e["proc.cmdline"] for e in recs.execs] == ["cat /etc/hosts"]
    assert recs.execs[0]["proc.pname"] == "bash"
    # visible for the tick in which it exited, then pruned
    recs2 = s.end_tick(tick(2))
    assert {r["proc.pid"] for r in recs2.procs} == {100}


def test_threads_are_not_processes():
    s = state_with(snapshot(200, "java"))
    s.apply(ev.Fork(T0, 200, 200, 201, True, "java", 1))
    recs = s.end_tick(tick(1, syscalls=[ev.SyscallStat(200, 201, "futex", 10, 0, 500)]))
    assert [r["proc.pid"] for r in recs.procs] == [200]
    assert {r["thread.tid"] for r in recs.threads} == {200, 201}
    assert next(r for r in recs.threads if r["thread.tid"] == 201)["syscalls"] == 10


def test_open_io_close_counts_per_path_within_one_tick():
    s = state_with(snapshot(300, "app"))
    s.apply(ev.Open(T0, 300, 300, "openat", "/data/f", 0o1, 5))
    s.apply(ev.Close(T0 + 1, 300, 300, 5, 0, bytes_read=0, bytes_written=4096, reads=0, writes=1))
    s.apply(ev.Open(T0 + 2, 300, 300, "openat", "/data/f", 0, 5))
    s.apply(ev.Open(T0 + 3, 300, 300, "openat", "/missing", 0, -2))
    recs = s.end_tick(tick(1, fdio=[ev.FdIO(300, 5, 4096, 0, 1, 0)]))
    files = {r["fd.name"]: r for r in recs.fds}
    assert files["/data/f"]["opens"] == 2
    assert files["/data/f"]["bytes_written"] == 4096 and files["/data/f"]["bytes_read"] == 4096
    assert files["/missing"]["errors"] == 1 and files["/missing"]["opens"] == 1
    proc = recs.procs[0]
    assert proc["file_bytes"] == 8192 and proc["opens"] == 3
    assert [o["result_text"] for o in recs.opens] == ["5", "5", "ENOENT"]
    # next tick: counters start again, the open fd is still listed
    recs2 = s.end_tick(tick(2))
    f = [r for r in recs2.fds if r["fd.name"] == "/data/f"]
    assert f and f[0]["opens"] == 0 and f[0]["fd.open"] is True


def test_socket_connect_and_accept_tuples():
    s = state_with(snapshot(400, "curl"), snapshot(500, "nginx"))
    s.apply(ev.Socket(T0, 500, 3, 2, 1, 0))
    s.apply(ev.SockAddr(T0, 500, 500, "bind", 3, 0, 2, "127.0.0.1", 80))
    s.apply(ev.SockAddr(T0, 500, 500, "listen", 3, 0, 0))
    s.apply(ev.Socket(T0, 400, 4, 2, 1, 0))
    s.apply(ev.SockAddr(T0, 400, 400, "connect", 4, 0, 2, "127.0.0.1", 40000, "127.0.0.1", 80))
    s.apply(ev.SockAddr(T0, 500, 500, "accept", 3, 6, 2, "127.0.0.1", 80, "127.0.0.1", 40000))
    recs = s.end_tick(tick(1, fdio=[ev.FdIO(400, 4, 10, 20, 1, 1), ev.FdIO(500, 6, 20, 10, 1, 1)]))
    net = {(r["proc.pid"], r["fd.name"]): r for r in recs.fds if r["fd.type"] == "ipv4"}
    client = net[(400, "127.0.0.1:40000->127.0.0.1:80")]
    server = net[(500, "127.0.0.1:80->127.0.0.1:40000")]
    assert client["bytes_written"] == 20 and server["bytes_read"] == 20
    assert client["fd.sport"] == 80 and server["fd.sport"] == 80
    assert net[(500, "127.0.0.1:80")]["fd.sport"] == 80  # the listener
    assert client["fd.l4proto"] == "tcp"
    assert {r["proc.pid"]: r["net_bytes"] for r in recs.procs} == {400: 30, 500: 30}


def test_dup_and_fork_share_what_the_fd_is():
    s = state_with(snapshot(600, "sh"))
    s.apply(ev.Open(T0, 600, 600, "openat", "/var/log/x", 0o1, 3))
    s.apply(ev.Dup(T0, 600, 3, 1))
    s.apply(ev.Fork(T0, 600, 601, 601, False, "sh", 1))
    recs = s.end_tick(tick(1, fdio=[ev.FdIO(601, 1, 0, 7, 0, 1)]))
    row = next(r for r in recs.fds if r["proc.pid"] == 601 and r["bytes_written"])
    assert row["fd.name"] == "/var/log/x" and row["fd.num"] == 1


def test_containers_and_cpu_from_samples():
    s = state_with(snapshot(700, "httpd", container=WEB, runtime="docker"), snapshot(1, "init"))
    info = ev.ContainerInfo(WEB, "docker", "web", "busybox:latest", (("io.kubernetes.pod.name", "web-0"),),
                            "running", cpu_ns=1_000_000_000, memory_bytes=4096)
    s.end_tick(tick(1, samples=[ev.ProcSample(700, 700, 1_000_000_000, 8192, 1)], containers=[info]))
    info2 = ev.ContainerInfo(WEB, "docker", "web", "busybox:latest", (("io.kubernetes.pod.name", "web-0"),),
                             "running", cpu_ns=1_500_000_000, memory_bytes=4096)
    recs = s.end_tick(tick(2, samples=[ev.ProcSample(700, 700, 1_250_000_000, 8192, 1)], containers=[info2]))
    proc = next(r for r in recs.procs if r["proc.pid"] == 700)
    assert proc["container.id"] == WEB[:12] and proc["container.name"] == "web"
    assert proc["k8s.pod.name"] == "web-0"
    assert abs(proc["cpu_pct"] - 25.0) < 1e-6
    c = next(r for r in recs.containers if r["container.id"] == WEB[:12])
    assert abs(c["cpu_pct"] - 50.0) < 1e-6
    host = next(r for r in recs.procs if r["proc.pid"] == 1)
    assert host["container.id"] == "host" and host["container.name"] == "host"
    # the container stops: no process, not reported → gone after the tick
    s.apply(ev.Exit(T0, 700, 700, 0))
    s.end_tick(tick(3))
    recs = s.end_tick(tick(4))
    assert WEB[:12] not in {r["container.id"] for r in recs.containers}


def test_events_for_unknown_processes_do_not_crash():
    s = SystemState(user_name=users)
    s.apply(ev.Close(T0, 999, 999, 3, 0))
    s.apply(ev.Exit(T0, 998, 998, 0))
    s.apply(ev.Dup(T0, 997, 5, 6))
    recs = s.end_tick(tick(1, syscalls=[ev.SyscallStat(996, 996, "read", 1, 0, 1)]))
    assert {r["proc.pid"] for r in recs.procs} == {997, 996}


def test_exec_closes_close_on_exec_fds():
    s = state_with(snapshot(800, "sh"))
    s.apply(ev.Open(T0, 800, 800, "openat", "/etc/keep", 0, 3))
    s.apply(ev.Open(T0, 800, 800, "openat", "/etc/drop", 0o2000000, 4))
    s.apply(ev.Socket(T0, 800, 5, 2, 1, 0, True))
    s.apply(ev.Exec(T0, 800, 800, 0, "ls", "/bin/ls", ("ls",), False, 1))
    assert set(s.processes[800].fds) == {3}


def test_process_missing_from_two_samples_is_pruned_when_its_exit_was_lost():
    s = state_with(snapshot(900, "gone"), snapshot(901, "here"))
    here = [ev.ProcSample(901, 901, 0, 1, 1)]
    assert {r["proc.pid"] for r in s.end_tick(tick(1, samples=here)).procs} == {900, 901}
    recs = s.end_tick(tick(2, samples=here))  # second miss: marked exited, shown this tick
    assert next(r for r in recs.procs if r["proc.pid"] == 900)["exited"] is True
    assert {r["proc.pid"] for r in s.end_tick(tick(3, samples=here)).procs} == {901}


def test_child_events_before_its_fork_are_kept():
    """Per-CPU buffers: the child's dup2 and exec can be read before its fork."""
    s = state_with(snapshot(1000, "pytest"))
    s.apply(ev.Open(T0, 1000, 1000, "openat", "/tmp/capture", 0, 1))
    s.apply(ev.Pipe(T0, 1000, 7, 8))
    s.apply(ev.Dup(T0 + 2, 1001, 8, 1))
    s.apply(ev.Exec(T0 + 3, 1001, 1001, 0, "worker", "/usr/bin/worker", ("worker",), False, 1))
    s.apply(ev.Fork(T0 + 1, 1000, 1001, 1001, False, "pytest", 1))
    child = s.processes[1001]
    assert child.comm == "worker" and child.ppid == 1000
    assert child.fds[1].kind == "pipe" and child.fds[7].kind == "pipe"


def test_connect_local_end_learnt_when_established():
    s = state_with(snapshot(1100, "curl"))
    s.apply(ev.Socket(T0, 1100, 5, 2, 1, 0))
    s.apply(ev.SockAddr(T0 + 1, 1100, 1100, "local", 5, 0, 2, "127.0.0.1", 41000, "127.0.0.1", 80))
    s.apply(ev.SockAddr(T0 + 2, 1100, 1100, "connect", 5, 0, 2, "", 0, "127.0.0.1", 80))
    info = s.processes[1100].fds[5]
    assert (info.laddr, info.lport, info.raddr, info.rport) == ("127.0.0.1", 41000, "127.0.0.1", 80)


# ---- record contexts are cached across ticks: what must still refresh them ----

def _proc(recs, pid):
    return next(r for r in recs.procs if r["proc.pid"] == pid)


def test_parent_exec_renames_proc_pname_of_its_children():
    s = state_with(snapshot(10, "sh"), snapshot(11, "worker", ppid=10))
    assert _proc(s.end_tick(tick(1)), 11)["proc.pname"] == "sh"
    s.apply(ev.Exec(T0, 10, 10, 0, "nginx", "/usr/sbin/nginx", ("nginx",), False, 1))
    assert _proc(s.end_tick(tick(2)), 11)["proc.pname"] == "nginx"


def test_parent_gone_empties_proc_pname():
    s = state_with(snapshot(10, "sh"), snapshot(11, "worker", ppid=10))
    s.end_tick(tick(1))
    s.apply(ev.Exit(T0, 10, 10, 0))
    assert _proc(s.end_tick(tick(2)), 11)["proc.pname"] == "sh"  # the tick it exited in
    assert _proc(s.end_tick(tick(3)), 11)["proc.pname"] == ""


def test_container_renamed_or_relabelled_reaches_every_record():
    s = state_with(snapshot(700, "httpd", container=WEB, runtime="docker"))
    info = ev.ContainerInfo(WEB, "docker", "web", "busybox:1", (), "running")
    assert _proc(s.end_tick(tick(1, containers=[info])), 700)["container.name"] == "web"
    # counters of the container change every tick: the cached context stays
    cached = s.context(s.processes[700])
    s.end_tick(tick(2, containers=[ev.ContainerInfo(WEB, "docker", "web", "busybox:1", (), "running",
                                                    cpu_ns=5, memory_bytes=7)]))
    assert s.context(s.processes[700]) is cached
    renamed = ev.ContainerInfo(WEB, "docker", "web-2", "busybox:2", (("io.kubernetes.pod.name", "p"),), "running")
    proc = _proc(s.end_tick(tick(3, containers=[renamed])), 700)
    assert (proc["container.name"], proc["container.image"], proc["k8s.pod.name"]) == ("web-2", "busybox:2", "p")


def test_a_ticks_records_do_not_change_when_later_events_arrive():
    """The TUI can keep a tick's records (paused) and build its lazy kinds
    later, after more events were applied."""
    s = state_with(snapshot(300, "app"))
    recs = s.end_tick(tick(1))  # nothing happened: empty per-tick dicts
    s.apply(ev.Open(T0, 300, 300, "openat", "/data/new", 0, 7))
    s.end_tick(tick(2, syscalls=[ev.SyscallStat(300, 300, "read", 5, 0, 100)],
                    fdio=[ev.FdIO(300, 7, 10, 0, 1, 0)]))
    assert [r for r in recs.fds if r["proc.pid"] == 300] == []
    assert recs.syscalls == [] and recs.errnos == []


# ---- partial /proc samples (probes/procfs/sampler.py): Tick.present ----

def test_process_not_read_is_idle_and_cpu_is_spread_over_the_time_since_its_last_read():
    s = state_with(snapshot(10, "spinner"), snapshot(11, "sleeper"))
    sec = 1_000_000_000
    s.end_tick(tick(1, samples=[ev.ProcSample(10, 10, 0, 4096, 1), ev.ProcSample(11, 11, 0, 4096, 1)],
                    present=(10, 11)))
    recs = s.end_tick(tick(2, samples=[ev.ProcSample(10, 10, sec // 2, 4096, 1),
                                       ev.ProcSample(11, 11, sec // 10, 8192, 1)], present=(10, 11)))
    assert abs(_proc(recs, 11)["cpu_pct"] - 10.0) < 1e-6
    # 11 is not read for two ticks: 0 %, its RSS as last read, still there
    for n in (3, 4):
        recs = s.end_tick(tick(n, samples=[ev.ProcSample(10, 10, (n - 1) * sec // 2, 4096, 1)],
                               present=(10, 11)))
        assert abs(_proc(recs, 10)["cpu_pct"] - 50.0) < 1e-6
        assert _proc(recs, 11)["cpu_pct"] == 0.0 and _proc(recs, 11)["rss_bytes"] == 8192
    # read again after 3 s: 0.6 s of CPU since its last read is 20 %, not 60 %
    recs = s.end_tick(tick(5, samples=[ev.ProcSample(11, 11, sec // 10 + 6 * sec // 10, 8192, 1)],
                           present=(10, 11)))
    assert abs(_proc(recs, 11)["cpu_pct"] - 20.0) < 1e-6
    assert _proc(recs, 10)["cpu_pct"] == 0.0


def test_process_absent_from_two_listings_is_gone_even_if_never_read():
    s = state_with(snapshot(10, "a"), snapshot(11, "b"))
    s.end_tick(tick(1, samples=[ev.ProcSample(10, 10, 0, 0, 1)], present=(10, 11)))
    s.end_tick(tick(2, samples=[], present=(10,)))
    recs = s.end_tick(tick(3, samples=[], present=(10,)))
    assert _proc(recs, 11)["exited"] is True
    assert {r["proc.pid"] for r in s.end_tick(tick(4, present=(10,))).procs} == {10}
