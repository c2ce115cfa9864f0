"""The ctop-ebpf Textual application.

``CtopApp`` takes its event source as a parameter (an ``EventSource``, or a
factory ``(progress) -> EventSource`` called in a worker thread so that
start-up work never blocks the screen) and runs
``model.source.run_pipeline`` as an async worker. Each tick's records are
kept as ``latest`` and announced with one coalescing ``TickArrived``
message; the main screen renders from ``latest``.

Start-up shows the steps the source reports (``progress(text)`` may be
called from any thread: it only posts a message). A failure at any time
(``ProbeError`` and friends carry an ``exit_code`` and a message with the
fix) replaces the screen with a readable error; q then quits with that code.
"""

from __future__ import annotations

import asyncio
import copy
import signal
import time
from collections import deque
from collections.abc import Callable

from textual import on, work
from textual.app import App
from textual.worker import Worker

from ctop_ebpf.exit_codes import EXIT_FAILURE, EXIT_OK
from ctop_ebpf.model.host import HostInfo
from ctop_ebpf.model.source import EventSource, run_pipeline
from ctop_ebpf.model.state import SystemState
from ctop_ebpf.views.catalogue import get_view
from ctop_ebpf.views.loss import HINT_EVERY_S, loss_hint
from ctop_ebpf.views.safe_text import printable
from ctop_ebpf.views.spec import View

from .actions import Action, ActionError, ActionRunner
from .messages import (
    SourceEnded,
    SourceFailed,
    SourceProgress,
    SourceWarning,
    TickArrived,
)
from .navigation import Navigator
from .screens.main import MainScreen, SourceInfo
from .screens.startup import ErrorScreen, StartupScreen

SourceFactory = Callable[[Callable[[str], None]], EventSource]
LOG_KEEP = 2000  # exec and open log entries kept across ticks for the log views


class CtopApp(App[int]):
    CSS_PATH = "ctop.tcss"
    TITLE = "ctop-ebpf"
    ENABLE_COMMAND_PALETTE = False

    def __init__(
        self,
        source: EventSource | SourceFactory,
        *,
        view: View | str = "containers",
        filter_text: str = "",
        sort: str | None = None,
        desc: bool | None = None,
        delay: float = 1.0,
        readonly: bool = False,
        host: Callable[[], HostInfo] | None = None,
        source_label: str = "",
        replay: bool = False,
        actions: ActionRunner | None = None,
        state_factory: Callable[[], SystemState] = SystemState,
        show_startup: bool = True,
        buffer_pages: int | None = None,
    ) -> None:
        super().__init__()
        self.buffer_pages = buffer_pages  # of the live source, for the hint on lost events
        self._source_arg = source
        self.source: EventSource | None = None
        view = get_view(view) if isinstance(view, str) else view
        self.nav = Navigator(view, filter_text, sort, desc)
        self.delay = delay
        self.readonly = readonly
        self.host = host
        self.source_label = source_label
        self.replay = replay
        self.actions = actions or ActionRunner()
        self.state_factory = state_factory
        self.show_startup = show_startup
        self.latest = None  # TickRecords of the last tick
        self._loss_hinted = -HINT_EVERY_S
        self._execs: deque = deque(maxlen=LOG_KEEP)
        self._opens: deque = deque(maxlen=LOG_KEEP)
        self.ticks = 0
        self.lost_total = 0
        self.source_state = "starting"
        self.exit_code = EXIT_OK
        self.error_text = ""  # why the source failed, for the shell after the screen is gone
        self._stopping = False
        self._reader: Worker | None = None
        self._startup: StartupScreen | None = None
        self._main: MainScreen | None = None

    # ---- screens -------------------------------------------------------

    def get_default_screen(self) -> MainScreen:
        self._main = MainScreen(self.nav, readonly=self.readonly, delay=self.delay, replay=self.replay,
                                source_label=self.source_label, host=self.host_info())
        return self._main

    @property
    def main(self) -> MainScreen:
        assert self._main is not None
        return self._main

    def on_ready(self) -> None:
        """The main screen is composed: show start-up progress and start reading."""
        if self.show_startup:
            self._startup = StartupScreen()
            self.push_screen(self._startup)
        self._reader = self.read_source()
        # a closed terminal (SIGHUP), a kill (SIGTERM) or an interrupt sent
        # from outside (SIGINT) quits like q: the probes detach and an open
        # capture is finalised
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(sig, lambda: self.call_later(self.action_quit))
            except (NotImplementedError, RuntimeError, ValueError):
                pass

    def host_info(self) -> HostInfo | None:
        try:
            return self.host() if self.host is not None else None
        except Exception:  # noqa: BLE001 - the header is not worth a crash
            return None

    def _close_startup(self) -> None:
        # nothing is ever pushed above the start-up screen: it is on top if still there
        if self._startup is not None and self.screen is self._startup:
            self.pop_screen()
        self._startup = None

    # ---- the reader ----------------------------------------------------

    def _progress(self, text: str) -> None:
        """Called by the source, possibly from its own thread."""
        self.post_message(SourceProgress(str(text)))

    def warn(self, text: str) -> None:
        """A warning from the source (any thread): shown as a notification."""
        self.post_message(SourceWarning(str(text)))

    def _on_tick(self, records) -> bool:
        if self._stopping:
            return False
        # the log views list what happened over the last ticks, not just this one
        self._execs.extend(records.execs)
        self._opens.extend(records.opens)
        latest = copy.copy(records)  # shallow: shares the tick's records (and lazy caches)
        latest.execs = list(self._execs)
        latest.opens = list(self._opens)
        self.latest = latest
        self.ticks += 1
        lost = int(records.stats.get("lost", 0) or 0)
        self.lost_total += lost
        if lost and time.monotonic() - self._loss_hinted >= HINT_EVERY_S:
            self._loss_hinted = time.monotonic()
            self.post_message(SourceWarning(loss_hint(lost, None if self.replay else self.buffer_pages)))
        self.post_message(TickArrived())
        return True

    @work(exclusive=True, group="reader", exit_on_error=False, name="reader")
    async def read_source(self) -> None:
        arg = self._source_arg
        try:
            if isinstance(arg, EventSource):
                source = arg
            else:
                source = await asyncio.to_thread(arg, self._progress)
            self.source = source
            state = self.state_factory()
            self.source_state = "live"
            await run_pipeline(source, state, self._on_tick)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - every failure becomes the error screen
            code = getattr(exc, "exit_code", None)
            if not isinstance(code, int):
                code = EXIT_FAILURE
            title = "ctop-ebpf cannot run" if self.ticks else "ctop-ebpf cannot start"
            text = str(exc) or type(exc).__name__
            if code == 1:
                text = f"{type(exc).__name__}: {text}"
            self.post_message(SourceFailed(title, text, code))
            return
        if not self._stopping:
            self.post_message(SourceEnded())

    async def action_quit(self) -> None:
        """Quit at once: the terminal is restored right away.

        Textual cancels the reader worker on exit; ``run_pipeline`` then closes
        the source (the live probes detach in their own thread, which the
        interpreter waits for before the process ends).
        """
        self._stopping = True
        self.exit(self.exit_code, return_code=self.exit_code)

    # ---- messages ------------------------------------------------------

    @on(TickArrived)
    def _tick_arrived(self) -> None:
        if self.latest is None:
            return
        self._close_startup()
        self._show_latest()

    def _show_latest(self) -> None:
        self.main.new_records(self.latest, SourceInfo(self.source_state, self.lost_total, self.host_info()))

    @on(MainScreen.PauseChanged)
    def _pause_changed(self, message: MainScreen.PauseChanged) -> None:
        # a replay stops its clock instead (nothing is missed); live data keeps arriving
        source = self.source
        if message.paused and hasattr(source, "pause"):
            source.pause()
        elif not message.paused:
            if hasattr(source, "resume"):
                source.resume()
            if self.latest is not None:
                self._show_latest()

    @on(MainScreen.ActionConfirmed)
    def _action_confirmed(self, message: MainScreen.ActionConfirmed) -> None:
        self.perform_action(message.action)

    @on(SourceProgress)
    def _source_progress(self, message: SourceProgress) -> None:
        if self._startup is not None and self._startup.is_mounted:
            self._startup.add_step(message.text)

    @on(SourceWarning)
    def _source_warning(self, message: SourceWarning) -> None:
        self.notify(printable(message.text, limit=300), severity="warning", timeout=8,
                    markup=False)

    @on(SourceFailed)
    def _source_failed(self, message: SourceFailed) -> None:
        self.source_state = "failed"
        self.exit_code = message.exit_code
        self.error_text = message.text
        self._close_startup()
        self.push_screen(ErrorScreen(message.title, message.text, message.exit_code))

    @on(SourceEnded)
    def _source_ended(self) -> None:
        self.source_state = "ended"
        self._close_startup()
        self.main.source_state_changed("ended")

    # ---- actions on rows -----------------------------------------------

    def perform_action(self, action: Action) -> None:
        if self.readonly:
            self.main.report_action("actions are disabled (--readonly)", True)
            return
        self._perform_action(action)

    @work(thread=True, group="actions", exit_on_error=False)
    def _perform_action(self, action: Action) -> None:
        try:
            message, error = self.actions.run(action), False
        except ActionError as exc:
            message, error = str(exc), True
        self.call_from_thread(self.main.report_action, message, error)
