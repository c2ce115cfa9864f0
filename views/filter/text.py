"""Filter text made from values and trees: quoting, ``field = value`` clauses,
conjunctions, and a tree printed back as text."""

from __future__ import annotations

import ipaddress
import math
import re

from ..fields import POD_LABEL_PREFIX
from .ast import LIST_OPS, And, Comparison, Exists, MatchAll, Node, Not, Or

_PLAIN_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_BARE_SAFE = re.compile(r"[A-Za-z0-9_./:@+%\-]+")
_SIMPLE_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escape_surrogate_run(run: str) -> str:
    """Escape a run of lone surrogates.

    Surrogate-escaped bytes (U+DC80..U+DCFF, what ``surrogateescape`` makes of
    undecodable bytes) are written as ``\\xHH`` bytes when decoding those bytes
    gives the run back; anything else as ``\\uHHHH``.
    """
    if all("\udc80" <= ch <= "\udcff" for ch in run):
        raw = run.encode("utf-8", "surrogateescape")
        if raw.decode("utf-8", "surrogateescape") == run:
            return "".join(f"\\x{b:02x}" for b in raw)
    return "".join(f"\\u{ord(ch):04x}" for ch in run)


def quote_str(text: str) -> str:
    """``text`` in double quotes, escaped so that the parser reads it back exactly."""
    out: list[str] = ['"']
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[ch])
        elif "\ud800" <= ch <= "\udfff":
            j = i
            while j < n and "\ud800" <= text[j] <= "\udfff":
                j += 1
            out.append(_escape_surrogate_run(text[i:j]))
            i = j
            continue
        elif ch.isprintable():
            out.append(ch)
        else:
            code = ord(ch)
            if code < 0x80:
                out.append(f"\\x{code:02x}")
            elif code <= 0xFFFF:
                out.append(f"\\u{code:04x}")
            else:
                out.append(f"\\U{code:08x}")
        i += 1
    out.append('"')
    return "".join(out)


def quote_value(value: object) -> str:
    """Render ``value`` as a filter literal that parses back to exactly ``value``.

    Plain words (letters, digits and ``_./:@+%-``) are left bare, so drill-down
    filters read naturally (``proc.name = nginx``, ``fd.rip = 10.0.0.1``);
    everything else is double-quoted with escapes: quotes, backslashes,
    control and other non-printable characters, lone surrogates.  ``bool``
    renders as ``true``/``false``, numbers in decimal, ``bytes`` are decoded
    with ``surrogateescape`` first.  ``None`` has no literal (use
    ``not FIELD exists``) and raises ``TypeError``.
    """
    if value is None:
        raise TypeError("None has no filter literal; use 'not FIELD exists'")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else quote_str(repr(value))
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value).decode("utf-8", "surrogateescape")
    text = value if isinstance(value, str) else str(value)
    if _BARE_SAFE.fullmatch(text):
        return text
    return quote_str(text)


def field_text(name: str) -> str:
    """A field name as filter text: a pod label whose key is not a plain word
    (``app.kubernetes.io/name``) in sysdig's bracket form."""
    if _PLAIN_FIELD.fullmatch(name) or not name.startswith(POD_LABEL_PREFIX):
        return name
    return f"{POD_LABEL_PREFIX[:-1]}[{name[len(POD_LABEL_PREFIX):]}]"


def field_equals(name: str, value: object) -> str:
    """Filter text selecting records whose ``name`` equals ``value``.

    ``None`` (the field is absent) gives ``not NAME exists``.  Used by
    drill-down to turn a selected row's key into a filter.
    """
    if value is None:
        return f"not {field_text(name)} exists"
    return f"{field_text(name)} = {quote_value(value)}"


def _format_value(value: object) -> str:
    if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address,
                          ipaddress.IPv4Network, ipaddress.IPv6Network)):
        return str(value)
    return quote_value(value)


def to_text(node: Node) -> str:
    """Render an AST back to filter text (canonical spacing, minimal parentheses).

    ``parse(to_text(n)).ast == n`` for every AST ``parse`` produces.
    """
    return _to_text(node, 0)


def _to_text(node: Node, parent_prec: int) -> str:
    # precedence: or 1, and 2, not 3, checks 4
    if isinstance(node, MatchAll):
        return ""
    if isinstance(node, Exists):
        return f"{field_text(node.field)} exists"
    if isinstance(node, Comparison):
        name = field_text(node.field)
        if node.op in LIST_OPS:
            items = ", ".join(_format_value(v) for v in node.value)  # type: ignore[attr-defined]
            return f"{name} {node.op} ({items})"
        return f"{name} {node.op} {_format_value(node.value)}"
    if isinstance(node, Not):
        return "not " + _to_text(node.operand, 3)
    if isinstance(node, (And, Or)):
        prec, word = (2, " and ") if isinstance(node, And) else (1, " or ")
        text = word.join(_to_text(o, prec + 1 if isinstance(o, type(node)) else prec)
                         for o in node.operands)
        return f"({text})" if parent_prec > prec else text
    raise TypeError(f"not a filter AST node: {node!r}")
