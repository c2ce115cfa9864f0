"""The drill-down path and the active filter, on one line."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from ctop_ebpf.views.safe_text import printable

FILTER_LIMIT = 200


def breadcrumb_text(parts: list[str], filter_text: str, sort_title: str = "", notice: str = "") -> Text:
    t = Text(" ", no_wrap=True, overflow="ellipsis", end="")
    for i, part in enumerate(parts):
        if i:
            t.append(" › ", style="dim")
        last = i == len(parts) - 1
        t.append(printable(part), style="bold reverse" if last else "bold")
    if sort_title:
        t.append("   sort ", style="dim")
        t.append(sort_title)
    t.append("   filter ", style="dim")
    if filter_text:
        t.append(printable(filter_text, limit=FILTER_LIMIT), style="bold yellow")
    else:
        t.append("none", style="dim")
    if notice:
        t.append("   ")
        t.append(notice, style="bold red")
    return t


class Breadcrumb(Static):
    def set_path(self, parts: list[str], filter_text: str, sort_title: str = "", notice: str = "") -> None:
        self.update(breadcrumb_text(parts, filter_text, sort_title, notice))
