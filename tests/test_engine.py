"""The view engine on hand-made records: grouping, filters before grouping,
cross-kind filters, sorting, drill-down."""

from __future__ import annotations

import pytest

from ctop_ebpf.model import events as ev
from ctop_ebpf.model.state import SystemState
from ctop_ebpf.views import engine
from ctop_ebpf.views.catalogue import VIEWS, VIEWS_BY_ID, format_view_list, get_view
from ctop_ebpf.views.filter import parse
from tests.synthetic import T0, snapshot, tick, users

WEB = "b" * 64


@pytest.fixture
def records():
    s = SystemState(user_name=users)
    for e in (
        snapshot(1, "init"),
        snapshot(10, "nginx", container=WEB, runtime="docker"),
        snapshot(11, "nginx", ppid=10, container=WEB, runtime="docker"),
        snapshot(20, "cat", uid=1000),
        ev.Open(T0, 20, 20, "openat", "/etc/passwd", 0, 3),
        ev.Open(T0, 11, 11, "openat", "/var/www/index.html", 0, 7),
        ev.Open(T0, 10, 10, "openat", "/etc/nginx/nginx.conf", 0, 4),
        ev.Open(T0, 20, 20, "openat", "/etc/shadow", 0, -13),
        ev.Socket(T0, 11, 8, 2, 1, 0),
        ev.SockAddr(T0, 11, 11, "accept", 5, 8, 2, "127.0.0.1", 80, "127.0.0.1", 5555),
    ):
        s.apply(e)
    info = ev.ContainerInfo(WEB, "docker", "web", "nginx:1", (), "running", 5_000_000, 1 << 20)
    return s.end_tick(tick(1, syscalls=[
        ev.SyscallStat(20, 20, "read", 5, 0, 100), ev.SyscallStat(11, 11, "read", 7, 1, 300),
        ev.SyscallStat(11, 11, "sendfile", 2, 0, 50), ev.SyscallStat(20, 20, "openat", 2, 1, 10),
    ], errnos=[ev.ErrnoStat(20, "openat", 13, 1), ev.ErrnoStat(11, "read", 11, 1)],
        fdio=[ev.FdIO(20, 3, 1000, 0, 1, 0), ev.FdIO(11, 7, 5000, 0, 2, 0), ev.FdIO(11, 8, 0, 5000, 0, 1)],
        containers=[info]))


def ids(rows, col):
    return [r.values[col] for r in rows]


def test_every_view_computes(records):
    for view in VIEWS:
        rows = engine.compute(view, records)
        for r in rows:
            assert set(r.values) >= {c.id for c in view.columns}
    assert "containers" in format_view_list()


def test_containers_view_has_host_and_the_container(records):
    rows = engine.compute(get_view("containers"), records)
    by_id = {r.values["id"]: r.values for r in rows}
    assert set(by_id) == {"host", WEB[:12]}
    web = by_id[WEB[:12]]
    assert web["name"] == "web" and web["image"] == "nginx:1" and web["runtime"] == "docker"
    assert web["procs"] == 2 and web["syscalls"] == 9 and web["memory_bytes"] == 1 << 20
    assert web["net_bytes"] == 5000 and web["file_bytes"] == 5000
    assert by_id["host"]["procs"] == 2


def test_files_view_groups_by_path(records):
    rows = engine.compute(get_view("files"), records)
    by = {r.values["name"]: r.values for r in rows}
    assert by["/var/www/index.html"]["bytes_read"] == 5000
    assert by["/etc/shadow"]["errors"] == 1
    assert ids(rows, "name")[0] == "/var/www/index.html"  # sorted by bytes read


def test_filter_on_fine_records_before_grouping(records):
    files = engine.compute(get_view("files"), records, parse("proc.name = nginx"))
    assert sorted(ids(files, "name")) == ["/etc/nginx/nginx.conf", "/var/www/index.html"]
    procs = engine.compute(get_view("processes"), records, parse("fd.name startswith /etc"))
    assert sorted(ids(procs, "pid")) == [10, 20]
    procs = engine.compute(get_view("processes"), records, parse("evt.type = sendfile"))
    assert ids(procs, "pid") == [11]
    procs = engine.compute(get_view("processes"), records, parse("evt.errname = EACCES"))
    assert ids(procs, "pid") == [20]
    conts = engine.compute(get_view("containers"), records, parse("fd.name startswith /var/www"))
    assert ids(conts, "id") == [WEB[:12]]


def test_absent_fields_never_match(records):
    assert engine.compute(get_view("processes"), records, parse("fd.rport = 5555")) != []
    assert engine.compute(get_view("files"), records, parse("fd.rport != 1")) == []


def test_sort_and_parse_sort(records):
    view = get_view("processes")
    col, desc = engine.parse_sort("-pid")
    assert (col, desc) == ("pid", False)
    assert ids(engine.compute(view, records, sort="pid", desc=False), "pid") == [1, 10, 11, 20]
    assert ids(engine.compute(view, records, sort="pid", desc=True), "pid") == [20, 11, 10, 1]
    assert ids(engine.compute(view, records, sort="name", desc=False), "name")[0] == "cat"
    with pytest.raises(KeyError):
        engine.compute(view, records, sort="nope")


@pytest.mark.parametrize("start,column,target,clause_field", [
    ("containers", "id", "processes", "container.id"),
    ("processes", "pid", "files", "proc.pid"),
    ("files", "name", "processes", "fd.name"),
    ("connections", "name", "processes", "fd.name"),
    ("syscalls", "syscall", "syscall_callers", "evt.type"),
    ("errors", "errname", "error_callers", "evt.errname"),
    ("syscall_callers", "pid", "syscalls", "proc.pid"),
    ("error_callers", "pid", "errors", "proc.pid"),
    ("ports", "port", "connections", "fd.sport"),
])
def test_drill_down_is_a_pure_function(records, start, column, target, clause_field):
    view = get_view(start)
    rows = engine.compute(view, records)
    assert rows
    found = False
    for row in rows:
        dest, clause = engine.drill(view, row)
        assert dest == target and clause.startswith(clause_field)
        # the clause parses; some row leads somewhere non-empty
        found = found or bool(engine.compute(VIEWS_BY_ID[dest], records, parse(clause)))
    assert found


def test_syscall_callers_count_that_syscall_only(records):
    """Enter on `read` lists the processes that made reads, with their reads:
    not each process's total of every syscall."""
    syscalls = get_view("syscalls")
    read = next(r for r in engine.compute(syscalls, records) if r.values["syscall"] == "read")
    dest, clause = engine.drill(syscalls, read)
    rows = {r.values["pid"]: r.values for r in engine.compute(get_view(dest), records, parse(clause))}
    assert set(rows) == {20, 11}
    assert (rows[20]["calls"], rows[20]["errors"], rows[20]["total_ns"]) == (5, 0, 100)
    assert (rows[11]["calls"], rows[11]["errors"], rows[11]["total_ns"]) == (7, 1, 300)
    assert rows[11]["avg_ns"] == 300 // 7 and rows[11]["syscalls"] == "read"


def test_error_callers_count_that_error_only(records):
    errors = get_view("errors")
    eacces = next(r for r in engine.compute(errors, records) if r.values["errname"] == "EACCES")
    dest, clause = engine.drill(errors, eacces)
    rows = engine.compute(get_view(dest), records, parse(clause))
    assert [(r.values["pid"], r.values["count"], r.values["syscalls"]) for r in rows] == [(20, 1, "openat")]


def test_every_drill_target_applies_to_its_field():
    """After Enter, the view shown is among those the F2 picker offers first."""
    from ctop_ebpf.views.catalogue import views_for

    for view in VIEWS:
        if view.drilldown is not None:
            first, _ = views_for(view.drilldown.field)
            assert get_view(view.drilldown.target) in first, (view.id, view.drilldown)
    assert views_for(None) == (list(VIEWS), [])


def test_drill_values_are_quoted_safely(records):
    view = get_view("files")
    row = engine.Row(("x",), {"name": "/tmp/a b\" or proc.pid > 0"})
    dest, clause = engine.drill(view, row)
    assert parse(clause).matches({"fd.name": "/tmp/a b\" or proc.pid > 0"})
    assert not parse(clause).matches({"fd.name": "/tmp/a", "proc.pid": 5})
