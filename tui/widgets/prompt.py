"""The bottom prompt: the filter bar (F4 / \\) and the search bar (F3 / /).

One widget with two modes. Enter submits, Esc cancels; the app decides what
to do and hides the bar (focus goes back to the table). In filter mode Up and
Down walk the filter history; an error is shown under the input with a caret
at its column and the bar stays open. In search mode every keystroke is
posted (``Changed``) so the table can jump to the first match.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Label, Static

from ctop_ebpf.views.safe_text import printable

MODES = {"filter": "Filter:", "search": "Search:"}
HISTORY_LIMIT = 50


class PromptInput(Input):
    """The text field; Up/Down reach the bar's history."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", show=True),
        Binding("up", "history(-1)", "Older", show=False),
        Binding("down", "history(1)", "Newer", show=False),
    ]

    def action_cancel(self) -> None:
        self.parent_bar().cancel()

    def action_history(self, step: int) -> None:
        self.parent_bar().history_step(step)

    def parent_bar(self) -> PromptBar:
        return self.query_ancestor(PromptBar)


class PromptBar(Vertical):
    """Hidden until ``open(mode)``; posts Submitted, Cancelled and Changed."""

    class Submitted(Message):
        def __init__(self, mode: str, value: str) -> None:
            super().__init__()
            self.mode = mode
            self.value = value

    class Cancelled(Message):
        def __init__(self, mode: str) -> None:
            super().__init__()
            self.mode = mode

    class Changed(Message):
        def __init__(self, mode: str, value: str) -> None:
            super().__init__()
            self.mode = mode
            self.value = value

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.mode = "filter"
        self.history: dict[str, list[str]] = {"filter": [], "search": []}
        self._pos = 0
        self._draft = ""

    def compose(self) -> ComposeResult:
        with Horizontal(id="prompt-row"):
            yield Label(MODES["filter"], id="prompt-label")
            yield PromptInput(id="prompt-input", select_on_focus=False)
        yield Static("", id="prompt-error")

    @property
    def input(self) -> PromptInput:
        return self.query_one(PromptInput)

    @property
    def is_open(self) -> bool:
        return self.has_class("open")

    def open(self, mode: str, value: str = "") -> None:
        self.mode = mode
        self.query_one("#prompt-label", Label).update(MODES[mode])
        self.clear_error()
        self.add_class("open")
        inp = self.input
        with inp.prevent(Input.Changed):
            inp.value = value
        inp.cursor_position = len(value)
        self._pos = len(self.history[mode])
        self._draft = value
        inp.focus()

    def close(self) -> None:
        self.remove_class("open")
        self.clear_error()

    def cancel(self) -> None:
        self.post_message(self.Cancelled(self.mode))

    def remember(self, value: str) -> None:
        hist = self.history[self.mode]
        if value and (not hist or hist[-1] != value):
            hist.append(value)
            del hist[:-HISTORY_LIMIT]
        self._pos = len(hist)

    def history_step(self, step: int) -> None:
        hist = self.history[self.mode]
        if not hist:
            return
        if self._pos == len(hist):
            self._draft = self.input.value
        pos = max(0, min(len(hist), self._pos + step))
        if pos == self._pos:
            return
        self._pos = pos
        value = hist[pos] if pos < len(hist) else self._draft
        inp = self.input
        inp.value = value
        inp.cursor_position = len(value)

    def show_error(self, value: str, column: int, message: str) -> None:
        """``message`` under the input, with a caret at 1-based ``column`` of ``value``."""
        label_w = len(MODES[self.mode]) + 2  # the label and its padding (ctop.tcss)
        caret = " " * (label_w + max(0, column - 1)) + "^ "
        t = Text(caret, style="bold red", no_wrap=True, end="")
        t.append(f"column {column}: {printable(message, limit=200)}", style="red")
        err = self.query_one("#prompt-error", Static)
        err.update(t)
        self.add_class("error")
        inp = self.input
        inp.cursor_position = max(0, min(len(value), column - 1))

    def clear_error(self) -> None:
        self.query_one("#prompt-error", Static).update("")
        self.remove_class("error")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.Submitted(self.mode, event.value))

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        if self.mode == "filter":
            self.clear_error()
        self.post_message(self.Changed(self.mode, event.value))
