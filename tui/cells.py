"""Table cells: raw values that turn into safe, fixed-width Rich ``Text`` when drawn.

A ``Cell`` keeps the raw value and formats it only when the table draws it
(``__rich__``), so a refresh of thousands of rows costs a comparison per cell,
and formatting is paid for the rows on screen. Every text goes through
``views.safe_text.printable`` (control characters made visible: a comm of
``ESC ]0;PWN BEL`` must not retitle the terminal) and becomes a ``Text``, never
markup. Values longer than the column are cut with an ellipsis.
"""

from __future__ import annotations

from rich.measure import Measurement
from rich.text import Text

from ctop_ebpf.views.format import format_value
from ctop_ebpf.views.safe_text import printable
from ctop_ebpf.views.spec import Column

RATE_SUFFIX = 2  # counters are shown per second: room for "/s"


def display_width(col: Column) -> int:
    """Text width of a column in the TUI: the spec width, plus "/s" for counters."""
    return col.width + RATE_SUFFIX if col.counter else col.width


def cell_text(col: Column, value, rate: float | None, width: int | None = None) -> Text:
    """The Text of one cell: `` `` + the value justified in ``width`` cells."""
    width = display_width(col) if width is None else width
    try:
        shown = format_value(col, value, rate_interval=rate if col.counter else None)
    except (TypeError, ValueError, ArithmeticError):
        shown = str(value)
    text = Text(printable(shown), end="", no_wrap=True)
    if text.cell_len > width:
        text.truncate(width, overflow="ellipsis")
    return _aligned(text, width, col.align)


def _aligned(text: Text, width: int, align: str) -> Text:
    """Pad to ``width`` on the side the column aligns to, plus the separator."""
    pad = width - text.cell_len
    if pad > 0:
        if align == "right":
            text.pad_left(pad)
        else:
            text.pad_right(pad)
    text.pad_left(1)
    return text


def header_text(col: Column, arrow: str = "") -> Text:
    """A column title, with the sort arrow when the table is sorted by it."""
    width = display_width(col)
    title = col.title + arrow
    text = Text(title[:width] if len(title) > width else title, end="", no_wrap=True)
    return _aligned(text, width, col.align)


class Cell:
    """A lazily formatted table cell (a Rich renderable)."""

    __slots__ = ("col", "value", "rate", "_text")

    def __init__(self, col: Column, value, rate: float | None) -> None:
        self.col = col
        self.value = value
        self.rate = rate
        self._text: Text | None = None

    @property
    def text(self) -> Text:
        t = self._text
        if t is None:
            t = self._text = cell_text(self.col, self.value, self.rate)
        return t

    def __rich__(self) -> Text:
        return self.text

    def __rich_measure__(self, console, options) -> Measurement:
        w = display_width(self.col) + 1
        return Measurement(w, w)

    @property
    def plain(self) -> str:
        return self.text.plain.strip()

    def __str__(self) -> str:
        return self.plain

    def __repr__(self) -> str:
        return f"Cell({self.col.id}={self.value!r})"


def row_key_str(key: tuple) -> str:
    """A table row key for an engine row key (a tuple of field values)."""
    return repr(key)
