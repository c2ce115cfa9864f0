"""Side pickers: views (F2 / v), sort column (F9 / >), actions (F8 / k).

Each is a modal ``OptionList`` that dismisses with the chosen id, or None on
Esc. Option ids are the value returned.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ctop_ebpf.views.spec import View

from ..actions import Action


class Picker(ModalScreen[str | None]):
    """A titled list of options; Enter picks, Esc cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, options: list[Option | None], selected: str | None = None,
                 hint: str = "Enter selects, Esc cancels", box_id: str = "picker") -> None:
        super().__init__()
        self.picker_title = title
        self.options = options
        self.selected = selected
        self.hint = hint
        self.box_id = box_id

    def compose(self) -> ComposeResult:
        with Vertical(id=self.box_id, classes="dialog picker"):
            yield Static(Text(self.picker_title, style="bold"), classes="dialog-title")
            yield OptionList(*self.options, id="picker-list", markup=False)
            yield Static(Text(self.hint, style="dim"), classes="dialog-hint")

    def on_mount(self) -> None:
        ol = self.query_one(OptionList)
        if self.selected is not None:
            try:
                ol.highlighted = ol.get_option_index(self.selected)
            except Exception:  # noqa: BLE001 - an unknown id just leaves the first highlighted
                ol.highlighted = 0
        else:
            ol.highlighted = 0
        ol.focus()

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


def view_picker(first: list[View], others: list[View], current: str) -> Picker:
    """The views that apply to the drill-down first, then (after a line) the others."""
    options: list[Option | None] = []
    for group in (first, others):
        if group and options:
            options.append(None)  # a separator
        for v in group:
            t = Text(no_wrap=True, overflow="ellipsis")
            t.append(f"{v.hotkey or ' '} ", style="bold cyan")
            t.append(f"{v.title:<15}", style="bold" if group is first else "")
            t.append(f" {v.description}", style="dim")
            options.append(Option(t, id=v.id))
    return Picker("Views", options, current, box_id="view-picker")


def sort_picker(view: View, sort: str, desc: bool) -> Picker:
    options = []
    for c in view.columns:
        if c.width <= 0:
            continue
        t = Text(no_wrap=True)
        mark = ("▼" if desc else "▲") if c.id == sort else " "
        t.append(f"{mark} ", style="bold yellow")
        t.append(c.title)
        options.append(Option(t, id=c.id))
    return Picker(f"Sort {view.title} by", options, sort,
                  hint="Enter sorts (again: reverses), Esc cancels", box_id="sort-picker")


def action_picker(actions: list[Action]) -> Picker:
    options = [Option(Text(a.title, no_wrap=True, overflow="ellipsis"), id=str(i))
               for i, a in enumerate(actions)]
    return Picker("Actions", options, "0", hint="Enter asks for confirmation, Esc cancels",
                  box_id="action-picker")
