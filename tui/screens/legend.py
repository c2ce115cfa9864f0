"""F7: the current view's legend (what it shows, each column, where Enter goes)."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ctop_ebpf.views.legend import Legend


def legend_table(legend: Legend) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    for title, meaning in legend.columns:
        table.add_row(Text(title), Text(meaning))
    return table


class LegendScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,f7,enter", "dismiss", "Close")]

    def __init__(self, legend: Legend) -> None:
        super().__init__()
        self.legend = legend

    def compose(self) -> ComposeResult:
        legend = self.legend
        with VerticalScroll(id="legend-box", classes="dialog"):
            yield Static(Text(legend.title, style="bold"), classes="dialog-title")
            yield Static(Text(legend.description), id="legend-description")
            yield Static(legend_table(legend), id="legend-columns")
            if legend.enter:
                yield Static(Text(f"Enter: {legend.enter}", style="dim"), id="legend-enter")
            yield Static(Text("Esc closes", style="dim"), classes="dialog-hint")

    def action_dismiss(self, result=None) -> None:
        self.dismiss(None)
