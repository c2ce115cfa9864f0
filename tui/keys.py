"""Every key of the main screen, once.

``MAIN_KEYS`` is the registry: the screen's bindings (``bindings()``), the
help screen and the README's key table (checked by a test) all come from it.
A view's number key is declared with the view (``hotkey`` in
views/catalogue.py) and joins the registry here.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding

from ctop_ebpf.views.catalogue import VIEWS


@dataclass(frozen=True, slots=True)
class Key:
    """One entry of the help: the keys as people read them, what they do, and
    the binding behind them (``keys`` in Textual's names, ``action``); keys
    that widgets handle themselves (the table's cursor, Esc in dialogs) have
    no binding."""

    shown: str  # e.g. "F2, v"
    does: str
    keys: str = ""  # Textual key names, comma-separated: "f2,v"
    action: str = ""
    label: str = ""  # footer label; empty: not in the footer
    footer_key: str | None = None  # how the footer shows the key


def _view_keys() -> tuple[Key, ...]:
    views = [v for v in VIEWS if v.hotkey]
    shown = f"{views[0].hotkey}..{views[-1].hotkey}" if len(views) > 1 else views[0].hotkey
    does = ", ".join(v.title for v in views) + " (the drill-down context is kept)"
    return (Key(shown, does),)


# In help order; the bindings with a label appear in the footer in this order.
MAIN_KEYS: tuple[Key, ...] = (
    Key("Enter, double-click", "drill down into the selected row (containers → processes → files, "
        "files → processes, ...)"),
    *_view_keys(),
    Key("F1, ?", "help with every key", "f1,question_mark", "help", "Help", "F1"),
    Key("F2, v", "pick a view; after a drill-down the views that apply to it come first (the context "
        "is kept)", "f2,v", "pick_view", "Views", "F2"),
    Key("F3, /", "incremental search: jump to the first matching row as you type", "f3,slash", "search",
        "Search", "F3"),
    Key("n", "next search match", "n", "search_next"),
    Key("F4, \\", "filter bar: Enter applies, Esc cancels; errors show in place with the column and "
        "the old filter stays; Up/Down for history", "f4,backslash", "filter", "Filter", "F4"),
    Key("F7", "legend of the view: what it shows, what each column means, where Enter goes", "f7",
        "legend", "Legend", "F7"),
    Key("F8, k", "actions on the selected row: signal a process (TERM, KILL, INT, HUP, STOP, CONT), "
        "stop or restart a container; always confirmed; disabled by --readonly", "f8,k", "actions",
        "Actions", "F8"),
    Key("F9, >", "sort picker; clicking a column header sorts by it, clicking again reverses",
        "f9,greater_than_sign", "pick_sort", "Sort", "F9"),
    Key("Shift+1..9", "sort by the first to ninth column; again reverses"),
    Key("p", "pause and resume the display (data keeps arriving)", "p", "pause", "Pause"),
    Key("g", "history panel: sparklines of the selected row", "g", "toggle_history", "History"),
    Key("Backspace", "back up one level, with that level's view, sort, filter and selected row",
        "backspace", "back", "Back", "⌫"),
    Key("q, F10", "quit, restoring the terminal", "q,f10", "app.quit", "Quit", "q"),
    Key("Up, Down, PgUp, PgDn, Home, End", "move the selection; Left/Right scroll wide tables"),
    Key("Esc", "close a dialog, the filter or the search bar"),
)


# Shift+1..9 as terminals send them (US layout), for "Shift+1..9" above
SHIFTED_DIGITS = ("exclamation_mark", "at", "number_sign", "dollar_sign", "percent_sign",
                  "circumflex_accent", "ampersand", "asterisk", "left_parenthesis")


def bindings() -> list[Binding]:
    """The main screen's bindings: the registry's, one per view hotkey, Shift+1..9."""
    out = [Binding(k.keys, k.action, k.label or k.shown, show=bool(k.label), key_display=k.footer_key)
           for k in MAIN_KEYS if k.keys]
    out += [Binding(v.hotkey, f"view('{v.id}')", v.title, show=False) for v in VIEWS if v.hotkey]
    out += [Binding(key, f"sort_column({n})", f"sort by column {n}", show=False)
            for n, key in enumerate(SHIFTED_DIGITS, 1)]
    return out
