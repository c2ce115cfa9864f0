"""The TUI's plain parts: navigation, cells, actions, host info, the table's row storage."""

from __future__ import annotations

import os
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ctop_ebpf.probes.procfs.host import (
    HostSampler,
    parse_meminfo,
    parse_stat_cpu,
    parse_uptime,
)
from ctop_ebpf.tui.actions import ActionError, ActionRunner, actions_for, pid_column
from ctop_ebpf.tui.cells import Cell, cell_text, display_width, header_text
from ctop_ebpf.tui.navigation import Navigator, crumb_label, default_desc, row_title
from ctop_ebpf.views import engine
from ctop_ebpf.views.catalogue import VIEWS, get_view
from ctop_ebpf.views.engine import Row
from ctop_ebpf.views.filter import FilterError
from ctop_ebpf.views.spec import Column

# ---- navigation -------------------------------------------------------------


def _row(**values) -> Row:
    return Row(tuple(values.values())[:1], values)


def test_drill_pushes_context_and_back_restores():
    nav = Navigator(get_view("containers"), "proc.name = nginx", sort="name", desc=False)
    assert nav.breadcrumb() == ["Containers"]
    assert nav.drill(_row(id="abc123def456", name="web"))
    cur = nav.current
    assert cur.view.id == "processes"
    assert cur.crumbs[0].label == "web"
    assert cur.context_text == "container.id = abc123def456"
    assert cur.filter_text == "proc.name = nginx"  # inherited
    assert cur.query_text == "(container.id = abc123def456) and (proc.name = nginx)"
    assert cur.sort is None and cur.sort_column == "cpu_pct"
    assert nav.drill(_row(pid=1234, name="nginx"))
    assert nav.breadcrumb() == ["Containers", "web", "pid 1234 nginx", "Files"]
    nav.switch_view(get_view("syscalls"))
    assert nav.breadcrumb() == ["Containers", "web", "pid 1234 nginx", "System Calls"]
    assert "proc.pid = 1234" in nav.current.query_text
    assert nav.back() and nav.back()
    assert nav.current.view.id == "containers"
    assert (nav.current.sort, nav.current.desc) == ("name", False)
    assert not nav.back()


def test_drill_without_target_or_value_does_nothing():
    nav = Navigator(get_view("processes"))
    assert not nav.drill(_row(pid=None, name="x"))
    assert nav.depth == 0


def test_set_filter_validates_first_and_keeps_the_old_one():
    nav = Navigator(get_view("processes"), "proc.name = a")
    with pytest.raises(FilterError) as err:
        nav.set_filter("proc.name = = b")
    assert err.value.column == 13
    assert nav.current.filter_text == "proc.name = a"
    nav.set_filter("  proc.pid > 10 ")
    assert nav.current.filter_text == "proc.pid > 10"
    assert nav.current.query() is engine.compile_filter("proc.pid > 10")
    nav.set_filter("")
    assert nav.current.query() is None


def test_bad_start_filter_is_refused():
    with pytest.raises(FilterError):
        Navigator(get_view("processes"), "proc.name ==")


def test_sort_by_same_column_reverses_and_text_starts_ascending():
    nav = Navigator(get_view("processes"))
    cur = nav.current
    assert (cur.sort_column, cur.sort_descending) == ("cpu_pct", True)
    nav.sort_by("cpu_pct")
    assert cur.sort_descending is False
    nav.sort_by("name")
    assert (cur.sort_column, cur.sort_descending) == ("name", False)
    nav.sort_by("name")
    assert cur.sort_descending is True
    nav.sort_by("rss_bytes")
    assert cur.sort_descending is True
    with pytest.raises(KeyError):
        nav.sort_by("nope")
    assert default_desc(get_view("execs"), "time") is False


def test_labels_are_made_printable_and_short():
    view = get_view("processes")
    label = crumb_label(view, _row(pid=7, name="a\x1b]0;x\x07"), "proc.pid", 7)
    assert "\x1b" not in label and label.startswith("pid 7 a\\x1b")
    assert len(crumb_label(view, _row(name="/" + "x" * 100), "fd.name", "/" + "x" * 100)) == 32
    assert row_title(get_view("syscalls"), _row(syscall="read")) == "read"


# ---- cells ------------------------------------------------------------------


def test_cell_text_is_padded_aligned_and_cut():
    num = Column("n", "N", 6, fmt="int", align="right")
    assert cell_text(num, 42, None).plain == "     42"
    name = Column("s", "S", 5)
    assert cell_text(name, "ab", None).plain == " ab   "
    assert cell_text(name, "abcdefgh", None).plain == " abcd…"
    wide = cell_text(name, "日本語です", None)
    assert wide.cell_len == 6 and wide.plain.endswith("…")


def test_counters_are_rates_with_room_for_the_suffix():
    col = Column("b", "B", 9, fmt="bytes", counter=True, align="right")
    assert display_width(col) == 11
    assert cell_text(col, 2048, 2.0).plain.strip() == "1.0 KiB/s"
    assert cell_text(col, 2048, None).plain.strip() == "2.0 KiB"
    assert header_text(col, "▼").plain == " " + "B▼".rjust(11)


def test_cells_escape_control_characters_and_never_parse_markup():
    col = Column("s", "S", 40)
    text = cell_text(col, "\x1b]0;PWN\x07 [bold]x[/bold] \x9b2J", None)
    assert "\x1b" not in text.plain and "\x07" not in text.plain and "\x9b" not in text.plain
    assert "[bold]x[/bold]" in text.plain
    assert text.spans == []


def test_cell_is_lazy_and_renders_to_text():
    col = Column("s", "S", 8)
    cell = Cell(col, "hello", None)
    assert cell._text is None
    assert cell.__rich__().plain == " hello   "
    assert str(cell) == "hello"


def test_cell_survives_unexpected_values():
    col = Column("n", "N", 8, fmt="bytes")
    assert cell_text(col, "not a number", None).plain.strip() == "not a n…"


# ---- actions ----------------------------------------------------------------


def test_actions_per_view():
    procs = get_view("processes")
    acts = actions_for(procs, _row(pid=4321, name="nginx"))
    assert [a.op for a in acts] == ["TERM", "KILL", "INT", "HUP", "STOP", "CONT"]
    assert acts[0].title == "Send SIGTERM to pid 4321 (nginx)"
    conts = actions_for(get_view("containers"), _row(id="0123456789ab", name="web", runtime="docker"))
    assert [a.title for a in conts] == ["Stop container web (0123456789ab)",
                                        "Restart container web (0123456789ab)"]
    # stop/restart go through Docker's API: not offered for other runtimes' containers
    for runtime in ("containerd", "cri-o", "podman", "kubernetes"):
        assert actions_for(get_view("containers"), _row(id="0123456789ab", name="web",
                                                        runtime=runtime)) == []
    assert actions_for(get_view("containers"), _row(id="host", name="host")) == []
    assert actions_for(get_view("syscalls"), _row(syscall="read")) == []
    assert actions_for(procs, _row(pid=0, name="x")) == []
    assert actions_for(procs, None) == []
    assert pid_column(get_view("connections")) == "pid"
    assert pid_column(get_view("files")) is None


@pytest.mark.parametrize("pid", [0, -1, 1, True, "12", os.getpid()])
def test_runner_refuses_dangerous_pids(pid):
    with pytest.raises(ActionError):
        ActionRunner().signal(pid, "TERM")


def test_runner_refuses_signals_not_offered():
    with pytest.raises(ActionError):
        ActionRunner().signal(12345, "SEGV")


def test_runner_reports_a_gone_process():
    with pytest.raises(ActionError, match="no longer exists"):
        ActionRunner().signal(2**22 + 12345, "TERM")  # above pid_max's default


def test_runner_container_ops_use_the_sdk():
    calls = []

    class FakeContainer:
        def stop(self, timeout):
            calls.append(("stop", timeout))

        def restart(self, timeout):
            calls.append(("restart", timeout))

    class FakeClient:
        class containers:  # noqa: N801 - mimics docker.DockerClient.containers
            @staticmethod
            def get(cid):
                calls.append(("get", cid))
                return FakeContainer()

    runner = ActionRunner(docker_client=FakeClient())
    assert "stop" in runner.container("0123456789ab", "stop")
    runner.container("0123456789ab", "restart")
    assert calls == [("get", "0123456789ab"), ("stop", 15), ("get", "0123456789ab"), ("restart", 15)]
    with pytest.raises(ActionError):
        runner.container("0123456789ab", "rm")


# ---- host info ----------------------------------------------------------------


def test_host_parsers():
    assert parse_stat_cpu("cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3 4\n") == (150, 1000)
    assert parse_stat_cpu("nothing") is None
    assert parse_meminfo("MemTotal:  1000 kB\nMemFree: 10 kB\nMemAvailable:  250 kB\n") == (
        1024000, 256000)
    assert parse_uptime("12.5 40.0\n") == 12.5
    assert parse_uptime("") == -1.0


def test_host_sampler_on_a_fake_proc(tmp_path):
    (tmp_path / "stat").write_text("cpu  100 0 100 800 0 0 0 0 0 0\n")
    (tmp_path / "meminfo").write_text("MemTotal: 2048 kB\nMemAvailable: 1024 kB\n")
    (tmp_path / "uptime").write_text("3700.2 1.0\n")
    sampler = HostSampler(str(tmp_path))
    (tmp_path / "stat").write_text("cpu  150 0 150 900 0 0 0 0 0 0\n")
    info = sampler()
    assert info.cpu_pct == pytest.approx(50.0)
    assert info.mem_used == 1024 * 1024 and info.uptime_s == 3700.2
    assert sampler().cpu_pct == pytest.approx(50.0)  # no new jiffies: keep the last value


# ---- the engine's one-record fast path (views/engine.py) -----------------------

_values = st.one_of(st.none(), st.integers(-5, 10**12), st.floats(allow_nan=False, allow_infinity=False),
                    st.text(max_size=5), st.booleans())


@settings(max_examples=200, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(["a", "b", "c"]), _values), min_size=1, max_size=6))
def test_one_record_groups_aggregate_like_many(records):
    aggs = ["first", "last", "sum", "max", "min", "avg", "count", "count_distinct", "join_distinct"]
    cols = tuple(Column(f"{agg}_{src}", agg, 8, src, agg=agg) for agg in aggs for src in "ab")
    view = get_view("processes").__class__(
        id="t", title="t", description="", source="procs", key=("c",), columns=cols, sort=cols[0].id)
    for rec in records:
        rec = dict(rec, c=id(rec))  # one group per record
        try:
            expected = {c.id: engine._aggregate(c, [rec]) for c in cols}
        except TypeError:  # e.g. sum of a string: the fast path must fail the same way
            with pytest.raises(TypeError):
                engine.group(view, [rec])
            continue
        (row,) = engine.group(view, [rec])
        assert row.values == expected
        assert [type(v) for v in row.values.values()] == [type(v) for v in expected.values()]


# ---- the table's row storage ---------------------------------------------------


async def test_view_table_storage_stays_consistent_through_random_refreshes():
    from textual.app import App

    from ctop_ebpf.tui.widgets.table import ViewTable

    class TableApp(App):
        def compose(self):
            yield ViewTable()

    view = get_view("processes")
    rnd = random.Random(5)
    app = TableApp()
    async with app.run_test(size=(150, 30)) as pilot:
        table = app.query_one(ViewTable)
        table.set_view(view, "cpu_pct", True)
        pids = list(range(1, 80))
        for tick in range(40):
            rnd.shuffle(pids)
            live = sorted(pids[: rnd.randint(0, len(pids))])
            rows = [Row((p,), {"pid": p, "name": f"p{p}", "cpu_pct": rnd.choice([0.0, 1.5, p / 3]),
                               "syscalls": rnd.randint(0, 3)}) for p in live]
            rows = engine.sort_rows(view, rows, "cpu_pct", True)
            selected = table.selected_row()
            table.show(rows, rnd.choice([1.0, 1.0, 0.5]))
            await pilot.pause()
            assert table.row_count == len(rows)
            assert [str(table.get_row_at(i)[0]) for i in range(len(rows))] == [str(r.values["pid"]) for r in rows]
            assert [str(c) for c in table.get_column("name")] == [r.values["name"] for r in rows]
            assert [r.key.value for r in table.ordered_rows] == [repr(r.key) for r in rows]
            for i, r in enumerate(rows):
                assert table.get_row_index(repr(r.key)) == i
            if rows:
                assert table.selected_row() is rows[table.cursor_row]
                if selected is not None and any(r.key == selected.key for r in rows):
                    assert table.selected_row().key == selected.key  # the cursor kept its row
            if tick % 7 == 0 and rows:
                table.move_cursor(row=rnd.randrange(len(rows)))


def test_every_view_has_columns_the_table_can_show():
    for view in VIEWS:
        assert [c for c in view.columns if c.width > 0], view.id


def test_sparkline_scales_from_zero_newest_right():
    from ctop_ebpf.tui.widgets.history import spark_text

    assert spark_text([0.0, 0.0], width=4).plain == "  ▁▁"
    assert spark_text([1.0, 2.0, 4.0], width=3).plain == "▃▅█"
    assert spark_text([5.0], width=3).plain == "  █"
    assert len(spark_text([1.0] * 100, width=60).plain) == 60
