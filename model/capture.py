"""Capture files: record the event stream of a run, read it back anywhere.

A capture holds exactly what the model was fed (model.events), so replaying
it through the same SystemState and views rebuilds every view of the live run.
Plain Python standard library only.

File layout (all integers big-endian)::

    magic           9 bytes   b"\\x89CTOP\\r\\n\\x1a\\n" (PNG-style: catches text-mode mangling)
    format version  u16       FORMAT_VERSION
    header length   u32       N (at most MAX_HEADER)
    header          N bytes   one JSON object, ASCII (see CaptureHeader)
    header crc32    u32       zlib.crc32 of the N header bytes
    frames          ...       until end of file

    frame:  u32 payload length (1..MAX_FRAME), u32 crc32 of the payload, payload

The payloads of all frames, concatenated, are one zlib stream (RFC 1950).
Decompressed it is JSON lines, ASCII only (``ensure_ascii``: surrogate-
escaped bytes from ``os.fsdecode`` travel as ``\\udcXX`` escapes and come
back exactly). Each line is one record, a JSON array whose first item is
a tag:

    ["Open", ts, pid, ...]   an event of model.events, its fields in the
                             order the header's ``schema`` lists for it;
                             nested dataclasses (FdSnapshot in
                             ProcSnapshot.fds, SyscallStat ... in Tick) are
                             arrays in the same way, tuples are arrays
    ["Users", [[uid, name], ...]]
                             user names, written before the first record
                             that needs them (a replay shows the names of
                             the recording host)
    ["End", {"ticks": n, "wall": t}]
                             the last record of a finalised capture

The writer flushes the compressor (Z_SYNC_FLUSH) and writes a frame at each
Tick, so a capture cut off by a crash or a full disk holds every tick up to
the last complete frame; the reader replays those and reports the cut with
a warning. A frame whose checksum or content is wrong is damage: the reader
raises CaptureError. So do an empty file, a foreign file, a header it cannot
read and a newer format version. Nothing read from a capture is executed or
evaluated: records are decoded field by field against the types of
model.events, and anything else is rejected.
"""

from __future__ import annotations

import json
import operator
import os
import platform
import re
import socket
import stat
import struct
import time
import typing
import zlib
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields, is_dataclass
from dataclasses import MISSING as _MISSING

from . import events as ev

MAGIC = b"\x89CTOP\r\n\x1a\n"
FORMAT_VERSION = 1
_PREFIX = struct.Struct(">9sHI")
_FRAME = struct.Struct(">II")
_CRC = struct.Struct(">I")
MAX_HEADER = 1 << 20
MAX_FRAME = 64 << 20  # compressed bytes in one frame
MAX_RECORD = 256 << 20  # decompressed bytes in one record (line)
FRAME_SPLIT = 1 << 20  # the writer starts a new frame past this many compressed bytes
_CHUNK = 1 << 20  # decompression step
FILE_MODE = 0o600

# The event types that may stand at the top level of a capture: model.events.Event.
TOP_LEVEL = tuple(cls.__name__ for cls in typing.get_args(ev.Event))
assert all(ev.EVENT_TYPES.get(name) is cls for name, cls in zip(TOP_LEVEL, typing.get_args(ev.Event)))


class CaptureError(Exception):
    """A capture cannot be read or written. ``str(err)`` is the message for a person."""


class CaptureWriteError(CaptureError):
    """Writing the capture failed while recording (disk full, I/O error)."""


@dataclass(frozen=True, slots=True)
class UserNames:
    """The ``Users`` record: uid → login name on the recording host."""

    names: tuple[tuple[int, str], ...]


@dataclass(frozen=True, slots=True)
class CaptureHeader:
    format: int
    tool_version: str
    host: str
    kernel: str
    arch: str
    start_wall: float
    interval_s: float
    extra: dict = field(default_factory=dict)
    schema: dict = field(default_factory=dict)


def shown(text: object) -> str:
    """Text from a file name or a capture made safe to print in a message."""
    text = str(text)
    return text if text.isprintable() else ascii(text)


# ---- encoding ----------------------------------------------------------------

_SCHEMA: dict[str, tuple[str, ...]] = {
    name: tuple(f.name for f in fields(cls)) for name, cls in ev.EVENT_TYPES.items()
}


def _encoder_for(cls) -> Callable:
    """obj -> its field values in schema order, nested dataclasses as lists (JSON-ready)."""
    hints = typing.get_type_hints(cls, vars(ev))
    names = _SCHEMA[cls.__name__]
    nested = {}
    for i, n in enumerate(names):
        args = typing.get_args(hints[n]) if typing.get_origin(hints[n]) is tuple else ()
        if args and is_dataclass(args[0]):
            nested[i] = _encoder_for(args[0])
    getter = operator.attrgetter(*names)
    if len(names) == 1:
        return lambda o: (getter(o),)
    if not nested:
        return getter  # a tuple: JSON writes it as an array, tuples inside it too
    items = tuple(nested.items())

    def encode(o):
        values = list(getter(o))
        for i, sub in items:
            values[i] = [sub(x) for x in values[i]]
        return values
    return encode


_ENCODERS: dict[type, tuple[str, Callable]] = {
    ev.EVENT_TYPES[n]: (n, _encoder_for(ev.EVENT_TYPES[n])) for n in TOP_LEVEL
}
_dumps = json.JSONEncoder(ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode


def encode_event(event) -> str:
    """One event as its record line (without the newline)."""
    try:
        name, enc = _ENCODERS[type(event)]
    except KeyError:
        raise TypeError(f"not a top-level event: {type(event).__name__}") from None
    return _dumps([name, *enc(event)])


# ---- decoding ----------------------------------------------------------------


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


# ---- writing -----------------------------------------------------------------


def create_exclusive(path: str, force: bool = False) -> int:
    """Create ``path`` for writing with mode 0600; refuse to replace unless ``force``.

    ``force`` replaces a regular file (or a symbolic link, not what it points to);
    anything else in the way (a directory, a device, a FIFO) is refused.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for attempt in (0, 1):
        try:
            fd = os.open(path, flags, FILE_MODE)
        except FileExistsError:
            if not force or attempt:
                raise CaptureError(
                    f"{shown(path)} already exists: pass --force to overwrite it") from None
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise CaptureError(f"cannot replace {shown(path)}: {exc.strerror}") from None
            if not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)):
                what = "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file"
                raise CaptureError(f"{shown(path)} is {what}: not replacing it") from None
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise CaptureError(f"cannot replace {shown(path)}: {exc.strerror}") from None
            continue
        except OSError as exc:
            raise CaptureError(
                f"cannot create capture file {shown(path)}: {exc.strerror or exc}") from None
        try:
            os.fchmod(fd, FILE_MODE)  # whatever the umask
        except OSError:
            pass
        return fd
    raise CaptureError(f"cannot create capture file {shown(path)}")  # pragma: no cover


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


class CaptureWriter:
    """Streams batches of events into a capture file (see the module docstring).

    ``write_batch`` is the ``on_batch`` hook of run_pipeline; every Tick ends a
    frame that goes to the kernel at once, so memory stays flat and a crash
    loses at most the current tick. ``close`` finalises the file (idempotent).
    """

    def __init__(self, fd: int, path: str, header: dict,
                 user_name: Callable[[int], str] | None = None) -> None:
        if user_name is None:
            from .procfs import user_name  # noqa: PLC0415  (host passwd; stdlib only)
        self.path = path
        self.header = header
        self.ticks = 0
        self.bytes_written = 0
        self._fd: int | None = fd
        self._user_name = user_name
        self._uids: set[int] = set()
        self._zip = zlib.compressobj(6, zlib.DEFLATED, 15, 9)
        self._pending: list[bytes] = []
        self._pending_len = 0
        self._failed = False
        self._write_header()

    @classmethod
    def create(cls, path: str, *, tool_version: str, force: bool = False,
               interval_s: float = 0.0, user_name: Callable[[int], str] | None = None,
               host: str | None = None, kernel: str | None = None,
               start_wall: float | None = None, extra: dict | None = None) -> "CaptureWriter":
        """Create ``path`` (mode 0600, O_EXCL) and write the header; CaptureError if it cannot."""
        fd = create_exclusive(path, force)
        uname = os.uname()
        header = {
            "magic": "ctop-ebpf capture",
            "format": FORMAT_VERSION,
            "tool": "ctop-ebpf",
            "tool_version": str(tool_version),
            "host": host if host is not None else socket.gethostname(),
            "kernel": kernel if kernel is not None else uname.release,
            "arch": platform.machine() or uname.machine,
            "start_wall": time.time() if start_wall is None else float(start_wall),
            "interval_s": float(interval_s),
            "compression": "zlib",
            "extra": dict(extra or {}),
            "schema": {name: list(names) for name, names in _SCHEMA.items()},
        }
        try:
            return cls(fd, path, header, user_name)
        except BaseException:
            os.close(fd)
            try:
                os.unlink(path)
            except OSError:
                pass
            raise

    @property
    def closed(self) -> bool:
        return self._fd is None

    def _write(self, data: bytes) -> None:
        if self._fd is None:
            raise CaptureWriteError(f"capture {shown(self.path)} is closed")
        try:
            _write_all(self._fd, data)
        except OSError as exc:
            self._failed = True
            raise CaptureWriteError(
                f"writing the capture {shown(self.path)} failed: {exc.strerror or exc}; "
                f"it holds the {self.ticks} ticks recorded before") from None
        self.bytes_written += len(data)

    def _write_header(self) -> None:
        body = _dumps(self.header).encode("ascii")
        self._write(_PREFIX.pack(MAGIC, FORMAT_VERSION, len(body)) + body
                    + _CRC.pack(zlib.crc32(body)))

    def _add(self, line: str) -> None:
        self._add_lines([line])

    def _add_lines(self, lines: list[str]) -> None:
        lines.append("")
        out = self._zip.compress("\n".join(lines).encode("ascii"))
        if out:
            self._pending.append(out)
            self._pending_len += len(out)
            if self._pending_len >= FRAME_SPLIT:
                self._frame(zlib.Z_NO_FLUSH)

    def _frame(self, mode: int) -> None:
        if mode != zlib.Z_NO_FLUSH:
            tail = self._zip.flush(mode)
            if tail:
                self._pending.append(tail)
        payload = b"".join(self._pending)
        self._pending, self._pending_len = [], 0
        while payload:
            part, payload = payload[:MAX_FRAME], payload[MAX_FRAME:]
            self._write(_FRAME.pack(len(part), zlib.crc32(part)) + part)

    def _users(self, uids: Iterable[int]) -> None:
        new = sorted({u for u in uids if u >= 0 and u not in self._uids})
        if not new:
            return
        pairs = []
        for uid in new:
            try:
                name = str(self._user_name(uid))
            except Exception:  # noqa: BLE001  a lookup failure records the number
                name = str(uid)
            pairs.append([uid, name])
            self._uids.add(uid)
        self._add(_dumps(["Users", pairs]))

    def write_batch(self, batch: Sequence[object]) -> None:
        """Record one batch; a Tick in it ends a frame written to the file at once."""
        if self._fd is None:
            raise CaptureWriteError(f"capture {shown(self.path)} is closed")
        uids = [e.uid for e in batch if type(e) is ev.ProcSnapshot or type(e) is ev.Exec]
        if uids:
            self._users(uids)
        lines: list[str] = []
        for e in batch:
            try:
                name, enc = _ENCODERS[type(e)]
            except KeyError:
                self._failed = True
                raise CaptureWriteError(
                    f"cannot record a {shown(type(e).__name__)} in {shown(self.path)}: not an "
                    f"event of model.events.Event") from None
            lines.append(_dumps([name, *enc(e)]))
            if name == "Tick":
                self._add_lines(lines)
                lines = []
                self.ticks += 1
                self._frame(zlib.Z_SYNC_FLUSH)
        if lines:
            self._add_lines(lines)

    def close(self) -> None:
        """Write the end record and close the file. Safe to call twice, or after a failure."""
        if self._fd is None:
            return
        try:
            if not self._failed:
                self._add(_dumps(["End", {"ticks": self.ticks, "wall": time.time()}]))
                self._frame(zlib.Z_FINISH)
        finally:
            fd, self._fd = self._fd, None
            os.close(fd)

    def discard(self) -> None:
        """Close and remove the file (nothing worth keeping was recorded)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)
        try:
            os.unlink(self.path)
        except OSError:
            pass

    def __enter__(self) -> "CaptureWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class RecordingSource:
    """An EventSource that records every batch of another one before passing it on."""

    def __init__(self, inner, writer: CaptureWriter) -> None:
        self.inner = inner
        self.writer = writer
        self._recorded = 0

    def __getattr__(self, name):  # progress, interval ... of the live source
        return getattr(self.inner, name)

    async def events(self) -> AsyncIterator[Sequence[object]]:
        try:
            async for batch in self.inner.events():
                self.writer.write_batch(batch)
                self._recorded += 1
                yield batch
        except BaseException:
            if self._recorded == 0:  # the source failed before anything was recorded
                self.writer.discard()
            raise

    async def aclose(self) -> None:
        try:
            self.writer.close()
        finally:
            await self.inner.aclose()


# ---- reading -----------------------------------------------------------------


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
            prefix = self._f.read(_PREFIX.size)
        except OSError as exc:
            raise self._fail(f"cannot read: {exc.strerror or exc}") from None
        if not prefix:
            raise self._fail("the file is empty: not a ctop-ebpf capture")
        if len(prefix) < _PREFIX.size or prefix[:len(MAGIC)] != MAGIC:
            if MAGIC.startswith(prefix[:len(MAGIC)]):
                raise self._fail("the capture is cut off inside its header")
            raise self._fail("not a ctop-ebpf capture file (unknown format)")
        _, version, length = _PREFIX.unpack(prefix)
        if version > FORMAT_VERSION:
            raise self._fail(
                f"the capture is in format version {version}, newer than this ctop-ebpf reads "
                f"(format {FORMAT_VERSION}): replay it with a newer ctop-ebpf")
        if version < 1:
            raise self._fail(f"unknown capture format version {version}")
        if length > MAX_HEADER:
            raise self._fail("the capture header is damaged (impossible length)")
        body = self._f.read(length)
        crc = self._f.read(_CRC.size)
        if len(body) < length or len(crc) < _CRC.size:
            raise self._fail("the capture is cut off inside its header")
        if _CRC.unpack(crc)[0] != zlib.crc32(body):
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
            head = f.read(_FRAME.size)
            if not head:
                return
            if len(head) < _FRAME.size:
                self._cut(offset)
                return
            length, crc = _FRAME.unpack(head)
            if length == 0 and head == b"\0" * _FRAME.size and self._zeros_to_end():
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


def read_events(path: str) -> tuple[CaptureHeader, list[object], list[str]]:
    """Everything in a (small) capture at once: header, records, warnings. For tests and tools."""
    with CaptureReader(path) as r:
        recs = list(r.records())
        return r.header, recs, r.warnings


__all__ = [
    "CaptureError", "CaptureHeader", "CaptureReader", "CaptureWriteError", "CaptureWriter",
    "FORMAT_VERSION", "MAGIC", "RecordingSource", "UserNames", "create_exclusive",
    "encode_event", "read_events", "shown",
]
