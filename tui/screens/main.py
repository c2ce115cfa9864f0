"""The main screen: header, breadcrumb, the live table, history panel, prompt, footer.

It owns the navigation (``tui.navigation.Navigator``) and renders the app's
latest records through ``views.engine.compute`` into the ``ViewTable``.
Rendering happens once per tick (or right away after a key changes the
level, the filter or the sort), inside ``app.batch_update()``. While paused
the table keeps the records it showed; the header keeps counting.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer

from ctop_ebpf.model.host import HostInfo
from ctop_ebpf.views import engine
from ctop_ebpf.views import filter as flt
from ctop_ebpf.views.catalogue import VIEWS_BY_ID, views_for
from ctop_ebpf.views.filter import FilterError
from ctop_ebpf.views.legend import legend
from ctop_ebpf.views.safe_text import printable

from ..actions import Action, actions_for
from ..keys import bindings
from ..navigation import Navigator, row_title
from ..widgets.breadcrumb import Breadcrumb
from ..widgets.header import HeaderBar
from ..widgets.history import HistoryPanel, RowHistory
from ..widgets.prompt import PromptBar
from ..widgets.table import ViewTable
from .confirm import ConfirmScreen
from .help import HelpScreen
from .legend import LegendScreen
from .pickers import action_picker, sort_picker, view_picker

ACTION_DETAILS = {
    "KILL": "SIGKILL cannot be caught: the process gets no chance to clean up.",
    "STOP": "The process stays stopped until it gets SIGCONT.",
    "stop": "Docker sends SIGTERM, then SIGKILL after 15 seconds.",
    "restart": "Docker stops the container (SIGTERM, then SIGKILL after 15 s) and starts it again.",
}


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """What the screen shows of the event source, beside the tick's records."""

    state: str = "live"  # starting, live, ended, failed
    lost_total: int = 0
    host: HostInfo | None = None


def _stable_log_keys(rows) -> None:
    """Key log rows by (time, pid, n-th at that time): the engine's list index shifts
    as old entries leave the app's bounded log, which would re-key every row."""
    seen: dict[tuple, int] = {}
    for r in rows:
        k = r.key[:2]
        n = seen.get(k, 0)
        seen[k] = n + 1
        r.key = (*k, n)


class MainScreen(Screen[None]):
    BINDINGS = bindings()

    class PauseChanged(Message):
        """The user paused (or resumed) the display; the app pauses a replay's clock."""

        def __init__(self, paused: bool) -> None:
            super().__init__()
            self.paused = paused

    class ActionConfirmed(Message):
        """The user confirmed an action on a row; the app carries it out."""

        def __init__(self, action: Action) -> None:
            super().__init__()
            self.action = action

    def __init__(self, nav: Navigator, *, readonly: bool = False, delay: float = 1.0,
                 replay: bool = False, source_label: str = "", host: HostInfo | None = None) -> None:
        super().__init__()
        self.nav = nav
        self.readonly = readonly
        self.delay = delay
        self.replay = replay
        self.source_label = source_label
        self.host = host
        self.paused = False
        self.shown = None  # the TickRecords on screen
        self.history = RowHistory()
        self._search_text = ""
        self._search_origin: str | None = None
        self.last_render_rows = 0
        self._stale = False  # records arrived while covered: render when shown again

    # ---- layout --------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield HeaderBar(id="header")
        yield Breadcrumb(id="breadcrumb")
        yield ViewTable(id="table")
        yield HistoryPanel(id="history")
        yield PromptBar(id="prompt")
        yield Footer(id="footer")

    @property
    def table(self) -> ViewTable:
        return self.query_one(ViewTable)

    @property
    def header(self) -> HeaderBar:
        return self.query_one(HeaderBar)

    @property
    def prompt(self) -> PromptBar:
        return self.query_one(PromptBar)

    @property
    def history_panel(self) -> HistoryPanel:
        return self.query_one(HistoryPanel)

    def on_mount(self) -> None:
        header = self.header
        header.status.delay = self.delay
        header.status.replay = self.replay
        header.source_label = self.source_label
        header.host = self.host
        self._reset_level()
        self.table.focus()

    # ---- data ----------------------------------------------------------

    def new_records(self, records, source: SourceInfo) -> None:
        """A tick arrived (called by the app): header always, table unless paused."""
        st = self.header.status
        interval = records.interval_s or 0.0
        st.events_per_s = (records.stats.get("events", 0) / interval) if interval else 0.0
        st.lost_tick = records.stats.get("lost", 0)
        st.lost_total = source.lost_total
        st.state = source.state
        if source.host is not None:
            self.header.host = source.host
        if self.paused or records is self.shown:
            self.header.refresh_info()
            return
        # (the previous tick's records are freed here: ~12 ms for 5,000 processes,
        # and better now than after this refresh, when the GC would scan them too)
        self.shown = records
        st.wall = records.wall
        if not self.is_current:  # a dialog or the start-up screen covers the table
            self._stale = True
            return
        self.render_table()

    def on_screen_resume(self) -> None:
        if self._stale:
            self._stale = False
            self.render_table()

    def render_table(self, *, record_history: bool = True) -> None:
        records = self.shown
        table = self.table
        if records is None:
            self._refresh_chrome()
            return
        level = self.nav.current
        view = level.view
        rows = engine.compute(view, records, level.query(), level.sort_column, level.sort_descending)
        if view.log:
            _stable_log_keys(rows)
        rate = records.interval_s or None
        with self.app.batch_update():
            table.show(rows, rate)
            if record_history:
                self.history.record(table.shown_rows, rate)
            self.last_render_rows = len(rows)
            self._refresh_chrome()

    def _refresh_chrome(self) -> None:
        """Header, breadcrumb and history panel from the current state."""
        level = self.nav.current
        st = self.header.status
        st.paused = self.paused
        st.rows = self.table.row_count
        self.header.refresh_info()
        col = level.view.column(level.sort_column)
        arrow = "▼" if level.sort_descending else "▲"
        # drilled into something that has gone (a container removed, a process
        # exited): say so, Backspace goes back
        gone = self._drilled_into_gone()
        self.query_one(Breadcrumb).set_path(
            self.nav.breadcrumb(), level.filter_text,
            f"{col.title if col else level.sort_column} {arrow}",
            "gone: nothing here any more (⌫ back)" if gone else "",
        )
        self._update_history_panel()

    def _drilled_into_gone(self) -> bool:
        """True when the row this level was drilled from no longer exists (and
        so this level is empty): not merely a process without files."""
        nav = self.nav
        if nav.depth == 0 or self.shown is None or self.table.row_count:
            return False
        parent = nav.stack[-2]
        clause = nav.current.crumbs[-1].clause
        query = engine.compile_filter(flt.conjoin(parent.query_text, clause))
        return not engine.compute(parent.view, self.shown, query)

    def _update_history_panel(self) -> None:
        panel = self.history_panel
        if not panel.display:
            return
        key = self.table.selected_key()
        row = self.table.selected_row()
        title = row_title(self.nav.current.view, row) if row is not None else "-"
        series = self.history.of(key)
        panel.show_series(title, self.history.columns, series)

    # ---- level changes -------------------------------------------------

    def _remember_selection(self) -> None:
        key = self.table.selected_key()
        self.nav.current.selected = key.value if key is not None else None

    def _reset_level(self) -> None:
        """The level changed (drill, back, view switch): new columns, rows, selection."""
        level = self.nav.current
        with self.app.batch_update():
            self.table.set_view(level.view, level.sort_column, level.sort_descending)
            self.history.reset(level.view)
            self.render_table()
            if level.selected is not None:
                self.table.select_key(level.selected)
            self._refresh_chrome()

    def action_view(self, view_id: str) -> None:
        view = VIEWS_BY_ID.get(view_id)
        if view is None or view.id == self.nav.current.view.id:
            return
        self.nav.switch_view(view)
        self._reset_level()

    def action_back(self) -> None:
        if self.nav.back():
            self._reset_level()

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_drill()

    def action_drill(self) -> None:
        row = self.table.selected_row()
        if row is None:
            return
        self._remember_selection()
        if self.nav.drill(row):
            self._reset_level()
        else:
            self.notify(f"{self.nav.current.view.title}: nothing to drill into", timeout=2, markup=False)

    @on(DataTable.HeaderSelected)
    def _header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        self.sort_by(str(event.column_key.value))

    def sort_by(self, column_id: str) -> None:
        self.nav.sort_by(column_id)
        level = self.nav.current
        self.table.set_sort_marker(level.sort_column, level.sort_descending)
        self.render_table(record_history=False)

    @on(DataTable.RowHighlighted)
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._update_history_panel()

    # ---- pickers -------------------------------------------------------

    def action_pick_view(self) -> None:
        def picked(view_id: str | None) -> None:
            if view_id:
                self.action_view(view_id)
        level = self.nav.current
        self.app.push_screen(view_picker(*views_for(level.drill_field), level.view.id), picked)

    def action_pick_sort(self) -> None:
        level = self.nav.current

        def picked(column_id: str | None) -> None:
            if column_id:
                self.sort_by(column_id)
        self.app.push_screen(sort_picker(level.view, level.sort_column, level.sort_descending), picked)

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen())

    def action_legend(self) -> None:
        self.app.push_screen(LegendScreen(legend(self.nav.current.view)))

    def action_sort_column(self, n: int) -> None:
        """Shift+N: sort by the N-th column shown (again: reverse)."""
        shown = [c for c in self.nav.current.view.columns if c.width > 0]
        if 1 <= n <= len(shown):
            self.sort_by(shown[n - 1].id)

    # ---- pause, history ------------------------------------------------

    def action_pause(self) -> None:
        self.paused = not self.paused
        self._refresh_chrome()
        # the app pauses a replay's clock, and on resume hands over the latest tick
        self.post_message(self.PauseChanged(self.paused))

    def source_state_changed(self, state: str) -> None:
        """The source ended or failed (called by the app)."""
        self.header.status.state = state
        self.header.refresh_info()

    def action_toggle_history(self) -> None:
        panel = self.history_panel
        panel.display = not panel.display
        self._update_history_panel()

    # ---- filter and search ---------------------------------------------

    def action_filter(self) -> None:
        self.prompt.open("filter", self.nav.current.filter_text)

    def action_search(self) -> None:
        key = self.table.selected_key()
        self._search_origin = key.value if key is not None else None
        self.prompt.open("search", "")

    def _close_prompt(self) -> None:
        self.prompt.close()
        self.table.focus()

    @on(PromptBar.Submitted)
    def _prompt_submitted(self, event: PromptBar.Submitted) -> None:
        event.stop()
        if event.mode == "filter":
            self.apply_filter(event.value)
        else:
            self.prompt.remember(event.value)
            self._search_text = event.value
            self._close_prompt()

    def apply_filter(self, text: str) -> bool:
        try:
            self.nav.set_filter(text)
        except FilterError as exc:
            self.prompt.show_error(text, exc.column, exc.message)
            return False
        self.prompt.remember(text.strip())
        self._close_prompt()
        self.render_table(record_history=False)
        return True

    @on(PromptBar.Cancelled)
    def _prompt_cancelled(self, event: PromptBar.Cancelled) -> None:
        event.stop()
        if event.mode == "search" and self._search_origin is not None:
            self.table.select_key(self._search_origin)
        self._close_prompt()

    @on(PromptBar.Changed)
    def _prompt_changed(self, event: PromptBar.Changed) -> None:
        event.stop()
        if event.mode == "search" and event.value:
            self._search_text = event.value
            self.search(event.value, from_row=0, skip_current=False)

    def action_search_next(self) -> None:
        if not self._search_text:
            self.notify("no search yet: F3 or / to search", timeout=2, markup=False)
            return
        if not self.search(self._search_text, from_row=self.table.cursor_row, skip_current=True):
            self.notify(f"not found: {printable(self._search_text, limit=40)}", timeout=2, markup=False)

    def search(self, text: str, from_row: int = 0, skip_current: bool = False) -> bool:
        """Move the cursor to the next row (wrapping) with a value containing ``text``."""
        rows = self.table.ordered_engine_rows()
        n = len(rows)
        needle = text.casefold()
        start = 1 if skip_current else 0
        for off in range(start, n + start):
            i = (from_row + off) % n
            for v in rows[i].values.values():
                if v is not None and needle in str(v).casefold():
                    self.table.move_cursor(row=i, animate=False)
                    return True
        return False

    # ---- actions -------------------------------------------------------

    def action_actions(self) -> None:
        if self.readonly:
            self.notify("actions are disabled (--readonly)", severity="warning", timeout=3, markup=False)
            return
        view = self.nav.current.view
        actions = actions_for(view, self.table.selected_row())
        if not actions:
            self.notify(f"no actions for this row in {view.title}", timeout=2, markup=False)
            return

        def picked(index: str | None) -> None:
            if index is not None:
                self.confirm_action(actions[int(index)])
        self.app.push_screen(action_picker(actions), picked)

    def confirm_action(self, action: Action) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                self.post_message(self.ActionConfirmed(action))
        detail = ACTION_DETAILS.get(action.op, "")
        self.app.push_screen(ConfirmScreen(action.title, detail), answered)

    def report_action(self, message: str, error: bool) -> None:
        self.notify(printable(message, limit=200), severity="error" if error else "information",
                    timeout=4, markup=False)
