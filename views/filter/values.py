"""Values in a filter and in records: numbers, booleans, IPs and networks, globs,
and the coercion of a record value to a field's type."""

from __future__ import annotations

import fnmatch
import ipaddress
import math
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Union

_NUMBER_RE = re.compile(
    r"[+-]?(?:0[xX](?P<hex>[0-9a-fA-F]+)|[0-9]+(?P<frac>\.[0-9]*)?(?P<exp>[eE][+-]?[0-9]+)?)"
)
BOOL_WORDS = {"true": True, "false": False, "1": True, "0": False}
_BOOL_RECORD_WORDS = {**BOOL_WORDS, "yes": True, "no": False}


def parse_number(text: str) -> int | float | None:
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


def parse_ip_value(text: str) -> IPValue | IPNet | None:
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
def glob_regex(pattern: str, ignore_case: bool) -> Callable[[str], object]:
    """The compiled ``match`` of an fnmatch pattern (cached; raises ``re.error``)."""
    flags = re.IGNORECASE if ignore_case else 0
    return re.compile(fnmatch.translate(pattern), flags).match


# Record value coercion: each returns the value in the field's type, or None
# when the record value is absent or unreadable (the comparison is then false).

def as_str(v: object) -> str | None:
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
        return parse_number(v.strip())
    if isinstance(v, (bytes, bytearray)):
        return parse_number(bytes(v).decode("ascii", "replace").strip())
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


COERCE: dict[str, Callable[[object], object]] = {
    "string": as_str, "number": _as_number, "port": _as_number, "bool": _as_bool, "ip": _as_ip,
}
