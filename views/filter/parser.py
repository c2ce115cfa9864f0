"""The filter parser: text to a checked tree (see the grammar in __init__)."""

from __future__ import annotations

import re

from ..fields import field_named, suggest
from .ast import (
    LIST_OPS,
    MAX_DEPTH,
    OPERATORS,
    OPS_BY_TYPE,
    TEXT_OPS,
    WORD_OPS,
    And,
    Comparison,
    Exists,
    FilterError,
    Node,
    Not,
    Or,
    join,
)
from .text import quote_str
from .values import BOOL_WORDS, glob_regex, parse_ip_value, parse_number

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
    body = quote_str(text)[1:-1].replace("\\\"", '"')
    return f"'{body}'"


class Parser:
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
        return join(Or, items)

    def parse_and(self, after: str | None) -> Node:
        items = [self.parse_not(after)]
        while self.keyword("and"):
            items.append(self.parse_not("'and'"))
        return join(And, items)

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
        fld = field_named(name)
        if fld is None:
            hints = suggest(name)
            if hints:
                hint = "did you mean " + (hints[0] if len(hints) == 1 else
                                          ", ".join(hints[:-1]) + " or " + hints[-1]) + "?"
            else:
                hint = "see --list-fields for the known fields"
            raise self.error(f"unknown field {_show(name)}; {hint}", start)
        name = fld.name  # k8s.pod.label[app] reads the record key k8s.pod.label.app
        self.pos = m.end()
        self.skip_ws()
        op_pos = self.pos
        op_text = self.lex_operator(name)
        op = "=" if op_text == "==" else op_text
        if op == "exists":
            return Exists(name, start + 1)
        if op not in OPS_BY_TYPE[fld.type]:
            raise self.error(f"operator '{op_text}' does not apply to {fld.type} field {name}",
                             op_pos)
        if op in LIST_OPS:
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
            if word in WORD_OPS:
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
                glob_regex(raw, op == "iglob")
            except (re.error, RecursionError, OverflowError):
                raise self.error(f"invalid glob pattern {_show(raw)}", pos) from None
        if op in TEXT_OPS or op == "pmatch" or ftype == "string":
            return raw
        if ftype in ("number", "port"):
            number = parse_number(raw.strip())
            if number is None:
                raise self.error(f"{name} is a {ftype} field: expected a number after "
                                 f"'{op_text}', found {_show(raw)}", pos)
            return number
        if ftype == "bool":
            flag = BOOL_WORDS.get(raw.strip().lower())
            if flag is None:
                raise self.error(f"{name} is a bool field: expected true or false after "
                                 f"'{op_text}', found {_show(raw)}", pos)
            return flag
        address = parse_ip_value(raw)
        if address is None:
            raise self.error(f"{name} is an ip field: expected an IP address or network "
                             f"(e.g. 10.0.0.1, 10.0.0.0/8) after '{op_text}', found {_show(raw)}",
                             pos)
        return address
