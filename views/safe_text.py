"""Untrusted strings (comm, argv, paths, container names) made inert for a terminal.

Every control character (C0, DEL, C1 — ESC among them, so no escape sequence
survives), and every byte that was not valid UTF-8 (surrogate-escaped), is
shown as a visible escape; nothing else is touched. The result is plain text
for a terminal or a Rich ``Text`` — never markup.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\udc80-\udcff\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape(m: re.Match) -> str:
    ch = m.group()
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte kept by surrogateescape
        return f"\\x{code - 0xDC00:02x}"
    if ch == "\n":
        return "\\n"
    if ch == "\t":
        return "\\t"
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def printable(text: str, limit: int | None = None) -> str:
    """``text`` with control characters and bad bytes escaped, cut at ``limit``."""
    if not isinstance(text, str):
        text = str(text)
    safe = _UNSAFE.sub(_escape, text)
    if limit is not None and len(safe) > limit:
        return safe[: max(0, limit - 1)] + "…"
    return safe
