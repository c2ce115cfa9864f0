"""Start-up progress while the probes compile and attach, and the error screen."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import LoadingIndicator, Static

from ctop_ebpf.views.safe_text import printable


class StartupScreen(Screen[None]):
    """Shown until the first tick arrives; lists the steps reported by the source."""

    BINDINGS = [Binding("q,f10", "app.quit", "Quit")]

    def __init__(self) -> None:
        super().__init__()
        self.steps: list[str] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="startup-box", classes="dialog"):
            yield Static(Text("Starting ctop-ebpf", style="bold"), classes="dialog-title")
            yield Static(Text("connecting to the event source"), id="startup-steps")
            yield LoadingIndicator(id="startup-spinner")
            yield Static(Text("the BPF programs take a few seconds to compile · q quits",
                              style="dim"), classes="dialog-hint")

    def add_step(self, message: str) -> None:
        self.steps.append(printable(message, limit=120))
        text = Text()
        for i, step in enumerate(self.steps):
            done = i < len(self.steps) - 1
            text.append("✓ " if done else "… ", style="green" if done else "bold")
            text.append(step + ("\n" if i < len(self.steps) - 1 else ""))
        self.query_one("#startup-steps", Static).update(text)


class ErrorScreen(Screen[None]):
    """Why the source failed, with the fix; q quits with the error's exit code."""

    BINDINGS = [Binding("q,f10,escape,enter", "app.quit", "Quit")]

    def __init__(self, title: str, message: str, exit_code: int) -> None:
        super().__init__()
        self.title_text = title
        self.message = message
        self.exit_code = exit_code

    def compose(self) -> ComposeResult:
        with Vertical(id="error-box", classes="dialog"):
            yield Static(Text(self.title_text, style="bold red"), classes="dialog-title")
            yield Static(Text(printable_paragraphs(self.message)), id="error-message")
            yield Static(Text(f"Press q to quit (exit code {self.exit_code})", style="dim"),
                         classes="dialog-hint")


def printable_paragraphs(message: str) -> str:
    """The message with control characters escaped, line breaks kept."""
    return "\n".join(printable(line) for line in message.splitlines())
