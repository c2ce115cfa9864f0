"""A checked tree compiled to closures over a record."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping

from ..fields import field_named
from .ast import TEXT_OPS, And, Comparison, Exists, MatchAll, Node, Not, Or
from .values import COERCE, as_str, glob_regex

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
        match = glob_regex(value, op == "iglob")  # type: ignore[arg-type]
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
    ftype = field_named(node.field).type
    text_op = node.op in TEXT_OPS or node.op == "pmatch"
    coerce = as_str if text_op else COERCE[ftype]
    test = _value_test(node.op, node.value)
    name = node.field

    if coerce is as_str:
        def check_str(record: Mapping[str, object]) -> bool:
            v = record.get(name)
            if v.__class__ is not str:
                if v is None:
                    return False
                v = as_str(v)
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


def compile_tree(node: Node) -> Predicate:
    if isinstance(node, Comparison):
        return _compile_comparison(node)
    if isinstance(node, Exists):
        name = node.field
        return lambda record: record.get(name) is not None
    if isinstance(node, Not):
        inner = compile_tree(node.operand)
        return lambda record: not inner(record)
    if isinstance(node, (And, Or)):
        parts = tuple(compile_tree(o) for o in node.operands)
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


def referenced_fields(node: Node) -> frozenset[str]:
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
