"""The protobuf wire format, by hand: just what the runtime clients need.

A message on the wire is a sequence of fields, each a key (``number << 3 |
wire type``, a varint) and a value: wire type 0 a varint, 1 eight bytes,
2 a length-prefixed byte string (strings, bytes, nested messages, packed
repeated numbers, and each entry of a map, which is a nested message with
the key as field 1 and the value as field 2), 5 four bytes. Groups (3, 4)
are obsolete and refused.

``Writer`` builds a request field by field (proto3: zero values are left
out); ``Message.parse`` splits a reply into its fields and the typed getters
read them (a field repeated where one was expected: the last wins, as in
protobuf). Replies come from another program: anything malformed raises
``WireError``, never anything else, and text is decoded with replacement
characters, so a runtime's bytes cannot break or smuggle anything.
"""

from __future__ import annotations

import struct

__all__ = ["Message", "WireError", "Writer", "decode_varint", "encode_varint"]

VARINT, I64, LEN, I32 = 0, 1, 2, 5
MAX_DEPTH = 32  # nested messages followed by the getters (a reply is never deeper)


class WireError(ValueError):
    """Bytes that are not a well-formed protobuf message."""


def encode_varint(value: int) -> bytes:
    """Base-128 varint; negative numbers as their 64-bit two's complement (int64)."""
    if value < 0:
        value += 1 << 64
    if not 0 <= value < 1 << 64:
        raise ValueError(f"varint out of range: {value}")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def decode_varint(data: bytes | memoryview, pos: int) -> tuple[int, int]:
    """(value, position after it); at most 10 bytes, as protobuf allows."""
    result = shift = 0
    end = len(data)
    for i in range(10):
        if pos >= end:
            raise WireError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            if i == 9 and byte > 1:
                raise WireError("varint longer than 64 bits")
            return result, pos
        shift += 7
    raise WireError("varint longer than 10 bytes")


class Writer:
    """A message being built: ``Writer().string(1, "id").boolean(2, True).done()``."""

    __slots__ = ("_parts",)

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def _key(self, number: int, wire: int) -> None:
        if not 1 <= number < 1 << 29:
            raise ValueError(f"bad field number {number}")
        self._parts.append(encode_varint(number << 3 | wire))

    def varint(self, number: int, value: int) -> "Writer":
        if value:
            self._key(number, VARINT)
            self._parts.append(encode_varint(int(value)))
        return self

    def boolean(self, number: int, value: bool) -> "Writer":
        return self.varint(number, 1 if value else 0)

    def raw(self, number: int, value: bytes) -> "Writer":
        """A length-delimited field, written even when empty (an empty nested message
        is not the same as an absent one)."""
        self._key(number, LEN)
        self._parts.append(encode_varint(len(value)))
        self._parts.append(bytes(value))
        return self

    def string(self, number: int, value: str) -> "Writer":
        if value:
            self.raw(number, value.encode("utf-8"))
        return self

    def strings(self, number: int, values) -> "Writer":
        for v in values:
            self.raw(number, v.encode("utf-8"))
        return self

    def message(self, number: int, value: "Writer | bytes | None") -> "Writer":
        if value is not None:
            self.raw(number, value.done() if isinstance(value, Writer) else value)
        return self

    def string_map(self, number: int, mapping: dict[str, str] | None) -> "Writer":
        for k, v in sorted((mapping or {}).items()):
            self.raw(number, Writer().string(1, k).string(2, v).done())
        return self

    def done(self) -> bytes:
        return b"".join(self._parts)


class Message:
    """The fields of one parsed message: number -> list of (wire type, value)."""

    __slots__ = ("fields", "depth")

    def __init__(self, fields: dict[int, list[tuple[int, object]]], depth: int = 0) -> None:
        self.fields = fields
        self.depth = depth

    @classmethod
    def parse(cls, data: bytes | memoryview, depth: int = 0) -> "Message":
        if depth > MAX_DEPTH:
            raise WireError("messages nested too deeply")
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise WireError(f"expected bytes, got {type(data).__name__}")
        view = memoryview(data)
        fields: dict[int, list[tuple[int, object]]] = {}
        pos, end = 0, len(view)
        while pos < end:
            key, pos = decode_varint(view, pos)
            number, wire = key >> 3, key & 7
            if number == 0:
                raise WireError("field number 0")
            if wire == VARINT:
                value, pos = decode_varint(view, pos)
            elif wire == LEN:
                size, pos = decode_varint(view, pos)
                if size > end - pos:
                    raise WireError("length-delimited field runs past the end")
                value = view[pos:pos + size]
                pos += size
            elif wire == I64:
                if end - pos < 8:
                    raise WireError("truncated 64-bit field")
                value = struct.unpack_from("<Q", view, pos)[0]
                pos += 8
            elif wire == I32:
                if end - pos < 4:
                    raise WireError("truncated 32-bit field")
                value = struct.unpack_from("<I", view, pos)[0]
                pos += 4
            else:
                raise WireError(f"unsupported wire type {wire} (field {number})")
            fields.setdefault(number, []).append((wire, value))
        return cls(fields, depth)

    def _all(self, number: int, wire: int) -> list:
        out = []
        for w, v in self.fields.get(number, ()):
            if w != wire:
                raise WireError(f"field {number} has wire type {w}, expected {wire}")
            out.append(v)
        return out

    def has(self, number: int) -> bool:
        return number in self.fields

    def integer(self, number: int, signed: bool = True) -> int:
        """An int32/int64/uint32/enum/bool field (0 when absent)."""
        values = self._all(number, VARINT)
        if not values:
            return 0
        v = values[-1]
        return v - (1 << 64) if signed and v >= 1 << 63 else v

    def boolean(self, number: int) -> bool:
        return bool(self.integer(number, signed=False))

    def raw(self, number: int) -> bytes:
        values = self._all(number, LEN)
        return bytes(values[-1]) if values else b""

    def string(self, number: int) -> str:
        return self.raw(number).decode("utf-8", "replace")

    def strings(self, number: int) -> list[str]:
        return [bytes(v).decode("utf-8", "replace") for v in self._all(number, LEN)]

    def message(self, number: int) -> "Message":
        """A nested message (an empty one when absent)."""
        values = self._all(number, LEN)
        return Message.parse(values[-1], self.depth + 1) if values else Message({}, self.depth + 1)

    def messages(self, number: int) -> list["Message"]:
        return [Message.parse(v, self.depth + 1) for v in self._all(number, LEN)]

    def string_map(self, number: int) -> dict[str, str]:
        """A ``map<string, string>`` field (a later entry for a key wins)."""
        out: dict[str, str] = {}
        for entry in self.messages(number):
            out[entry.string(1)] = entry.string(2)
        return out
