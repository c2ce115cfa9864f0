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

from collections.abc import Iterable, Mapping

from .ast import (
    MAX_DEPTH,
    MAX_LENGTH,
    OPERATORS,
    And,
    Comparison,
    Exists,
    FilterError,
    MatchAll,
    Node,
    Not,
    Or,
)
from .compiler import compile_tree, referenced_fields
from .parser import Parser
from .text import field_equals, quote_value, to_text

__all__ = [
    "MAX_DEPTH", "MAX_LENGTH", "OPERATORS",
    "FilterError", "Filter", "parse", "conjoin", "quote_value", "field_equals", "to_text",
    "Node", "MatchAll", "Comparison", "Exists", "Not", "And", "Or",
]


class Filter:
    """A parsed, compiled filter.

    ``text`` is the source, ``ast`` the tree, ``fields`` the field names it
    references, ``kinds`` their record kinds (from the catalogue).  Two
    filters are equal when their ASTs are (whatever the spacing of the text).
    """

    __slots__ = ("text", "ast", "fields", "_predicate")

    def __init__(self, text: str, ast: Node) -> None:
        self.text = text
        self.ast = ast
        self.fields = referenced_fields(ast)
        self._predicate = compile_tree(ast)

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
        ast = Parser(text).parse()
        return Filter(text, ast)
    except RecursionError:  # pragma: no cover - MAX_DEPTH keeps well below the limit
        raise FilterError("expression nested too deeply", 1) from None


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
