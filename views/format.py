"""Values as people read them (humanize); JSON never goes through here."""

from __future__ import annotations

import time

import humanize

from .spec import Column


def fmt_bytes(n: float) -> str:
    return humanize.naturalsize(n, binary=True, format="%.1f").replace(" Bytes", "B").replace(" Byte", "B")


def fmt_count(n: float) -> str:
    if abs(n) < 10000:
        return humanize.intcomma(int(n)) if float(n).is_integer() else f"{n:.1f}"
    return humanize.metric(n, precision=3)


def fmt_ns(ns: float) -> str:
    if not ns:
        return "0"
    return humanize.metric(ns / 1e9, "s", precision=3)


def fmt_time(wall: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(wall)) + f".{int(wall * 1000) % 1000:03d}"


def format_value(col: Column, value, rate_interval: float | None = None) -> str:
    """One cell. With ``rate_interval``, counters are shown per second."""
    if value is None or value == "":
        return ""
    fmt = col.fmt
    if col.counter and rate_interval:
        value = value / rate_interval
    if fmt == "bytes":
        text = fmt_bytes(value)
        return text + "/s" if col.counter and rate_interval else text
    if fmt == "count":
        text = fmt_count(value)
        return text + "/s" if col.counter and rate_interval else text
    if fmt == "ns":
        return fmt_ns(value)
    if fmt == "pct":
        return f"{value:.1f}"
    if fmt == "int":
        return str(int(value))
    if fmt == "time":
        return fmt_time(value)
    if fmt == "bool":
        return "yes" if value else "no"
    return str(value)
