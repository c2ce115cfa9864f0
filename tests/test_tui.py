"""The TUI driven with Textual's Pilot over synthetic event sources (no root, no kernel)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time

import pytest
from textual.geometry import Region
from textual.widgets import DataTable, OptionList

from ctop_ebpf.model import events as ev
from ctop_ebpf.probes.errors import PrivilegeError
from ctop_ebpf.tui.app import CtopApp
from ctop_ebpf.tui.screens.confirm import ConfirmScreen
from ctop_ebpf.tui.screens.help import HelpScreen
from ctop_ebpf.tui.screens.pickers import Picker
from ctop_ebpf.tui.screens.startup import ErrorScreen, StartupScreen
from ctop_ebpf.views.catalogue import VIEWS
from tests.batch_run import ROOT
from tests.scenario import (
    HOSTILE_COMM,
    ManualSource,
    cid,
    demo_host,
    demo_source,
    demo_state,
    tick,
)

SIZE = (160, 40)


def make_app(source=None, **kwargs) -> CtopApp:
    kwargs.setdefault("host", demo_host)
    kwargs.setdefault("state_factory", demo_state)
    return CtopApp(source if source is not None else demo_source(), **kwargs)


async def settle(app, pilot) -> None:
    """Let the source run to its end and the UI catch up (SourceEnded follows the last tick)."""
    await wait_for(pilot, lambda: app.source_state in ("ended", "failed"))
    await pilot.pause()


async def wait_for(pilot, cond, timeout=5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await pilot.pause()
        await asyncio.sleep(0.01)


def cells(app, index: int | None = None) -> list[str]:
    t = app.main.table
    return [str(c) for c in t.get_row_at(t.cursor_row if index is None else index)]


def column(app, column_id: str) -> list[str]:
    t = app.main.table
    return [str(c) for c in t.get_column(column_id)]


def raw(app, column_id: str) -> list:
    """The raw (unformatted) values of a column, in table order."""
    return [r.values.get(column_id) for r in app.main.table.ordered_engine_rows()]


def names(app) -> list[str]:
    return raw(app, "name")


def pick(app, option_id: str) -> None:
    ol = app.screen.query_one(OptionList)
    ol.highlighted = ol.get_option_index(option_id)


# ---- start, drill-down, back ----------------------------------------------


async def test_starts_on_containers_with_header_and_breadcrumb():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert app.source_state == "ended"
        assert app.main.nav.current.view.id == "containers"
        assert names(app) == ["web", "db", "host", "cache"]  # CPU% descending
        assert app.main.table.cursor_row == 0
        assert "demo-host" in str(app.main.header.content)
        assert "6.1.0-demo" in str(app.main.header.content)
        assert "4,000/s" in str(app.main.header.content)
        assert "lost 0" in str(app.main.header.content)
        assert "refresh 1s" in str(app.main.header.content)
        assert app.main.nav.breadcrumb() == ["Containers"]
        assert isinstance(app.focused, DataTable)


async def test_counters_are_rates_and_numbers_humanized():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        row = dict(zip([str(k.value) for k in app.main.table.columns], cells(app, 0)))
        assert row["syscalls"].endswith("/s")
        assert row["file_bytes"].endswith("KiB/s")
        assert row["memory_bytes"].endswith("MiB")


async def test_drill_down_and_back_restores_view_sort_and_row():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        table = app.main.table
        await pilot.press("down")  # db
        assert cells(app)[1] == "db"
        await pilot.press("enter")
        await pilot.pause()
        nav = app.main.nav
        assert nav.current.view.id == "processes"
        assert nav.breadcrumb() == ["Containers", "db", "Processes"]
        assert nav.current.context_text == f"container.id = {cid('db')[:12]}"
        assert set(column(app, "container")) == {"db"}
        assert column(app, "pid") == ["2203", "2201", "2202"]
        await pilot.press("down")  # 2201
        await pilot.press(">")  # change the sort of this level: by PID
        await pilot.pause()
        pick(app, "pid")
        await pilot.press("enter")
        await pilot.pause()
        assert column(app, "pid") == ["2203", "2202", "2201"]
        assert cells(app)[0] == "2201"  # the cursor followed its row
        await pilot.press("enter")  # -> files of pid 2201
        await pilot.pause()
        assert nav.current.view.id == "files"
        assert nav.breadcrumb() == ["Containers", "db", "pid 2201 postgres", "Files"]
        assert names(app) == ["/var/lib/postgresql/data/pg_wal/000000010000000000000001"]
        await pilot.press("backspace")
        await pilot.pause()
        assert nav.current.view.id == "processes"
        assert column(app, "pid") == ["2203", "2202", "2201"]  # sort kept
        assert cells(app)[0] == "2201"  # selected row kept
        await pilot.press("backspace")
        await pilot.pause()
        assert nav.breadcrumb() == ["Containers"]
        assert cells(app)[1] == "db"
        assert table.cursor_row == 1
        await pilot.press("backspace")  # at the top: nothing happens
        await pilot.pause()
        assert nav.depth == 0


async def test_double_click_drills_single_click_selects():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        # header is row 0 of the widget; data row i is at y = i + 1
        await pilot.click("#table", offset=(20, 3))
        await pilot.pause()
        assert cells(app)[1] == "host"
        assert app.main.nav.depth == 0
        await pilot.click("#table", offset=(20, 2), times=2)
        await pilot.pause()
        assert app.main.nav.breadcrumb() == ["Containers", "db", "Processes"]


# ---- views ------------------------------------------------------------------


async def test_number_keys_switch_views_keeping_the_context():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("enter")  # web
        await pilot.pause()
        await pilot.press("3")
        await pilot.pause()
        nav = app.main.nav
        assert nav.current.view.id == "files"
        assert nav.breadcrumb() == ["Containers", "web", "Files"]
        assert set(column(app, "container")) == {"web"}
        assert "/var/log/nginx/access.log" in names(app)
        await pilot.press("5")
        await pilot.pause()
        assert nav.current.view.id == "syscalls"
        syscalls = column(app, "syscall")
        assert "sendfile" in syscalls and "pread64" not in syscalls  # web's, not db's
        await pilot.press("4")
        await pilot.pause()
        assert {c for c in column(app, "container")} == {"web"}
        await pilot.press("6")
        await pilot.pause()
        assert set(column(app, "errname")) == {"EAGAIN", "ENOENT"}
        await pilot.press("1")
        await pilot.pause()
        assert names(app) == ["web"]
        await pilot.press("2")
        await pilot.pause()
        assert nav.current.view.id == "processes"
        await pilot.press("backspace")
        await pilot.pause()
        assert nav.current.view.id == "containers"
        assert app.main.table.row_count == 4


async def test_view_picker_lists_every_view():
    from ctop_ebpf.views.catalogue import VIEWS

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("f2")
        await pilot.pause()
        assert isinstance(app.screen, Picker)
        ol = app.screen.query_one(OptionList)
        assert [ol.get_option_at_index(i).id for i in range(ol.option_count)] == [v.id for v in VIEWS]
        pick(app, "directories")
        await pilot.press("enter")
        await pilot.pause()
        assert app.main.nav.current.view.id == "directories"
        await pilot.press("v")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert app.main.nav.current.view.id == "directories"
        assert isinstance(app.focused, DataTable)


async def test_view_picker_offers_the_views_of_the_drill_down_first():
    from ctop_ebpf.views.catalogue import VIEWS

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("enter")  # a container -> its processes (drilled on container.id)
        await pilot.pause()
        await pilot.press("f2")
        await pilot.pause()
        ol = app.screen.query_one(OptionList)
        listed = [ol.get_option_at_index(i).id for i in range(ol.option_count)]
        first = [v.id for v in VIEWS if "container.id" in v.applies_to]
        assert listed[:len(first)] == first and "containers" not in first
        assert sorted(listed) == sorted(v.id for v in VIEWS)  # the others follow


async def test_legend_explains_the_current_view():
    from ctop_ebpf.tui.screens.legend import LegendScreen

    app = make_app(view="syscalls")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("f7")
        await pilot.pause()
        assert isinstance(app.screen, LegendScreen)
        text = "\n".join(line.text for line in app.screen.query_one("#legend-columns").render_lines(
            Region(0, 0, 200, 40)))
        assert "CALLS" in text and "System calls made" in text
        assert "Syscall Callers" in str(app.screen.query_one("#legend-enter").render())
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, LegendScreen)


async def test_shift_digit_sorts_by_that_column():
    app = make_app(view="processes")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("exclamation_mark")  # Shift+1: PID, largest first
        await pilot.pause()
        pids = [int(p) for p in column(app, "pid")]
        assert pids == sorted(pids, reverse=True) and len(pids) > 1
        await pilot.press("exclamation_mark")  # again: reversed
        await pilot.pause()
        assert [int(p) for p in column(app, "pid")] == sorted(pids)
        await pilot.press("number_sign")  # Shift+3: NAME
        await pilot.pause()
        assert app.main.nav.current.sort_column == "name"


async def test_log_views_accumulate_across_ticks():
    app = make_app(view="execs")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        # the exec happened in tick 3 of 5: still listed at the end
        assert column(app, "cmdline") == ["ls -la /etc"]
        await pilot.press("enter")  # execs -> processes of that pid
        await pilot.pause()
        assert app.main.nav.breadcrumb()[-1] == "Processes"


# ---- filter -------------------------------------------------------------------


async def test_filter_applies_and_focus_returns_to_the_table():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("backslash")
        await pilot.pause()
        prompt = app.main.prompt
        assert prompt.is_open and app.focused is prompt.input
        await pilot.press(*"proc.name = redis-server")
        await pilot.press("enter")
        await pilot.pause()
        assert not prompt.is_open
        assert isinstance(app.focused, DataTable)
        assert names(app) == ["cache"]
        assert app.main.nav.current.filter_text == "proc.name = redis-server"
        assert "proc.name = redis-server" in str(app.main.query_one("#breadcrumb").content)
        await pilot.press("2")  # keys work at once; the filter stays
        await pilot.pause()
        assert column(app, "name") == ["redis-server"]


async def test_filter_error_shows_in_place_and_keeps_the_old_filter():
    app = make_app(filter_text="container.name = web")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert names(app) == ["web"]
        await pilot.press("f4")
        await pilot.pause()
        prompt = app.main.prompt
        assert prompt.input.value == "container.name = web"
        prompt.input.value = "proc.name = = nginx"
        await pilot.press("enter")
        await pilot.pause()
        assert prompt.is_open and prompt.has_class("error")
        error = str(prompt.query_one("#prompt-error").content)
        assert "column 13" in error
        assert error.index("^") == len(" Filter: ") + 12  # under the second "="
        assert names(app) == ["web"]  # the old filter still applies
        assert app.main.nav.current.filter_text == "container.name = web"
        prompt.input.value = "no.such.field = 1"
        await pilot.press("enter")
        await pilot.pause()
        assert "column 1" in str(prompt.query_one("#prompt-error").content)
        await pilot.press("escape")
        await pilot.pause()
        assert not prompt.is_open
        assert isinstance(app.focused, DataTable)
        assert app.main.nav.current.filter_text == "container.name = web"


async def test_filter_history_with_up_and_down():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        for text in ("proc.name = nginx", "proc.name = postgres"):
            await pilot.press("backslash")
            app.main.prompt.input.value = text
            await pilot.press("enter")
            await pilot.pause()
        await pilot.press("backslash")
        inp = app.main.prompt.input
        inp.value = "draft"
        await pilot.press("up")
        assert inp.value == "proc.name = postgres"
        await pilot.press("up")
        assert inp.value == "proc.name = nginx"
        await pilot.press("up")
        assert inp.value == "proc.name = nginx"
        await pilot.press("down", "down")
        assert inp.value == "draft"
        await pilot.press("escape")


async def test_empty_filter_clears():
    app = make_app(filter_text="container.name = web")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("backslash")
        app.main.prompt.input.value = ""
        await pilot.press("enter")
        await pilot.pause()
        assert app.main.table.row_count == 4


# ---- search -------------------------------------------------------------------


async def test_incremental_search_and_next():
    app = make_app(view="processes")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("slash")
        await pilot.press(*"redis")
        await pilot.pause()
        assert cells(app)[2] == "redis-server"
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.focused, DataTable)
        await pilot.press("f3")
        await pilot.press(*"nginx")
        await pilot.press("enter")
        await pilot.pause()
        first = app.main.table.cursor_row
        assert cells(app)[2] == "nginx"
        await pilot.press("n")
        await pilot.pause()
        second = app.main.table.cursor_row
        assert cells(app)[2] == "nginx" and second != first
        await pilot.press("n", "n")
        await pilot.pause()
        assert app.main.table.cursor_row == first  # three nginx rows: wrapped around


async def test_search_escape_returns_to_where_it_started():
    app = make_app(view="processes")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("down", "down")
        start = app.main.table.cursor_row
        await pilot.press("slash", *"systemd")
        await pilot.pause()
        assert cells(app)[2] == "systemd"
        await pilot.press("escape")
        await pilot.pause()
        assert app.main.table.cursor_row == start


# ---- sort ---------------------------------------------------------------------


async def test_sort_picker_and_header_clicks():
    app = make_app(view="processes")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("greater_than_sign")
        await pilot.pause()
        pick(app, "name")
        await pilot.press("enter")
        await pilot.pause()
        got = column(app, "name")
        assert got == sorted(got)  # text sorts A→Z first
        level = app.main.nav.current
        assert (level.sort_column, level.sort_descending) == ("name", False)
        # click the PID header (x within the first column), then again to reverse
        await pilot.click("#table", offset=(3, 0))
        await pilot.pause()
        pids = [int(p) for p in column(app, "pid")]
        assert pids == sorted(pids, reverse=True)
        await pilot.click("#table", offset=(3, 0))
        await pilot.pause()
        pids = [int(p) for p in column(app, "pid")]
        assert pids == sorted(pids)
        assert "▲" in str(app.main.table.columns[next(iter(app.main.table.columns))].label)


async def test_start_sort_from_options():
    app = make_app(view="processes", sort="pid", desc=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        pids = [int(p) for p in column(app, "pid")]
        assert pids == sorted(pids)


# ---- live updates, pause --------------------------------------------------------


def _procs_tick(i: int, cpu: dict[int, float]) -> list:
    """A tick where each pid of ``cpu`` used that share of a CPU (cumulative samples)."""
    samples = tuple(ev.ProcSample(pid, pid, int(total * 1e9 / 100), 2**20, 1) for pid, total in cpu.items())
    return [tick(i, samples=samples, events=100 * (i + 1), lost=3 if i == 3 else 0)]


def _snapshots(pids) -> list:
    return [ev.ProcSnapshot(pid=p, ppid=1, comm=f"p{p}", exe="", argv=(f"p{p}",), uid=0, start_ns=p,
                            container_id="", runtime="") for p in pids]


async def test_refresh_keeps_the_cursor_on_its_row_and_the_scroll():
    src = ManualSource()
    app = make_app(src, view="processes")
    pids = list(range(100, 160))
    async with app.run_test(size=(120, 20)) as pilot:
        cpu = {p: 0.0 for p in pids}
        src.put(_snapshots(pids) + _procs_tick(0, cpu))
        await wait_for(pilot, lambda: app.main.table.row_count == 60)
        # cumulative CPU: pid 100+k gets k% per tick, so the order is 159, 158, ...
        for p in pids:
            cpu[p] += p - 100
        src.put(_procs_tick(1, cpu))
        await wait_for(pilot, lambda: cells(app, 0)[0] == "159")
        await pilot.press("pagedown", "down", "down")
        await pilot.pause()
        key = cells(app)[0]
        index = app.main.table.cursor_row
        scroll = app.main.table.scroll_y
        assert index > 10 and scroll > 0
        # same load again: same order, the cursor and the scroll stay put
        for p in pids:
            cpu[p] += p - 100
        src.put(_procs_tick(2, cpu))
        await wait_for(pilot, lambda: app.ticks == 3)
        assert cells(app)[0] == key and app.main.table.cursor_row == index
        assert app.main.table.scroll_y == scroll
        # the selected process becomes the busiest: the cursor follows it to the top
        for p in pids:
            cpu[p] += p - 100
        cpu[int(key)] += 500
        src.put(_procs_tick(3, cpu))
        await wait_for(pilot, lambda: app.ticks == 4)
        assert app.main.table.cursor_row == 0 and cells(app)[0] == key
        # a process leaves: rows shrink, nothing breaks, the cursor stays on its key
        src.put([ev.Exit(0, 159, 159, 0)] + _procs_tick(4, cpu))
        await wait_for(pilot, lambda: app.ticks == 5)
        await pilot.pause()
        src.put(_procs_tick(5, cpu))
        await wait_for(pilot, lambda: app.main.table.row_count == 59)
        assert cells(app)[0] == key
        assert "159" not in column(app, "pid")
        src.end()


async def test_pause_freezes_the_table_while_data_keeps_arriving():
    src = ManualSource()
    app = make_app(src, view="processes")
    async with app.run_test(size=SIZE) as pilot:
        src.put(_snapshots([100, 101]) + _procs_tick(0, {100: 0, 101: 0}))
        await wait_for(pilot, lambda: app.ticks == 1)
        src.put(_procs_tick(1, {100: 10, 101: 50}))
        await wait_for(pilot, lambda: app.ticks == 2)
        await pilot.pause()
        assert column(app, "pid") == ["101", "100"]
        await pilot.press("p")
        await pilot.pause()
        assert "PAUSED" in str(app.main.header.content)
        src.put([ev.ProcSnapshot(pid=102, ppid=1, comm="p102", exe="", argv=("p102",), uid=0,
                                 start_ns=1, container_id="", runtime="")]
                + _procs_tick(2, {100: 90, 101: 60}))
        src.put(_procs_tick(3, {100: 170, 101: 70}))
        await wait_for(pilot, lambda: app.ticks == 4)
        await pilot.pause()
        assert column(app, "pid") == ["101", "100"]  # frozen
        assert "lost 3" in str(app.main.header.content)  # the header keeps counting
        await pilot.press("2")  # navigation works on the frozen records
        await pilot.press("p")
        await pilot.pause()
        assert "PAUSED" not in str(app.main.header.content)
        assert column(app, "pid") == ["100", "101", "102"]
        src.end()


async def test_lost_events_are_highlighted():
    src = ManualSource()
    app = make_app(src)
    async with app.run_test(size=SIZE) as pilot:
        src.put(_procs_tick(3, {}))
        await wait_for(pilot, lambda: app.ticks == 1)
        await pilot.pause()
        content = app.main.header.content
        assert "lost 3" in str(content)
        spans = [s for s in content.spans if "red" in str(s.style)]
        assert spans, "lost events must be highlighted"
        src.end()


async def test_lost_events_bring_a_hint_once_a_minute():
    src = ManualSource()
    app = make_app(src, buffer_pages=256)
    async with app.run_test(size=SIZE) as pilot:
        src.put(_procs_tick(3, {}))
        await wait_for(pilot, lambda: app.ticks == 1)
        await pilot.pause()
        hints = [str(n.message) for n in app._notifications if "events lost" in str(n.message)]
        assert len(hints) == 1 and "--buffer-pages 1024" in hints[0]
        src.put([tick(4, events=100, lost=9)])  # more loss a second later: the counter says it
        await wait_for(pilot, lambda: app.ticks == 2)
        await pilot.pause()
        assert len([n for n in app._notifications if "events lost" in str(n.message)]) == 1
        src.end()


async def test_ticks_coalesce_when_the_ui_is_busy():
    src = ManualSource()
    app = make_app(src, view="processes")
    rendered = []
    async with app.run_test(size=SIZE) as pilot:
        orig = app.main.new_records

        def spy(records, source):
            rendered.append(records.ts)
            orig(records, source)
        app.main.new_records = spy
        src.put(_snapshots([100]))
        for i in range(30):
            src.put(_procs_tick(i, {100: i}))
        src.end()
        await settle(app, pilot)
        assert app.ticks == 30
        assert rendered[-1] == app.latest.ts  # the last tick is always shown
        assert len(rendered) < 30  # older queued ticks were replaced


# ---- history panel --------------------------------------------------------------


async def test_history_panel_shows_the_selected_row():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        panel = app.main.history_panel
        assert not panel.display
        await pilot.press("g")
        await pilot.pause()
        assert panel.display
        title = str(panel.query_one("#history-title").content)
        assert "web" in title
        sparks = [s for s in panel.query(".history-spark") if s.parent.display]
        assert len(sparks) == 3
        bars = str(sparks[0].content).strip()
        assert 1 <= len(bars) <= 5  # one bar per tick shown
        await pilot.press("down")
        await pilot.pause()
        assert "db" in str(panel.query_one("#history-title").content)
        await pilot.press("g")
        await pilot.pause()
        assert not panel.display


# ---- actions --------------------------------------------------------------------


def _one_process_source(pid: int, comm: str = "sleep") -> ManualSource:
    src = ManualSource()
    src.put([ev.ProcSnapshot(pid=pid, ppid=os.getpid(), comm=comm, exe="/bin/sleep",
                             argv=("sleep", "100"), uid=os.getuid(), start_ns=1,
                             container_id="", runtime="")] + [tick(0)])
    return src


@pytest.fixture
def child():
    proc = subprocess.Popen(["sleep", "100"])
    yield proc
    if proc.poll() is None:
        proc.kill()
        proc.wait()


async def test_action_signals_a_process_after_confirmation(child):
    src = _one_process_source(child.pid)
    app = make_app(src, view="processes")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.main.table.row_count == 1)
        await pilot.press("k")
        await pilot.pause()
        assert isinstance(app.screen, Picker)
        ol = app.screen.query_one(OptionList)
        titles = [str(ol.get_option_at_index(i).prompt) for i in range(ol.option_count)]
        assert titles[0] == f"Send SIGTERM to pid {child.pid} (sleep)"
        assert len(titles) == 6 and "Send SIGKILL" in titles[1]
        await pilot.press("enter")  # TERM
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")  # no: nothing happens
        await pilot.pause()
        time.sleep(0.2)
        assert child.poll() is None
        await pilot.press("f8", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("enter")  # the default button is No
        await pilot.pause()
        assert child.poll() is None
        await pilot.press("f8", "enter", "y")
        await pilot.pause()
        assert child.wait(timeout=5) == -signal.SIGTERM
        await wait_for(pilot, lambda: any("sent SIGTERM" in str(n.message)
                                          for n in app._notifications))
        src.end()


async def test_action_signal_kill_by_picking_it(child):
    src = _one_process_source(child.pid)
    app = make_app(src, view="processes")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.main.table.row_count == 1)
        await pilot.press("f8")
        await pilot.pause()
        pick(app, "1")  # KILL
        await pilot.press("enter")
        await pilot.pause()
        assert "SIGKILL" in str(app.screen.query_one("#confirm-question").content)
        await pilot.press("y")
        assert child.wait(timeout=5) == -signal.SIGKILL
        src.end()


async def test_readonly_disables_actions(child):
    src = _one_process_source(child.pid)
    app = make_app(src, view="processes", readonly=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.main.table.row_count == 1)
        await pilot.press("k")
        await pilot.pause()
        assert not isinstance(app.screen, Picker)
        assert any("readonly" in str(n.message) for n in app._notifications)
        assert child.poll() is None
        src.end()


async def test_container_actions_are_offered_on_containers_and_confirmed():
    calls = []

    class FakeRunner:
        def run(self, action):
            calls.append((action.kind, action.op, action.target))
            return "ok"

    app = make_app(actions=FakeRunner())
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("k")
        await pilot.pause()
        ol = app.screen.query_one(OptionList)
        titles = [str(ol.get_option_at_index(i).prompt) for i in range(ol.option_count)]
        assert titles == [f"Stop container web ({cid('web')[:12]})",
                          f"Restart container web ({cid('web')[:12]})"]
        await pilot.press("down", "enter", "y")
        await wait_for(pilot, lambda: calls)
        assert calls == [("container", "restart", cid("web")[:12])]
        # the host row has no container actions
        await pilot.press("down", "down", "k")
        await pilot.pause()
        assert cells(app)[1] == "host"
        assert not isinstance(app.screen, Picker)


# ---- help, quit, start-up, errors -------------------------------------------------


async def test_help_lists_every_key():
    from ctop_ebpf.tui.keys import MAIN_KEYS, SHIFTED_DIGITS
    from ctop_ebpf.tui.screens.main import MainScreen

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        shown = "\n".join(line.text for line in app.screen.query_one("#help-keys").render_lines(
            Region(0, 0, 400, 200)))
        for key in MAIN_KEYS:
            assert key.shown in shown and key.does[:40] in shown, key
        # every binding of the screen comes from the registry (or a view's hotkey)
        registered = ({k.keys for k in MAIN_KEYS if k.keys} | {v.hotkey for v in VIEWS if v.hotkey}
                      | set(SHIFTED_DIGITS))
        assert {b.key for b in MainScreen.BINDINGS} == registered
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("q")  # q closes help, not the app
        await pilot.pause()
        assert app.is_running


async def test_q_quits_with_code_0():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


async def test_f10_quits():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("f10")
        await pilot.pause()
    assert app.return_code == 0


async def test_startup_shows_progress_from_the_source_thread():
    import threading

    release = threading.Event()

    def factory(progress):
        progress("compiling and attaching the BPF programs")
        assert release.wait(10)
        progress("reading /proc")
        return demo_source()

    app = make_app(factory)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, StartupScreen) and app.screen.steps)
        assert app.screen.steps == ["compiling and attaching the BPF programs"]
        release.set()
        await settle(app, pilot)
        assert not isinstance(app.screen, StartupScreen)
        assert app.main.table.row_count == 4


async def test_probe_error_is_a_readable_screen_and_q_exits_3():
    def factory(progress):
        raise PrivilegeError("ctop-ebpf loads eBPF programs into the kernel, which needs root.\n"
                             "Run it with sudo (sudo ctop-ebpf).")

    app = make_app(factory)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ErrorScreen))
        text = str(app.screen.query_one("#error-message").content)
        assert "needs root" in text and "sudo ctop-ebpf" in text
        assert "Traceback" not in text
        assert "exit code 3" in str(app.screen.query(".dialog-hint").first().content)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 3


async def test_unexpected_source_failure_is_shown_not_raised():
    class Broken:
        async def events(self):
            yield [tick(0)]
            raise RuntimeError("decoder exploded")

        async def aclose(self):
            pass

    app = make_app(Broken())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ErrorScreen))
        text = str(app.screen.query_one("#error-message").content)
        assert "RuntimeError: decoder exploded" in text
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 1


async def test_source_is_closed_on_quit():
    src = ManualSource()
    app = make_app(src)
    async with app.run_test(size=SIZE) as pilot:
        src.put([tick(0)])
        await wait_for(pilot, lambda: app.ticks == 1)
        await pilot.press("q")
        await pilot.pause()
    await asyncio.sleep(0.05)
    assert src.closed


# ---- untrusted text ---------------------------------------------------------------


async def test_hostile_strings_are_shown_escaped_never_interpreted():
    app = make_app(view="processes")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        row = [r for r in range(app.main.table.row_count) if cells(app, r)[0] == "1700"][0]
        shown = cells(app, row)
        assert shown[2].startswith("evil\\x1b]0;PWN")
        assert shown[2].endswith("…")  # cut to the column with an ellipsis
        assert "\x1b" not in "".join(shown) and "\x07" not in "".join(shown)
        assert "\\x9b31m" in shown[-1]
        svg = app.export_screenshot()
        assert "\x1b" not in svg and "\x07" not in svg and "\x9b" not in svg
        # the breadcrumb after drilling into it is escaped too
        app.main.table.move_cursor(row=row)
        await pilot.press("enter")
        await pilot.pause()
        crumb = app.main.nav.breadcrumb()[1]
        assert "\x1b" not in crumb and crumb.startswith("pid 1700 evil\\x1b")


async def test_markup_in_process_names_is_not_interpreted():
    src = ManualSource()
    app = make_app(src, view="processes")
    async with app.run_test(size=SIZE) as pilot:
        src.put([ev.ProcSnapshot(pid=4242, ppid=1, comm="[red]x[/red]", exe="", argv=("[bold]hi",),
                                 uid=0, start_ns=1, container_id="", runtime="")] + [tick(0)])
        await wait_for(pilot, lambda: app.main.table.row_count == 1)
        assert cells(app, 0)[2] == "[red]x[/red]"
        assert cells(app, 0)[-1] == "[bold]hi"
        assert HOSTILE_COMM  # imported for the scenario check above
        src.end()


# ---- the composition root (ctop_ebpf.interactive) ----------------------------------


def _session(*argv):
    from ctop_ebpf.cli import build_parser
    from ctop_ebpf.session import Session

    return Session.from_args(build_parser().parse_args(list(argv)))


DEMO_CAPTURE = os.path.join(os.path.dirname(__file__), "data", "demo.ctop")


@pytest.mark.skipif(not os.path.exists(DEMO_CAPTURE), reason="no shipped capture")
async def test_interactive_replays_a_capture_with_its_host_and_options():
    from ctop_ebpf.interactive import build_app

    session = _session("--read", DEMO_CAPTURE, "--view", "processes", "--sort=-pid",
                       "--filter", "container.name = demo-web", "--readonly")
    app = build_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.main.table.row_count > 0, timeout=10)
        await pilot.pause()
        header = str(app.main.header.content)
        assert "replay demo.ctop" in header and "▶ REPLAY" in header
        assert session.active_replay.header.kernel in header
        nav = app.main.nav
        assert nav.current.view.id == "processes"
        assert (nav.current.sort_column, nav.current.sort_descending) == ("pid", False)
        assert set(raw(app, "container")) == {"demo-web"}
        pids = raw(app, "pid")
        assert pids == sorted(pids)
        assert set(raw(app, "user")) == {"root"}  # names from the capture
        await pilot.press("p")  # pausing a replay stops its clock
        await pilot.pause()
        assert session.active_replay.paused
        await pilot.press("k")
        await pilot.pause()
        assert any("readonly" in str(n.message) for n in app._notifications)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


async def test_interactive_unreadable_capture_is_an_error_screen_exit_2(tmp_path):
    from ctop_ebpf.interactive import build_app

    bad = tmp_path / "bad.ctop"
    bad.write_bytes(b"this is not a capture\n")
    app = build_app(_session("--read", str(bad)))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ErrorScreen))
        assert "bad.ctop" in str(app.screen.query_one("#error-message").content)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 2


def test_readme_key_table_matches_the_registry():
    """The README's table of keys lists the registry's keys, in its order, with its words."""
    from ctop_ebpf.tui.keys import MAIN_KEYS

    text = (ROOT / "README.md").read_text()
    table = text[text.index("| key | does |"):]
    rows = []
    for line in table.splitlines()[2:]:
        if not line.startswith("|"):
            break
        key, does = (cell.strip() for cell in line.strip("|").split(" | ", 1))
        rows.append((key.replace("`", ""), does.replace("`", "")))
    assert rows == [(k.shown, k.does) for k in MAIN_KEYS]
