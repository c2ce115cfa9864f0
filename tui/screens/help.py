"""F1 / ?: every key, from the registry in tui/keys.py."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ..keys import MAIN_KEYS


def help_table() -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    for key in MAIN_KEYS:
        table.add_row(Text(key.shown), Text(key.does))
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,q,f1,question_mark,enter", "dismiss", "Close"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box", classes="dialog"):
            yield Static(Text("ctop-ebpf keys", style="bold"), classes="dialog-title")
            yield Static(help_table(), id="help-keys")
            yield Static(Text(
                "Filters use the sysdig syntax, e.g. proc.name = nginx and fd.name startswith /etc "
                "(ctop-ebpf --list-fields). Counters are per second over the last tick.",
                style="dim"), id="help-note")
            yield Static(Text("Esc closes", style="dim"), classes="dialog-hint")

    def action_dismiss(self, result=None) -> None:
        self.dismiss(None)
