"""Every key of the TUI, once: the help screen lists this table and the tests
check that each binding of the main screen appears in it."""

from __future__ import annotations

KEYS: tuple[tuple[str, str], ...] = (
    ("Enter, double-click", "drill down into the selected row"),
    ("Backspace", "back up one level, restoring its view, filter, sort and selected row"),
    ("1 2 3 4 5 6", "Containers, Processes, Files, Connections, System Calls, Errors"),
    ("F2, v", "view picker with every view (keeps the drill-down context)"),
    ("F3, /", "search: jump to the first matching row as you type"),
    ("n", "next search match"),
    ("F4, \\", "filter bar: Enter applies, Esc cancels, Up/Down history"),
    ("F9, >", "sort picker; clicking a column header sorts, again reverses"),
    ("p", "pause / resume the table (data keeps arriving)"),
    ("g", "history panel: sparklines of the selected row"),
    ("F8, k", "actions on the selected row: signal a process, stop/restart a container"),
    ("F1, ?", "this help"),
    ("q, F10", "quit"),
    ("Up Down PgUp PgDn Home End", "move the selection"),
    ("Esc", "close a dialog, the filter or the search bar"),
)

# key name (Textual) -> the text of KEYS that documents it
KEY_DOCS: dict[str, str] = {
    "enter": "Enter", "backspace": "Backspace",
    "1": "1 2 3 4 5 6", "2": "1 2 3 4 5 6", "3": "1 2 3 4 5 6",
    "4": "1 2 3 4 5 6", "5": "1 2 3 4 5 6", "6": "1 2 3 4 5 6",
    "f2": "F2", "v": "v", "f3": "F3", "slash": "/", "n": "n", "f4": "F4", "backslash": "\\",
    "f9": "F9", "greater_than_sign": ">", "p": "p", "g": "g", "f8": "F8", "k": "k",
    "f1": "F1", "question_mark": "?", "q": "q", "f10": "F10",
}
