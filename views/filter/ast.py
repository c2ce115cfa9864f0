"""The filter language's tree, operators, limits and errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

#: Deepest nesting of parentheses and ``not`` accepted.
MAX_DEPTH = 200
#: Longest filter text accepted, in characters.
MAX_LENGTH = 65_536

ORDER_OPS = frozenset({"<", "<=", ">", ">="})
EQ_OPS = frozenset({"=", "!="})
TEXT_OPS = frozenset({"contains", "icontains", "startswith", "endswith", "glob", "iglob"})
LIST_OPS = frozenset({"in", "pmatch"})
WORD_OPS = TEXT_OPS | LIST_OPS | {"exists"}

#: Every operator, in the order error messages list them (``==`` is ``=``).
OPERATORS: tuple[str, ...] = (
    "=", "==", "!=", "<", "<=", ">", ">=", "contains", "icontains", "startswith",
    "endswith", "glob", "iglob", "in", "pmatch", "exists",
)

#: Operators each field type accepts (``exists`` applies to all).
OPS_BY_TYPE: dict[str, frozenset[str]] = {
    "string": EQ_OPS | ORDER_OPS | TEXT_OPS | LIST_OPS,
    "number": EQ_OPS | ORDER_OPS | TEXT_OPS | {"in"},
    "port": EQ_OPS | ORDER_OPS | TEXT_OPS | {"in"},
    "ip": EQ_OPS | TEXT_OPS | {"in"},
    "bool": EQ_OPS | {"in"},
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


def join(cls: type[And] | type[Or], items: list[Node]) -> Node:
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
