"""Sysdig/Falco-compatible filter expressions over plain records.

A filter is parsed once (:func:`parse`) into an AST, checked against the
field catalogue (:mod:`views.fields`) and compiled to closures; evaluating it
(:meth:`Filter.matches`) on a record (a ``Mapping[str, object]`` from field
names to values) costs a few function calls per comparison.

Grammar (keywords and operator words are case-insensitive; field names are
not)::

    filter      ::= <empty> | or_expr
    or_expr     ::= and_expr ('or' and_expr)*
    and_expr    ::= not_expr ('and' not_expr)*
    not_expr    ::= 'not'* ( '(' or_expr ')' | check )
    check       ::= FIELD 'exists'
                  | FIELD cmp_op value
                  | FIELD list_op '(' [value (',' value)*] ')'
    cmp_op      ::= '=' | '==' | '!=' | '<' | '<=' | '>' | '>='
                  | 'contains' | 'icontains' | 'startswith' | 'endswith'
                  | 'glob' | 'iglob'
    list_op     ::= 'in' | 'pmatch'
    value       ::= QUOTED | BARE
    QUOTED      ::= '"' ... '"' | "'" ... "'"    (backslash escapes, see below)
    BARE        ::= a run of characters up to whitespace, ')' or ',';
                    it may not start with a quote, '(' or '='

So ``not`` binds tighter than ``and``, which binds tighter than ``or``:
``not a and b or c`` is ``((not a) and b) or c``.

Escapes inside quotes: ``\\"``, ``\\'``, ``\\\\``, ``\\n``, ``\\t``, ``\\r``,
``\\uHHHH``, ``\\UHHHHHHHH`` (a code point) and ``\\xHH`` (a *byte*: a run of
``\\x`` escapes is decoded as UTF-8 with ``surrogateescape``, the way the
model decodes paths and command lines, so ``"\\xc3\\xa9"`` is ``é`` and
``"\\xff"`` matches a file name containing the raw byte 0xff).  Any other
backslash sequence is an error.

Semantics:

* A field absent from the record (or ``None``) makes every comparison on it
  false, ``!=`` included, and ``exists`` false; ``not`` is plain boolean
  negation on top (so ``not proc.name = x`` is true when there is no
  ``proc.name``).  A record value that cannot be read as the field's type
  (``"abc"`` for a number field) behaves like an absent one in comparisons.
* ``number`` and ``port`` fields compare numerically (``proc.pid > 100``);
  the value must then be a number (decimal, ``0x`` hex, or a decimal
  fraction), else parsing fails.  ``string`` fields compare as text
  (``"10" < "9"``, code-point order).  ``bool`` fields take ``true``/
  ``false`` (or ``1``/``0``).  ``ip`` fields take an address (IPv4-mapped
  IPv6 addresses equal their IPv4 form) or a network: ``fd.rip =
  10.0.0.0/8`` tests membership.
* ``contains``, ``icontains`` (case-folded), ``startswith``, ``endswith``,
  ``glob`` and ``iglob`` (fnmatch-style ``*``, ``?``, ``[...]``; ``glob`` is
  case-sensitive) apply to the text of the value, also for number and ip
  fields (``proc.pid startswith 12``); ``pmatch (a, b)`` is true when the
  value is one of the paths or lies below one (``/etc`` matches ``/etc`` and
  ``/etc/passwd``, not ``/etcx``), string fields only.  ``in (a, b)`` is
  membership, typed like ``=``; an empty list matches nothing.
* Ordering operators do not apply to ``bool`` or ``ip`` fields (parse error).

Errors are :class:`FilterError` with a 1-based column counted in characters
from the start of the text.  Nesting (parentheses plus ``not``) is limited
to :data:`MAX_DEPTH` levels and the text to :data:`MAX_LENGTH` characters.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Union

from .fields import FIELDS_BY_NAME, suggest

__all__ = [
    "MAX_DEPTH", "MAX_LENGTH", "OPERATORS",
    "FilterError", "Filter", "parse", "conjoin", "quote_value", "field_equals", "to_text",
    "Node", "MatchAll", "Comparison", "Exists", "Not", "And", "Or",
]

#: Deepest nesting of parentheses and ``not`` accepted.
MAX_DEPTH = 200
#: Longest filter text accepted, in characters.
MAX_LENGTH = 65_536

_ORDER_OPS = frozenset({"<", "<=", ">", ">="})
_EQ_OPS = frozenset({"=", "!="})
_TEXT_OPS = frozenset({"contains", "icontains", "startswith", "endswith", "glob", "iglob"})
_LIST_OPS = frozenset({"in", "pmatch"})
_WORD_OPS = _TEXT_OPS | _LIST_OPS | {"exists"}

#: Every operator, in the order error messages list them (``==`` is ``=``).
OPERATORS: tuple[str, ...] = (
    "=", "==", "!=", "<", "<=", ">", ">=", "contains", "icontains", "startswith",
    "endswith", "glob", "iglob", "in", "pmatch", "exists",
)

#: Operators each field type accepts (``exists`` applies to all).
_OPS_BY_TYPE: dict[str, frozenset[str]] = {
    "string": _EQ_OPS | _ORDER_OPS | _TEXT_OPS | _LIST_OPS,
    "number": _EQ_OPS | _ORDER_OPS | _TEXT_OPS | {"in"},
    "port": _EQ_OPS | _ORDER_OPS | _TEXT_OPS | {"in"},
    "ip": _EQ_OPS | _TEXT_OPS | {"in"},
    "bool": _EQ_OPS | {"in"},
}


class FilterError(ValueError):
    """A filter text that does not parse; ``column`` is 1-based.

    ``str(err)`` is ``"column N: message"``.
    """

    def __init__(self, message: str, column: int) -> None:
        super().__init__(message, column)
        self.message = message
        self.column = column

    def __str__(self) -> str:
        return f"column {self.column}: {self.message}"


# --------------------------------------------------------------------------- AST


@dataclass(frozen=True, slots=True)
class MatchAll:
    """The empty filter: matches every record."""


@dataclass(frozen=True, slots=True)
class Comparison:
    """``field op value``.

    ``op`` is one of :data:`OPERATORS` except ``==`` (stored as ``=``) and
    ``exists`` (see :class:`Exists`).  ``value`` is already converted to the
    field's type: ``str``; ``int``/``float`` for number and port fields;
    ``bool``; an ``ipaddress`` address or network for ip fields.  Text
    operators (``contains``... ``glob``) and ``pmatch`` always hold ``str``.
    For ``in`` and ``pmatch`` it is a tuple of such values.  ``column`` is
    where the field name starts (not part of equality).
    """

    field: str
    op: str
    value: object
    column: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Exists:
    """``field exists``: the record has a (non-None) value for the field."""

    field: str
    column: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Not:
    """``not operand``."""

    operand: Node


@dataclass(frozen=True, slots=True)
class And:
    """``a and b and ...``: two or more operands, none of them an ``And``."""

    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    """``a or b or ...``: two or more operands, none of them an ``Or``."""

    operands: tuple[Node, ...]


Node = Union[MatchAll, Comparison, Exists, Not, And, Or]


def _join(cls: type[And] | type[Or], items: list[Node]) -> Node:
    """Build an n-ary ``And``/``Or``, flattening nested ones of the same class."""
    if len(items) == 1:
        return items[0]
    flat: list[Node] = []
    for item in items:
        if isinstance(item, cls):
            flat.extend(item.operands)
        else:
            flat.append(item)
    return cls(tuple(flat))


# ------------------------------------------------------------------ value forms

_NUMBER_RE = re.compile(
    r"[+-]?(?:0[xX](?P<hex>[0-9a-fA-F]+)|[0-9]+(?P<frac>\.[0-9]*)?(?P<exp>[eE][+-]?[0-9]+)?)"
)
_BOOL_WORDS = {"true": True, "false": False, "1": True, "0": False}
_BOOL_RECORD_WORDS = {**_BOOL_WORDS, "yes": True, "no": False}


def _parse_number(text: str) -> int | float | None:
    """``text`` as an int (decimal or 0x hex) or finite float, else None. ASCII digits only."""
    if len(text) > 400:
        return None
    m = _NUMBER_RE.fullmatch(text)
    if m is None:
        return None
    try:
        if m.group("hex") is not None:
            return int(text, 16)
        if m.group("frac") is not None or m.group("exp") is not None:
            value = float(text)
            return value if math.isfinite(value) else None
        return int(text, 10)
    except (ValueError, OverflowError):
        return None


IPValue = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
IPNet = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]


def _norm_ip(addr: IPValue) -> IPValue:
    """Map ``::ffff:a.b.c.d`` to ``a.b.c.d`` so both spellings compare equal."""
    if addr.version == 6 and addr.ipv4_mapped is not None:  # type: ignore[union-attr]
        return addr.ipv4_mapped  # type: ignore[union-attr,return-value]
    return addr


def _parse_ip_value(text: str) -> IPValue | IPNet | None:
    """A filter value for an ip field: an address, or a network when it has a '/'."""
    text = text.strip()
    if not text or len(text) > 100:
        return None
    try:
        if "/" in text:
            net = ipaddress.ip_network(text, strict=False)
            if net.version == 6 and net.network_address.ipv4_mapped is not None \
                    and net.prefixlen >= 96:
                net = ipaddress.ip_network(
                    f"{net.network_address.ipv4_mapped}/{net.prefixlen - 96}", strict=False)
            return net
        return _norm_ip(ipaddress.ip_address(text))
    except ValueError:
        return None


@lru_cache(maxsize=8192)
def _ip_from_str(text: str) -> IPValue | None:
    try:
        return _norm_ip(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None


@lru_cache(maxsize=1024)
def _glob_regex(pattern: str, ignore_case: bool) -> Callable[[str], object]:
    """The compiled ``match`` of an fnmatch pattern (cached; raises ``re.error``)."""
    flags = re.IGNORECASE if ignore_case else 0
    return re.compile(fnmatch.translate(pattern), flags).match


# Record value coercion: each returns the value in the field's type, or None
# when the record value is absent or unreadable (the comparison is then false).

def _as_str(v: object) -> str | None:
    if v.__class__ is str:
        return v  # type: ignore[return-value]
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return str(v)
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v).decode("utf-8", "surrogateescape")
    try:
        return str(v)
    except Exception:  # a hostile __str__, or an int too long to print
        return None


def _as_number(v: object) -> int | float | None:
    if isinstance(v, (int, float)):
        return v
    if isinstance(v, str):
        return _parse_number(v.strip())
    if isinstance(v, (bytes, bytearray)):
        return _parse_number(bytes(v).decode("ascii", "replace").strip())
    return None


def _as_bool(v: object) -> bool | None:
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return v != 0
    if isinstance(v, str):
        return _BOOL_RECORD_WORDS.get(v.strip().lower())
    return None


def _as_ip(v: object) -> IPValue | None:
    if isinstance(v, str):
        return _ip_from_str(v) if len(v) <= 100 else None
    if isinstance(v, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return _norm_ip(v)
    try:
        if isinstance(v, int) and not isinstance(v, bool):
            return _norm_ip(ipaddress.ip_address(v))
        if isinstance(v, (bytes, bytearray)) and len(v) in (4, 16):
            return _norm_ip(ipaddress.ip_address(bytes(v)))
    except ValueError:
        return None
    return None


_COERCE: dict[str, Callable[[object], object]] = {
    "string": _as_str, "number": _as_number, "port": _as_number, "bool": _as_bool, "ip": _as_ip,
}


# ------------------------------------------------------------------ quoting

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


def _quote_str(text: str) -> str:
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
        return repr(value) if math.isfinite(value) else _quote_str(repr(value))
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value).decode("utf-8", "surrogateescape")
    text = value if isinstance(value, str) else str(value)
    if _BARE_SAFE.fullmatch(text):
        return text
    return _quote_str(text)


def field_equals(name: str, value: object) -> str:
    """Filter text selecting records whose ``name`` equals ``value``.

    ``None`` (the field is absent) gives ``not NAME exists``.  Used by
    drill-down to turn a selected row's key into a filter.
    """
    if value is None:
        return f"not {name} exists"
    return f"{name} = {quote_value(value)}"


def conjoin(*texts: str | Filter) -> str:
    """AND several filter texts together, each in parentheses.

    Empty and blank texts are dropped; a single remaining text is returned
    stripped and unparenthesised; none gives ``""``.  Each part is parsed
    first (raising :class:`FilterError` if one is invalid, with the column
    inside that part), so that no part can unbalance the parentheses of
    another.  :class:`Filter` objects contribute their text.
    """
    parts: list[str] = []
    for item in texts:
        text = item.text if isinstance(item, Filter) else item
        text = text.strip()
        if text:
            parse(text)
            parts.append(text)
    if len(parts) <= 1:
        return parts[0] if parts else ""
    return " and ".join(f"({p})" for p in parts)


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
        return f"{node.field} exists"
    if isinstance(node, Comparison):
        if node.op in _LIST_OPS:
            items = ", ".join(_format_value(v) for v in node.value)  # type: ignore[attr-defined]
            return f"{node.field} {node.op} ({items})"
        return f"{node.field} {node.op} {_format_value(node.value)}"
    if isinstance(node, Not):
        return "not " + _to_text(node.operand, 3)
    if isinstance(node, (And, Or)):
        prec, word = (2, " and ") if isinstance(node, And) else (1, " or ")
        text = word.join(_to_text(o, prec + 1 if isinstance(o, type(node)) else prec)
                         for o in node.operands)
        return f"({text})" if parent_prec > prec else text
    raise TypeError(f"not a filter AST node: {node!r}")


# ------------------------------------------------------------------ parser

_WS = re.compile(r"\s*")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*(?:\[[^\]]*\])?")
_SYMBOL_OP = re.compile(r"==|!=|<=|>=|=|<|>")
_BARE = re.compile(r"[^\s\"'(),=][^\s),]*")
_TOKEN = re.compile(r"[^\s(),]{1,25}")
_PLAIN = {'"': re.compile(r'[^"\\]+'), "'": re.compile(r"[^'\\]+")}
_QUOTE_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "n": "\n", "t": "\t", "r": "\r"}
_HEXDIGITS = frozenset("0123456789abcdefABCDEF")


def _show(text: str) -> str:
    """A token quoted for an error message: short, with control characters escaped."""
    if len(text) > 24:
        text = text[:24] + "..."
    body = _quote_str(text)[1:-1].replace("\\\"", '"')
    return f"'{body}'"


class _Parser:
    """Recursive-descent parser over ``text``; ``pos`` is a 0-based index."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.n = len(text)
        self.pos = 0
        self.depth = 0

    # -- helpers

    def error(self, message: str, pos: int | None = None) -> FilterError:
        return FilterError(message, (self.pos if pos is None else pos) + 1)

    def skip_ws(self) -> None:
        self.pos = _WS.match(self.text, self.pos).end()  # type: ignore[union-attr]

    def found(self) -> str:
        """What is at the cursor, for "found ..." in messages."""
        if self.pos >= self.n:
            return "end of filter"
        m = _TOKEN.match(self.text, self.pos)
        return _show(m.group() if m else self.text[self.pos])

    def keyword(self, word: str) -> bool:
        """Consume keyword ``word`` (any case, a whole word) if it is next."""
        self.skip_ws()
        m = _WORD.match(self.text, self.pos)
        if m is not None and m.group().lower() == word:
            self.pos = m.end()
            return True
        return False

    def push(self, pos: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"expression nested too deeply (more than {MAX_DEPTH} levels of "
                             "parentheses and 'not')", pos)

    # -- grammar

    def parse(self) -> Node:
        node = self.parse_or(None)
        self.skip_ws()
        if self.pos < self.n:
            if self.text[self.pos] == ")":
                raise self.error("unexpected ')' without a matching '('")
            raise self.error(f"expected 'and', 'or' or end of filter, found {self.found()}")
        return node

    def parse_or(self, after: str | None) -> Node:
        items = [self.parse_and(after)]
        while self.keyword("or"):
            items.append(self.parse_and("'or'"))
        return _join(Or, items)

    def parse_and(self, after: str | None) -> Node:
        items = [self.parse_not(after)]
        while self.keyword("and"):
            items.append(self.parse_not("'and'"))
        return _join(And, items)

    def parse_not(self, after: str | None) -> Node:
        saved_depth = self.depth
        negate = False
        while True:
            self.skip_ws()
            start = self.pos
            if not self.keyword("not"):
                break
            self.push(start)
            negate = not negate
            after = "'not'"
        self.skip_ws()
        if self.pos < self.n and self.text[self.pos] == "(":
            open_pos = self.pos
            self.push(open_pos)
            self.pos += 1
            node = self.parse_or("'('")
            self.skip_ws()
            if self.pos >= self.n:
                raise self.error(f"missing ')' to close the '(' at column {open_pos + 1}")
            if self.text[self.pos] != ")":
                raise self.error(f"expected 'and', 'or' or ')', found {self.found()}")
            self.pos += 1
        else:
            node = self.parse_check(after)
        self.depth = saved_depth
        if not negate:
            return node
        # "not not x" is x, also across parentheses: not (not x)
        return node.operand if isinstance(node, Not) else Not(node)

    def parse_check(self, after: str | None) -> Node:
        self.skip_ws()
        start = self.pos
        where = f" after {after}" if after else ""
        m = _WORD.match(self.text, start)
        if m is None or m.group().lower() in ("and", "or"):
            raise self.error(f"expected a field name, 'not' or '('{where}, found {self.found()}")
        name = m.group()
        fld = FIELDS_BY_NAME.get(name)
        if fld is None:
            hints = suggest(name)
            if hints:
                hint = "did you mean " + (hints[0] if len(hints) == 1 else
                                          ", ".join(hints[:-1]) + " or " + hints[-1]) + "?"
            else:
                hint = "see --list-fields for the known fields"
            raise self.error(f"unknown field {_show(name)}; {hint}", start)
        self.pos = m.end()
        self.skip_ws()
        op_pos = self.pos
        op_text = self.lex_operator(name)
        op = "=" if op_text == "==" else op_text
        if op == "exists":
            return Exists(name, start + 1)
        if op not in _OPS_BY_TYPE[fld.type]:
            raise self.error(f"operator '{op_text}' does not apply to {fld.type} field {name}",
                             op_pos)
        if op in _LIST_OPS:
            value: object = self.parse_list(name, fld.type, op)
        else:
            self.skip_ws()
            value_pos = self.pos
            raw = self.lex_value(f"after '{op_text}'", in_list=False)
            value = self.convert(raw, value_pos, name, fld.type, op, op_text)
        return Comparison(name, op, value, start + 1)

    def lex_operator(self, name: str) -> str:
        expected = f"expected an operator after {name} (=, !=, <, contains, in, exists, ...)"
        if self.pos >= self.n:
            raise self.error(f"{expected}, found end of filter")
        m = _SYMBOL_OP.match(self.text, self.pos)
        if m is not None:
            self.pos = m.end()
            return m.group()
        m = _WORD.match(self.text, self.pos)
        if m is not None:
            word = m.group().lower()
            if word in _WORD_OPS:
                self.pos = m.end()
                return word
            raise self.error(f"unknown operator {_show(m.group())} after {name}; expected one of "
                             + ", ".join(OPERATORS))
        raise self.error(f"{expected}, found {self.found()}")

    def parse_list(self, name: str, ftype: str, op: str) -> tuple[object, ...]:
        self.skip_ws()
        if self.pos >= self.n or self.text[self.pos] != "(":
            raise self.error(f"expected '(' after '{op}', as in {name} {op} (a, b), "
                             f"found {self.found()}")
        open_pos = self.pos
        self.pos += 1
        self.skip_ws()
        values: list[object] = []
        if self.pos < self.n and self.text[self.pos] == ")":
            self.pos += 1
            return ()
        context = "after '('"
        while True:
            self.skip_ws()
            value_pos = self.pos
            raw = self.lex_value(context, in_list=True)
            values.append(self.convert(raw, value_pos, name, ftype, op, op))
            self.skip_ws()
            if self.pos >= self.n:
                raise self.error(f"missing ')' to close the list opened at column {open_pos + 1}")
            ch = self.text[self.pos]
            if ch == ",":
                self.pos += 1
                context = "after ','"
            elif ch == ")":
                self.pos += 1
                return tuple(values)
            else:
                raise self.error(f"expected ',' or ')' in the list, found {self.found()}")

    def lex_value(self, context: str, in_list: bool) -> str:
        if self.pos >= self.n:
            raise self.error(f"expected a value {context}, found end of filter")
        ch = self.text[self.pos]
        if ch in "\"'":
            return self.lex_quoted()
        if ch == "(" and not in_list:
            raise self.error(f"expected a value {context}, found '('; "
                             "use 'in (a, b)' to compare with a list")
        m = _BARE.match(self.text, self.pos)
        if m is None:
            raise self.error(f"expected a value {context}, found {self.found()}")
        self.pos = m.end()
        return m.group()

    def lex_quoted(self) -> str:
        text, n = self.text, self.n
        quote = text[self.pos]
        start = self.pos
        plain = _PLAIN[quote]
        pos = start + 1
        parts: list[str] = []
        pending = bytearray()  # a run of \xHH bytes not yet decoded

        def flush() -> None:
            if pending:
                parts.append(pending.decode("utf-8", "surrogateescape"))
                pending.clear()

        while True:
            m = plain.match(text, pos)
            if m is not None:
                flush()
                parts.append(m.group())
                pos = m.end()
            if pos >= n or (text[pos] == "\\" and pos + 1 >= n):
                raise FilterError(f"unterminated string: no closing {quote} for the quote at "
                                  f"column {start + 1}", start + 1)
            if text[pos] == quote:
                flush()
                self.pos = pos + 1
                return "".join(parts)
            # a backslash escape
            esc = text[pos + 1]
            if esc == "x":
                digits = text[pos + 2:pos + 4]
                if len(digits) != 2 or not _HEXDIGITS.issuperset(digits):
                    raise FilterError("invalid escape: \\x takes two hex digits", pos + 1)
                pending.append(int(digits, 16))
                pos += 4
                continue
            flush()
            if esc in _QUOTE_ESCAPES:
                parts.append(_QUOTE_ESCAPES[esc])
                pos += 2
            elif esc in "uU":
                width = 4 if esc == "u" else 8
                digits = text[pos + 2:pos + 2 + width]
                if len(digits) != width or not _HEXDIGITS.issuperset(digits) \
                        or int(digits, 16) > 0x10FFFF:
                    raise FilterError(f"invalid escape: \\{esc} takes {width} hex digits "
                                      "(at most 10ffff)", pos + 1)
                parts.append(chr(int(digits, 16)))
                pos += 2 + width
            else:
                shown = f"'\\{esc}'" if esc.isprintable() else _show("\\" + esc)
                raise FilterError(f"invalid escape {shown}; use \\\\ for a backslash", pos + 1)

    def convert(self, raw: str, pos: int, name: str, ftype: str, op: str, op_text: str) -> object:
        """Turn a lexed value into the type the comparison needs (error at ``pos``)."""
        if op in ("glob", "iglob"):
            try:
                _glob_regex(raw, op == "iglob")
            except (re.error, RecursionError, OverflowError):
                raise self.error(f"invalid glob pattern {_show(raw)}", pos) from None
        if op in _TEXT_OPS or op == "pmatch" or ftype == "string":
            return raw
        if ftype in ("number", "port"):
            number = _parse_number(raw.strip())
            if number is None:
                raise self.error(f"{name} is a {ftype} field: expected a number after "
                                 f"'{op_text}', found {_show(raw)}", pos)
            return number
        if ftype == "bool":
            flag = _BOOL_WORDS.get(raw.strip().lower())
            if flag is None:
                raise self.error(f"{name} is a bool field: expected true or false after "
                                 f"'{op_text}', found {_show(raw)}", pos)
            return flag
        address = _parse_ip_value(raw)
        if address is None:
            raise self.error(f"{name} is an ip field: expected an IP address or network "
                             f"(e.g. 10.0.0.1, 10.0.0.0/8) after '{op_text}', found {_show(raw)}",
                             pos)
        return address


# ------------------------------------------------------------------ compiler

Predicate = Callable[[Mapping[str, object]], bool]


def _always(record: Mapping[str, object]) -> bool:
    return True


def _value_test(op: str, value: object) -> Callable[[object], bool]:
    """The test applied to a present, coerced record value."""
    if op in ("=", "!="):
        if isinstance(value, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
            net = value
            test: Callable[[object], bool] = lambda v: v in net  # noqa: E731
        else:
            test = lambda v: v == value  # noqa: E731
        if op == "!=":
            positive = test
            return lambda v: not positive(v)
        return test
    if op == "<":
        return lambda v: v < value  # type: ignore[operator]
    if op == "<=":
        return lambda v: v <= value  # type: ignore[operator]
    if op == ">":
        return lambda v: v > value  # type: ignore[operator]
    if op == ">=":
        return lambda v: v >= value  # type: ignore[operator]
    if op == "contains":
        return lambda v: value in v  # type: ignore[operator]
    if op == "icontains":
        needle = value.casefold()  # type: ignore[attr-defined]
        return lambda v: needle in v.casefold()  # type: ignore[attr-defined]
    if op == "startswith":
        return lambda v: v.startswith(value)  # type: ignore[attr-defined]
    if op == "endswith":
        return lambda v: v.endswith(value)  # type: ignore[attr-defined]
    if op in ("glob", "iglob"):
        match = _glob_regex(value, op == "iglob")  # type: ignore[arg-type]
        return lambda v: match(v) is not None
    if op == "in":
        items = tuple(value)  # type: ignore[call-overload]
        network_types = (ipaddress.IPv4Network, ipaddress.IPv6Network)
        nets = tuple(v for v in items if isinstance(v, network_types))
        members = frozenset(v for v in items if not isinstance(v, network_types))
        if nets:
            return lambda v: v in members or any(v in net for net in nets)
        return lambda v: v in members
    if op == "pmatch":
        exact: set[str] = set()
        prefixes: list[str] = []
        for path in value:  # type: ignore[attr-defined]
            trimmed = path.rstrip("/") or ("/" if path else "")
            exact.add(trimmed)
            if trimmed:
                prefixes.append(trimmed if trimmed == "/" else trimmed + "/")
        exact_set, prefix_tuple = frozenset(exact), tuple(prefixes)
        return lambda v: v in exact_set or v.startswith(prefix_tuple)  # type: ignore[attr-defined]
    raise ValueError(f"unknown operator {op!r}")


def _compile_comparison(node: Comparison) -> Predicate:
    ftype = FIELDS_BY_NAME[node.field].type
    text_op = node.op in _TEXT_OPS or node.op == "pmatch"
    coerce = _as_str if text_op else _COERCE[ftype]
    test = _value_test(node.op, node.value)
    name = node.field

    if coerce is _as_str:
        def check_str(record: Mapping[str, object]) -> bool:
            v = record.get(name)
            if v.__class__ is not str:
                if v is None:
                    return False
                v = _as_str(v)
                if v is None:
                    return False
            return test(v)
        return check_str

    def check(record: Mapping[str, object]) -> bool:
        v = record.get(name)
        if v is None:
            return False
        v = coerce(v)
        return v is not None and test(v)
    return check


def _compile(node: Node) -> Predicate:
    if isinstance(node, Comparison):
        return _compile_comparison(node)
    if isinstance(node, Exists):
        name = node.field
        return lambda record: record.get(name) is not None
    if isinstance(node, Not):
        inner = _compile(node.operand)
        return lambda record: not inner(record)
    if isinstance(node, (And, Or)):
        parts = tuple(_compile(o) for o in node.operands)
        if isinstance(node, And):
            if len(parts) == 2:
                a, b = parts
                return lambda record: a(record) and b(record)

            def all_of(record: Mapping[str, object]) -> bool:
                for part in parts:
                    if not part(record):
                        return False
                return True
            return all_of
        if len(parts) == 2:
            a, b = parts
            return lambda record: a(record) or b(record)

        def any_of(record: Mapping[str, object]) -> bool:
            for part in parts:
                if part(record):
                    return True
            return False
        return any_of
    if isinstance(node, MatchAll):
        return _always
    raise TypeError(f"not a filter AST node: {node!r}")


def _referenced_fields(node: Node) -> frozenset[str]:
    names: set[str] = set()
    stack: list[Node] = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, (Comparison, Exists)):
            names.add(item.field)
        elif isinstance(item, Not):
            stack.append(item.operand)
        elif isinstance(item, (And, Or)):
            stack.extend(item.operands)
    return frozenset(names)


# ------------------------------------------------------------------ public API


class Filter:
    """A parsed, compiled filter.

    ``text`` is the source, ``ast`` the tree, ``fields`` the field names it
    references, ``kinds`` their record kinds (from the catalogue).  Two
    filters are equal when their ASTs are (whatever the spacing of the text).
    """

    __slots__ = ("text", "ast", "fields", "kinds", "_predicate")

    def __init__(self, text: str, ast: Node) -> None:
        self.text = text
        self.ast = ast
        self.fields = _referenced_fields(ast)
        self.kinds = frozenset(FIELDS_BY_NAME[f].kind for f in self.fields)
        self._predicate = _compile(ast)

    @property
    def is_empty(self) -> bool:
        """True for the empty filter, which matches everything."""
        return isinstance(self.ast, MatchAll)

    def matches(self, record: Mapping[str, object]) -> bool:
        """Whether ``record`` (field name -> value) passes the filter. Never raises."""
        return bool(self._predicate(record))

    __call__ = matches

    def select(self, records: Iterable[Mapping[str, object]]) -> list[Mapping[str, object]]:
        """The records that pass, in order."""
        predicate = self._predicate
        return [r for r in records if predicate(r)]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Filter) and self.ast == other.ast

    def __hash__(self) -> int:
        return hash(self.ast)

    def __repr__(self) -> str:
        return f"Filter({self.text!r})"

    def __str__(self) -> str:
        return self.text


def parse(text: str) -> Filter:
    """Parse and compile filter ``text``; raise :class:`FilterError` if it is invalid.

    Empty or blank text gives a filter that matches everything.
    """
    if not isinstance(text, str):
        raise TypeError(f"filter text must be str, not {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise FilterError(f"filter too long ({len(text)} characters; the limit is {MAX_LENGTH})",
                          MAX_LENGTH + 1)
    if not text.strip():
        return Filter(text, MatchAll())
    try:
        ast = _Parser(text).parse()
        return Filter(text, ast)
    except RecursionError:  # pragma: no cover - MAX_DEPTH keeps well below the limit
        raise FilterError("expression nested too deeply", 1) from None
