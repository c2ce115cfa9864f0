"""Batch output: one JSON object per line per tick, or a plain text table."""

from __future__ import annotations

import json

from .engine import Row
from .format import format_value
from .safe_text import printable
from .spec import View


def json_line(view: View, rows: list[Row], interval_s: float, stats: dict, ts: float) -> str:
    """One tick as JSON: counters are amounts during the tick, raw and exact.

    Strings keep every byte: text a process gave us that is not valid UTF-8
    (decoded with surrogateescape) is written with ``\\udcXX`` escapes, which
    ``os.fsencode(json.loads(...))`` turns back into the original bytes.
    """
    obj = {
        "view": view.id,
        "ts": ts,
        "interval_s": interval_s,
        "columns": [c.id for c in view.columns],
        "rows": [row.values for row in rows],
        "stats": stats,
    }
    return json.dumps(obj, ensure_ascii=True, separators=(",", ":"))


def text_table(view: View, rows: list[Row], interval_s: float, stats: dict, ts: float,
               limit: int | None = None, width: int = 200) -> str:
    """A plain table like ``top -b``: a header line, column titles, rows."""
    lines = [
        f"ctop-ebpf {view.title}: {len(rows)} rows, interval {interval_s:g}s, "
        f"events {stats.get('events', 0)}, lost {stats.get('lost', 0)}"
    ]
    cols = [c for c in view.columns if c.width > 0]
    cells = [c.title for c in cols]
    lines.append(_line(cols, cells)[:width])
    for row in rows[:limit]:
        cells = [printable(format_value(c, row.values.get(c.id))) for c in cols]
        lines.append(_line(cols, cells)[:width])
    return "\n".join(lines) + "\n"


def _line(cols, cells) -> str:
    out = []
    for i, (c, text) in enumerate(zip(cols, cells)):
        last = i == len(cols) - 1
        if len(text) > c.width and not last:
            text = text[: max(1, c.width - 1)] + "…"
        if last:
            out.append(text)
        elif c.align == "right":
            out.append(text.rjust(c.width))
        else:
            out.append(text.ljust(c.width))
    return " ".join(out).rstrip()
