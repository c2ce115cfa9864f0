"""Which part of a filter the kernel can apply itself.

Watching one container should not cost the whole host's event volume. When
a filter is a conjunction with a clause that names containers or processes
(``container.name = web and ...``, ``proc.pid in (10, 11)``), the probes can
skip every other process in the kernel. That clause alone selects a superset
of what the whole filter matches, so nothing the filter would show is lost;
the full filter is still evaluated in user space.
"""

from __future__ import annotations

from dataclasses import dataclass

from .filter import And, Comparison, Filter

HOST = "host"


@dataclass(frozen=True)
class KernelScope:
    """Processes the probes need to watch: by container (id or name) or by pid."""

    container_ids: frozenset[str] = frozenset()
    container_names: frozenset[str] = frozenset()
    pids: frozenset[int] = frozenset()

    @property
    def by_container(self) -> bool:
        return bool(self.container_ids or self.container_names)


def _values(c: Comparison) -> tuple | None:
    if c.op == "=":
        return (c.value,)
    if c.op == "in":
        return tuple(c.value)
    return None


def kernel_scope(query: Filter | None) -> KernelScope | None:
    """The scope to push into the kernel, or None when everything must be watched."""
    if query is None or query.is_empty:
        return None
    node = query.ast
    clauses = node.operands if isinstance(node, And) else (node,)
    for c in clauses:
        if not isinstance(c, Comparison):
            continue
        values = _values(c)
        if not values:
            continue
        if c.field in ("container.id", "container.name"):
            names = frozenset(str(v) for v in values)
            if HOST in names:  # "not in any container" is not a cgroup set
                continue
            if c.field == "container.id":
                return KernelScope(container_ids=names)
            return KernelScope(container_names=names)
        if c.field == "proc.pid":
            return KernelScope(pids=frozenset(int(v) for v in values))
    return None
