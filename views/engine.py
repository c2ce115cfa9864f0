"""The view engine: filter fine-grained records, group by the view key,
aggregate, sort → rows. Pure functions of (view, records, filter, sort).

A filter is evaluated on fine-grained records before grouping. When it names
fields the view's own records do not carry (``fd.name`` in the processes
view), it is evaluated on the finest record kind that carries them and the
view keeps the records of the processes that matched: ``fd.name startswith
/etc`` in the processes view shows the processes touching /etc.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from ctop_ebpf.model.events import HOST
from ctop_ebpf.model.records import RECORD_FIELDS

from . import filter as flt
from .spec import Column, View

# Finer kinds tried, in order, when a filter needs fields the view lacks.
JOIN_KINDS = ("fds", "syscalls", "errnos", "threads", "opens")


def covers(kind: str, fields: frozenset[str] | set[str]) -> bool:
    spaces = RECORD_FIELDS.get(kind, ())
    return all(any(f == s or f.startswith(s) for s in spaces) for f in fields)


@dataclass(slots=True)
class Row:
    key: tuple
    values: dict


@lru_cache(maxsize=256)
def compile_filter(text: str) -> flt.Filter:
    return flt.parse(text)


def select(view: View, records, query: flt.Filter | None = None) -> list[Mapping]:
    """The records of the view's kind that pass its base filter and ``query``."""
    base = records.of_kind(view.source)
    if view.base_filter:
        bf = compile_filter(view.base_filter)
        base = [r for r in base if bf.matches(r)]
    if query is None or not query.fields:
        return base
    if covers(view.source, query.fields):
        match = query.matches
        return [r for r in base if match(r)]
    kinds = [k for k in JOIN_KINDS if covers(k, query.fields)] or list(JOIN_KINDS)
    pids = set()
    for kind in kinds[:1] if covers(kinds[0], query.fields) else kinds:
        pids.update(r.get("proc.pid") for r in records.of_kind(kind) if query.matches(r))
    return [r for r in base if r.get("proc.pid") in pids]


def _aggregate(col: Column, recs: Sequence[Mapping]):
    src = col.source
    agg = col.agg
    if agg == "first":
        for r in recs:
            v = r.get(src)
            if v is not None:
                return v
        return None
    if agg == "last":
        for r in reversed(recs):
            v = r.get(src)
            if v is not None:
                return v
        return None
    if agg == "count":
        return sum(1 for r in recs if r.get(src) not in (None, ""))
    if agg in ("count_distinct", "join_distinct"):
        seen = dict.fromkeys(r.get(src) for r in recs)
        seen.pop(None, None)
        if agg == "count_distinct":
            return len(seen)
        return ", ".join(str(v) for v in seen)
    values = [v for v in (r.get(src) for r in recs) if v is not None]
    if not values:
        return None
    if agg == "sum":
        return sum(values)
    if agg == "max":
        return max(values)
    if agg == "min":
        return min(values)
    if agg == "avg":
        return sum(values) / len(values)
    raise ValueError(f"unknown aggregation {agg!r}")


def _derive(view: View, values: dict) -> None:
    if "avg_ns" in values and view.column("avg_ns") and "total_ns" in values:
        calls = values.get("calls") or 0
        values["avg_ns"] = (values["total_ns"] or 0) // calls if calls else 0


_AS_IS = frozenset({"first", "last", "max", "min"})
_NUMBERS = (int, float)


def _aggregate_one(col: Column, r: Mapping):
    """``_aggregate(col, [r])``, without the list machinery: most groups (a
    process, a file) hold one record, and this runs for every cell."""
    v = r.get(col.source)
    agg = col.agg
    if agg in _AS_IS:
        return v
    if agg == "sum":
        return None if v is None else 0 + v
    if agg == "count":
        return 0 if v is None or v == "" else 1
    if agg == "count_distinct":
        return 0 if v is None else 1
    if agg == "join_distinct":
        return "" if v is None else str(v)
    return _aggregate(col, (r,))


def group(view: View, recs: Sequence[Mapping]) -> list[Row]:
    if view.log:
        rows = []
        for i, r in enumerate(recs):
            values = {c.id: r.get(c.source) for c in view.columns}
            rows.append(Row((r.get("ts", i), r.get("proc.pid"), i), values))
        return rows
    buckets: dict[tuple, list[Mapping]] = {}
    keyf = view.key
    for r in recs:
        k = tuple(r.get(f) for f in keyf)
        b = buckets.get(k)
        if b is None:
            buckets[k] = [r]
        else:
            b.append(r)
    rows = []
    columns = view.columns
    # (id, source, how, column) per column, for one-record groups: how is 0 when
    # the value is taken as is, 1 for a sum (as is when it is an int or a float)
    plan = [(c.id, c.source, 0 if c.agg in _AS_IS else 1 if c.agg == "sum" else 2, c)
            for c in columns]
    for k, members in buckets.items():
        if len(members) == 1:
            r = members[0]
            get = r.get
            values = {
                cid: v if how == 0 or (how == 1 and type(v) in _NUMBERS) else _aggregate_one(c, r)
                for cid, src, how, c in plan
                for v in (get(src),)
            }
        else:
            values = {c.id: _aggregate(c, members) for c in columns}
        _derive(view, values)
        rows.append(Row(k, values))
    return rows


def _enrich_containers(view: View, rows: list[Row], records, query: flt.Filter | None) -> list[Row]:
    """Containers view: cgroup CPU/memory and metadata from the container records,
    and a row for a present container that has no process we know of yet."""
    by_id = {c["container.id"]: c for c in records.of_kind("containers")}
    # the columns a container record fills (name, image, runtime, labels ...)
    described = [c for c in view.columns if c.source.startswith(RECORD_FIELDS["containers"])]
    seen = set()
    for row in rows:
        cid = row.key[0]
        seen.add(cid)
        c = by_id.get(cid)
        if c is None:
            continue
        if c.get("cpu_pct", -1) is not None and c.get("cpu_pct", -1) >= 0:
            row.values["cpu_pct"] = c["cpu_pct"]
        row.values["memory_bytes"] = c["memory_bytes"] if c.get("memory_bytes", -1) >= 0 else None
        for col in described:
            if c.get(col.source):
                row.values[col.id] = c[col.source]
    match_all = query is None or not query.fields
    for cid, c in by_id.items():
        if cid in seen or not c.get("present") or cid == HOST:
            continue
        if not match_all and not (covers("containers", query.fields) and query.matches(c)):
            continue
        values = {col.id: 0 if col.counter or col.agg in ("sum", "count", "count_distinct") else None
                  for col in view.columns}
        values.update({col.id: c.get(col.source) for col in described})
        values["cpu_pct"] = max(c.get("cpu_pct", 0) or 0, 0)
        values["memory_bytes"] = c["memory_bytes"] if c["memory_bytes"] >= 0 else None
        rows.append(Row((cid,), values))
    return rows


def _enrich_pods(view: View, rows: list[Row], records, query: flt.Filter | None) -> list[Row]:
    """Pods view: CPU and memory summed over the pod's containers' cgroups, its
    containers counted from the runtime (its own pause container aside), and a
    row for a pod present with no process we know of yet."""
    pods: dict[tuple, dict] = {}
    for c in records.of_kind("containers"):
        pod = c.get("k8s.pod.name")
        if pod is None or not c.get("present"):
            continue
        key = (c.get("k8s.ns.name"), pod)
        p = pods.get(key)
        if p is None:
            p = pods[key] = {"cpu": None, "mem": None, "containers": 0, "match": False}
        if (c.get("cpu_pct") or -1) >= 0:
            p["cpu"] = (p["cpu"] or 0) + c["cpu_pct"]
        if (c.get("memory_bytes") or -1) >= 0:
            p["mem"] = (p["mem"] or 0) + c["memory_bytes"]
        if not c.get("sandbox"):
            p["containers"] += 1
        if query is None or not query.fields or (covers("containers", query.fields) and query.matches(c)):
            p["match"] = True
    seen = set()
    for row in rows:
        seen.add(row.key)
        p = pods.get(row.key)
        if p is None:
            continue
        if p["cpu"] is not None:
            row.values["cpu_pct"] = p["cpu"]
        row.values["memory_bytes"] = p["mem"]
        row.values["containers"] = p["containers"]
    for key, p in pods.items():
        if key in seen or not p["match"]:
            continue
        rows.append(Row(key, {
            "namespace": key[0], "pod": key[1], "containers": p["containers"], "procs": 0, "threads": 0,
            "cpu_pct": p["cpu"] or 0.0, "rss_bytes": 0, "memory_bytes": p["mem"],
            "syscalls": 0, "file_bytes": 0, "net_bytes": 0,
        }))
    return rows


ENRICH = {"containers": _enrich_containers, "pods": _enrich_pods}


def sort_rows(view: View, rows: list[Row], sort: str | None = None, desc: bool | None = None) -> list[Row]:
    col = sort or view.sort
    if view.column(col) is None:
        raise KeyError(f"view {view.id} has no column {col!r}; columns: {', '.join(c.id for c in view.columns)}")
    if desc is None:
        desc = view.sort_desc if sort is None else True

    def key(row: Row):
        v = row.values.get(col)
        if v is None:
            return (1, 0, "", row.key)
        if isinstance(v, (int, float)):
            return (0, -v if desc else v, "", _stable(row.key))
        return (0, 0, v, _stable(row.key))

    ordered = sorted(rows, key=key)
    if desc and ordered and isinstance(ordered[0].values.get(col), str):
        present = [r for r in ordered if r.values.get(col) is not None]
        absent = [r for r in ordered if r.values.get(col) is None]
        ordered = sorted(present, key=lambda r: (r.values.get(col), _stable(r.key)), reverse=True) + absent
    return ordered


_STABLE: dict[tuple, tuple] = {}  # row keys repeat from tick to tick


def _stable(key: tuple) -> tuple:
    """A key that orders rows of mixed key types (numbers first, then text)."""
    got = _STABLE.get(key)
    if got is None:
        if len(_STABLE) >= 100_000:
            _STABLE.clear()
        got = _STABLE[key] = tuple((0, v) if isinstance(v, (int, float)) else (1, str(v)) for v in key)
    return got


def compute(view: View, records, query: flt.Filter | None = None,
            sort: str | None = None, desc: bool | None = None) -> list[Row]:
    """Everything a view shows for one tick's records, sorted."""
    rows = group(view, select(view, records, query))
    if view.enrich:
        rows = ENRICH[view.enrich](view, rows, records, query)
    return sort_rows(view, rows, sort, desc)


def parse_sort(spec: str) -> tuple[str, bool]:
    """``--sort COLUMN`` sorts descending, ``--sort -COLUMN`` ascending."""
    if spec.startswith("-"):
        return spec[1:], False
    return spec, True


def drill(view: View, row: Row) -> tuple[str, str] | None:
    """Enter on ``row``: the target view and the filter clause to add."""
    d = view.drilldown
    if d is None:
        return None
    value = row.values.get(d.column)
    if value is None:
        return None
    clauses = [flt.field_equals(d.field, value)]
    clauses += [flt.field_equals(f, row.values.get(column)) for f, column in d.also]
    return d.target, flt.conjoin(*clauses)
