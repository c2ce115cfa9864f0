"""Reading a capture: the header at once, records streamed and checked
against the schema; a capture cut short replays up to its last complete
frame with a warning. See format.py for the layout.
"""

from __future__ import annotations

import json
import re
import typing
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import MISSING as _MISSING
from dataclasses import fields, is_dataclass

from ctop_ebpf.model import events as ev

from .format import (
    CRC,
    FORMAT_VERSION,
    FRAME,
    MAGIC,
    MAX_FRAME,
    MAX_HEADER,
    MAX_RECORD,
    PREFIX,
    TOP_LEVEL,
    CaptureError,
    CaptureHeader,
    UserNames,
    shown,
)

_CHUNK = 1 << 20  # decompression step


class _Bad(ValueError):
    """A record that does not match the schema (turned into CaptureError)."""


def _int(v):
    if type(v) is not int:
        raise _Bad(f"expected an integer, got {_kind(v)}")
    return v


def _bool(v):
    if type(v) is not bool:
        raise _Bad(f"expected true/false, got {_kind(v)}")
    return v


def _float(v):
    t = type(v)
    if t is float:
        if v != v or v in (float("inf"), float("-inf")):
            raise _Bad("expected a finite number")
        return v
    if t is int:
        try:
            return float(v)
        except OverflowError:
            raise _Bad("number out of range") from None
    raise _Bad(f"expected a number, got {_kind(v)}")


# json.loads turns a valid surrogate pair into one code point, so a surrogate left in a
# string is a lone one; only U+DC80..U+DCFF (os.fsdecode's escaped bytes) can be recorded.
_LONE_SURROGATE = re.compile("[\ud800-\udc7f\udd00-\udfff]")


def _str(v):
    if type(v) is not str:
        raise _Bad(f"expected a string, got {_kind(v)}")
    if _LONE_SURROGATE.search(v):
        raise _Bad("string holds a lone surrogate that no file name or argument can hold")
    return v


# What a live run can produce; a capture holding more is damaged (or crafted).
INT_RANGE = (-(2**63), 2**64 - 1)
FIELD_RANGES: dict[str, tuple] = {
    "ts": (0, 2**63 - 1),  # CLOCK_MONOTONIC ns
    "start_ns": (0, 2**63 - 1),
    "wall": (0.0, float(2**34)),  # time.time(), up to the year 2514
    "interval_s": (0.0, 1e6),
}


def _bounded(conv: Callable, low, high, name: str) -> Callable:
    def check(v):
        v = conv(v)
        if not low <= v <= high:
            raise _Bad(f"{name} out of range")
        return v
    return check


def _kind(v) -> str:
    return {int: "an integer", float: "a number", str: "a string", bool: "true/false",
            list: "an array", dict: "an object", type(None): "null"}.get(type(v), type(v).__name__)


def _seq(v):
    if type(v) is not list:
        raise _Bad(f"expected an array, got {_kind(v)}")
    return v


class _Decoders:
    """Field-by-field decoders for the schema a capture was written with."""

    def __init__(self, schema: dict[str, Sequence[str]]) -> None:
        self.by_name: dict[str, Callable] = {}
        for name, cls in ev.EVENT_TYPES.items():
            recorded = schema.get(name)
            if recorded is None:
                continue
            self.by_name[name] = self._for_class(cls, list(recorded))

    def _conv(self, tp) -> Callable:
        if tp is int:
            return _int
        if tp is str:
            return _str
        if tp is bool:
            return _bool
        if tp is float:
            return _float
        if typing.get_origin(tp) is tuple:
            args = typing.get_args(tp)
            if len(args) == 2 and args[1] is Ellipsis:
                inner = self._conv(args[0])
                return lambda v: tuple([inner(x) for x in _seq(v)])
            convs = [self._conv(a) for a in args]
            n = len(convs)

            def fixed(v):
                if len(_seq(v)) != n:
                    raise _Bad(f"expected {n} items")
                return tuple([c(x) for c, x in zip(convs, v)])
            return fixed
        if is_dataclass(tp) and tp.__name__ in ev.EVENT_TYPES:
            name = tp.__name__

            def nested(v):
                dec = self.by_name.get(name)
                if dec is None:
                    raise _Bad(f"the capture's schema lacks {name}")
                return dec(v)
            return nested
        raise TypeError(f"capture format cannot hold a field of type {tp!r}")

    def _for_class(self, cls, recorded: list[str]) -> Callable:
        hints = typing.get_type_hints(cls, vars(ev))
        known = {f.name: f for f in fields(cls)}
        plan = []
        for i, fname in enumerate(recorded):
            if fname in known:  # fields the capture has and this version does not are skipped
                conv = self._conv(hints[fname])
                bounds = FIELD_RANGES.get(fname) or (INT_RANGE if hints[fname] is int else None)
                if bounds is not None:
                    conv = _bounded(conv, *bounds, fname)
                plan.append((i, fname, conv))
        for fname, f in known.items():
            if fname not in recorded and f.default is _MISSING and f.default_factory is _MISSING:
                raise CaptureError(f"the capture's {cls.__name__} records lack the field {fname}")
        n = len(recorded)

        def decode(v, offset=0):
            if type(v) is not list or len(v) != n + offset:
                raise _Bad(f"{cls.__name__}: expected {n} fields")
            return cls(**{fname: conv(v[i + offset]) for i, fname, conv in plan})
        return decode


def _no_constant(name):
    raise _Bad(f"{name} is not a number")


def _load_json(line: bytes):
    try:
        text = line.decode("ascii")
        return json.loads(text, parse_constant=_no_constant)
    except _Bad:
        raise
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError, JSONDecodeError, int limits
        raise _Bad(f"not a JSON record ({type(exc).__name__})") from None


class CaptureReader:
    """Reads a capture file: ``header`` at once, ``records()`` streamed.

    The constructor raises CaptureError for a file that is missing, empty,
    foreign, of a newer format or whose header is damaged. ``records()``
    yields events and UserNames in file order; it raises CaptureError on
    damage, and on a capture cut short it stops after the last complete
    frame and appends a message to ``warnings``.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.warnings: list[str] = []
        self.ticks = 0
        self.complete = False  # the End record was read
        self.end: dict = {}
        try:
            self._f = open(path, "rb")  # noqa: SIM115
        except IsADirectoryError:
            raise CaptureError(f"{shown(path)} is a directory, not a capture file") from None
        except OSError as exc:
            raise CaptureError(f"cannot read {shown(path)}: {exc.strerror or exc}") from None
        try:
            self.header = self._read_header()
            self._decoders = _Decoders(self.header.schema)
        except BaseException:
            self._f.close()
            raise

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> "CaptureReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _fail(self, what: str) -> CaptureError:
        return CaptureError(f"{shown(self.path)}: {what}")

    def _read_header(self) -> CaptureHeader:
        try:
            prefix = self._f.read(PREFIX.size)
        except OSError as exc:
            raise self._fail(f"cannot read: {exc.strerror or exc}") from None
        if not prefix:
            raise self._fail("the file is empty: not a ctop-ebpf capture")
        if len(prefix) < PREFIX.size or prefix[:len(MAGIC)] != MAGIC:
            if MAGIC.startswith(prefix[:len(MAGIC)]):
                raise self._fail("the capture is cut off inside its header")
            raise self._fail("not a ctop-ebpf capture file (unknown format)")
        _, version, length = PREFIX.unpack(prefix)
        if version > FORMAT_VERSION:
            raise self._fail(
                f"the capture is in format version {version}, newer than this ctop-ebpf reads "
                f"(format {FORMAT_VERSION}): replay it with a newer ctop-ebpf")
        if version < 1:
            raise self._fail(f"unknown capture format version {version}")
        if length > MAX_HEADER:
            raise self._fail("the capture header is damaged (impossible length)")
        body = self._f.read(length)
        crc = self._f.read(CRC.size)
        if len(body) < length or len(crc) < CRC.size:
            raise self._fail("the capture is cut off inside its header")
        if CRC.unpack(crc)[0] != zlib.crc32(body):
            raise self._fail("the capture header is damaged (checksum mismatch)")
        try:
            raw = _load_json(body)
        except _Bad:
            raise self._fail("the capture header is damaged (not JSON)") from None
        try:
            return self._check_header(raw, version)
        except _Bad as exc:
            raise self._fail(f"the capture header is damaged ({exc})") from None

    @staticmethod
    def _check_header(raw, version: int) -> CaptureHeader:
        if type(raw) is not dict:
            raise _Bad("not an object")
        if raw.get("format") != version:
            raise _Bad("format versions disagree")
        if raw.get("compression", "zlib") != "zlib":
            raise _Bad(f"unknown compression {shown(raw.get('compression'))}")

        def text(key):
            v = raw.get(key, "")
            return _str(v)

        schema = raw.get("schema")
        if type(schema) is not dict or not schema:
            raise _Bad("no schema")
        for name, names in schema.items():
            if type(names) is not list or not all(type(n) is str for n in names):
                raise _Bad(f"bad schema for {shown(name)}")
            if len(set(names)) != len(names):
                raise _Bad(f"repeated field in the schema of {shown(name)}")
        extra = raw.get("extra", {})
        if type(extra) is not dict:
            raise _Bad("extra is not an object")
        return CaptureHeader(
            format=version, tool_version=text("tool_version"), host=text("host"),
            kernel=text("kernel"), arch=text("arch"),
            start_wall=_bounded(_float, *FIELD_RANGES["wall"], "start_wall")(raw.get("start_wall", 0.0)),
            interval_s=_bounded(_float, *FIELD_RANGES["interval_s"], "interval_s")(
                raw.get("interval_s", 0.0)),
            extra=extra, schema=schema,
        )

    # -- frames --

    def _frames(self) -> Iterator[tuple[int, bytes]]:
        """(offset, payload) of each complete frame; records a warning at a cut."""
        f = self._f
        while True:
            offset = f.tell()
            head = f.read(FRAME.size)
            if not head:
                return
            if len(head) < FRAME.size:
                self._cut(offset)
                return
            length, crc = FRAME.unpack(head)
            if length == 0 and head == b"\0" * FRAME.size and self._zeros_to_end():
                # a crash can leave the file longer than what reached the disk, zero-filled
                self._cut(offset)
                return
            if not 0 < length <= MAX_FRAME:
                raise self._fail(f"damaged at byte {offset} (impossible frame length)")
            payload = f.read(length)
            if len(payload) < length:
                self._cut(offset)
                return
            if zlib.crc32(payload) != crc:
                raise self._fail(f"damaged at byte {offset} (checksum mismatch)")
            yield offset, payload

    def _zeros_to_end(self) -> bool:
        pos = self._f.tell()
        try:
            while chunk := self._f.read(_CHUNK):
                if chunk.count(0) != len(chunk):
                    return False
            return True
        finally:
            self._f.seek(pos)

    def _cut(self, offset: int) -> None:
        self.warnings.append(
            f"{shown(self.path)} is cut off at byte {offset} (the recording did not finish): "
            f"replaying the {self.ticks} complete ticks before it")

    def _lines(self) -> Iterator[tuple[int, bytes]]:
        d = zlib.decompressobj(15)
        parts: list[bytes] = []  # the pieces of the line not ended yet
        partial = 0
        for offset, payload in self._frames():
            if d.eof:
                raise self._fail(f"damaged at byte {offset} (data after the end of the stream)")
            data = payload
            while data:
                try:
                    out = d.decompress(data, _CHUNK)
                except zlib.error:
                    raise self._fail(f"damaged at byte {offset} (bad compressed data)") from None
                data = d.unconsumed_tail
                if d.eof and d.unused_data:
                    raise self._fail(f"damaged at byte {offset} (data after the end of the stream)")
                if b"\n" in out:
                    lines = out.split(b"\n")
                    if parts:
                        parts.append(lines[0])
                        lines[0] = b"".join(parts)
                    for line in lines[:-1]:
                        yield offset, line
                    parts, partial = [lines[-1]], len(lines[-1])
                elif out:
                    parts.append(out)
                    partial += len(out)
                if partial > MAX_RECORD:
                    raise self._fail(f"damaged at byte {offset} (a record longer than "
                                     f"{MAX_RECORD >> 20} MiB)")
        # at a cut, a partial last line is dropped with its frame

    def records(self) -> Iterator[object]:
        """Events (model.events) and UserNames, in order."""
        decoders = self._decoders.by_name
        for offset, line in self._lines():
            if self.complete:
                raise self._fail(f"damaged at byte {offset} (records after the end record)")
            try:
                rec = _load_json(line)
                if type(rec) is not list or not rec or type(rec[0]) is not str:
                    raise _Bad("not a record")
                tag = rec[0]
                if tag in TOP_LEVEL:
                    dec = decoders.get(tag)
                    if dec is None:
                        raise _Bad(f"{tag} is not in the capture's schema")
                    event = dec(rec, 1)
                    if tag == "Tick":
                        self.ticks += 1
                    yield event
                elif tag == "Users":
                    if len(rec) != 2:
                        raise _Bad("bad Users record")
                    pairs = []
                    for pair in _seq(rec[1]):
                        if len(_seq(pair)) != 2:
                            raise _Bad("bad Users record")
                        pairs.append((_int(pair[0]), _str(pair[1])))
                    yield UserNames(tuple(pairs))
                elif tag == "End":
                    if len(rec) != 2 or type(rec[1]) is not dict:
                        raise _Bad("bad End record")
                    self.end = rec[1]
                    self.complete = True
                else:
                    raise _Bad(f"unknown record type {shown(tag)[:40]}")
            except _Bad as exc:
                raise self._fail(f"damaged at byte {offset} ({exc})") from None
        if not self.complete and not self.warnings:
            self.warnings.append(
                f"{shown(self.path)} has no end record (the recording was interrupted): "
                f"replayed its {self.ticks} complete ticks")
