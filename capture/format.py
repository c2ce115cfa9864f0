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
import struct
import typing
from collections.abc import Callable
from dataclasses import dataclass, field, fields, is_dataclass

from ctop_ebpf.model import events as ev

MAGIC = b"\x89CTOP\r\n\x1a\n"
FORMAT_VERSION = 1
PREFIX = struct.Struct(">9sHI")
FRAME = struct.Struct(">II")
CRC = struct.Struct(">I")
MAX_HEADER = 1 << 20
MAX_FRAME = 64 << 20  # compressed bytes in one frame
MAX_RECORD = 256 << 20  # decompressed bytes in one record (line)
FRAME_SPLIT = 1 << 20  # the writer starts a new frame past this many compressed bytes
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

SCHEMA: dict[str, tuple[str, ...]] = {
    name: tuple(f.name for f in fields(cls)) for name, cls in ev.EVENT_TYPES.items()
}


def _encoder_for(cls) -> Callable:
    """obj -> its field values in schema order, nested dataclasses as lists (JSON-ready)."""
    hints = typing.get_type_hints(cls, vars(ev))
    names = SCHEMA[cls.__name__]
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


ENCODERS: dict[type, tuple[str, Callable]] = {
    ev.EVENT_TYPES[n]: (n, _encoder_for(ev.EVENT_TYPES[n])) for n in TOP_LEVEL
}
dumps = json.JSONEncoder(ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode


def encode_event(event) -> str:
    """One event as its record line (without the newline)."""
    try:
        name, enc = ENCODERS[type(event)]
    except KeyError:
        raise TypeError(f"not a top-level event: {type(event).__name__}") from None
    return dumps([name, *enc(event)])


__all__ = [
    "CaptureError", "CaptureHeader", "CaptureWriteError", "FORMAT_VERSION", "MAGIC", "UserNames",
    "encode_event", "shown",
]
