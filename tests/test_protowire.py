"""The hand-written protobuf codec, on bytes made by hand (the examples of the
protobuf encoding guide, worked out byte by byte) and on garbage."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ctop_ebpf.probes.containers.cri import _container, _pod
from ctop_ebpf.probes.containers.protowire import (
    Message,
    WireError,
    Writer,
    decode_varint,
    encode_varint,
)


def test_varints():
    assert encode_varint(0) == b"\x00"
    assert encode_varint(1) == b"\x01"
    assert encode_varint(150) == b"\x96\x01"
    assert encode_varint(300) == b"\xac\x02"
    assert encode_varint(-1) == b"\xff" * 9 + b"\x01"  # int64 -1: ten bytes
    assert decode_varint(b"\x96\x01", 0) == (150, 2)
    assert decode_varint(b"\xff" * 9 + b"\x01", 0) == ((1 << 64) - 1, 10)
    with pytest.raises(WireError):
        decode_varint(b"\x96", 0)  # continuation bit, then nothing
    with pytest.raises(WireError):
        decode_varint(b"\xff" * 10 + b"\x01", 0)  # eleven bytes
    with pytest.raises(ValueError):
        encode_varint(1 << 64)


def test_writer_matches_hand_made_bytes():
    # field 1 = 150 (varint): 08 96 01; field 2 = "testing": 12 07 74 65 73 74 69 6e 67
    assert Writer().varint(1, 150).done() == bytes.fromhex("089601")
    assert Writer().string(2, "testing").done() == bytes.fromhex("120774657374696e67")
    # field 3 = a message holding field 1 = 150: 1a 03 08 96 01
    assert Writer().message(3, Writer().varint(1, 150)).done() == bytes.fromhex("1a03089601")
    # proto3: zero values are not written; an empty nested message is
    assert Writer().varint(1, 0).string(2, "").boolean(3, False).done() == b""
    assert Writer().message(4, Writer()).done() == b"\x22\x00"
    # map<string,string> {"a": "b"} as field 6: entries with key 1, value 2
    assert Writer().string_map(6, {"a": "b"}).done() == bytes.fromhex("3206") + bytes.fromhex("0a0161120162")
    assert Writer().strings(3, ["x", "y"]).done() == bytes.fromhex("1a01781a0179")


def test_parse_hand_made_message():
    data = bytes.fromhex("089601" "120774657374696e67" "1a03089601" "3206" "0a0161120162"
                         "3206" "0a0163120164" "5501000000" "590200000000000000")
    m = Message.parse(data)
    assert m.integer(1) == 150
    assert m.string(2) == "testing"
    assert m.message(3).integer(1) == 150
    assert m.string_map(6) == {"a": "b", "c": "d"}
    assert m.fields[10] == [(5, 1)] and m.fields[11] == [(1, 2)]  # fixed32, fixed64
    assert m.string(9) == "" and m.integer(9) == 0 and not m.has(9)
    assert m.message(9).string(1) == ""  # absent nested message: empty
    assert Message.parse(Writer().varint(1, -5).done()).integer(1) == -5


def test_last_value_wins_and_invalid_utf8_is_replaced():
    m = Message.parse(Writer().string(1, "a").string(1, "b").done())
    assert m.string(1) == "b" and m.strings(1) == ["a", "b"]
    assert Message.parse(b"\x0a\x02\xff\xfe").string(1) == "\ufffd\ufffd"


@pytest.mark.parametrize("bad", [
    b"\x0a\x05ab",  # length past the end
    b"\x0b",  # group start (wire type 3)
    b"\x0f",  # wire type 7
    b"\x00\x01",  # field number 0
    b"\x09\x01\x02",  # truncated fixed64
    b"\x0d\x01",  # truncated fixed32
    b"\x08",  # key without its value
])
def test_malformed_raises_wire_error(bad):
    with pytest.raises(WireError):
        Message.parse(bad)


def test_wrong_wire_type_for_the_field():
    m = Message.parse(Writer().varint(1, 7).done())
    with pytest.raises(WireError):
        m.string(1)
    with pytest.raises(WireError):
        Message.parse(Writer().string(1, "x").done()).integer(1)


def test_nesting_is_bounded():
    data = b""
    for _ in range(40):
        data = Writer().raw(1, data).done()
    m = Message.parse(data)
    with pytest.raises(WireError):
        for _ in range(40):
            m = m.message(1)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=200))
def test_garbage_only_ever_raises_wire_error(data):
    try:
        m = Message.parse(data)
        for number in list(m.fields):
            for getter in (m.integer, m.string, m.string_map, m.messages):
                try:
                    getter(number)
                except WireError:
                    pass
    except WireError:
        pass


def test_cri_messages_decoded_from_hand_made_bytes():
    """A PodSandbox and a Container as a runtime sends them (field numbers of
    kubernetes/cri-api's api.proto), with fields this client does not read."""
    pod = (Writer().string(1, "sb1")
           .message(2, Writer().string(1, "web-0").string(2, "uid-1").string(3, "shop").varint(4, 2))
           .varint(3, 1)  # SANDBOX_NOTREADY
           .varint(4, 1_700_000_000_000_000_000)
           .string_map(5, {"app": "web"})
           .string_map(6, {"note": "x"})
           .string(7, "runc")).done()
    p = _pod(Message.parse(pod))
    assert (p.id, p.name, p.uid, p.namespace, p.state, p.labels) == (
        "sb1", "web-0", "uid-1", "shop", "exited", (("app", "web"),))
    ctr = (Writer().string(1, "c1").string(2, "sb1")
           .message(3, Writer().string(1, "nginx").varint(2, 3))
           .message(4, Writer().string(1, "sha256:" + "a" * 64).string(18, "nginx:1.25"))
           .string(5, "sha256:" + "b" * 64).varint(6, 1).varint(7, 5)
           .string_map(8, {"io.kubernetes.container.name": "nginx"})
           .string(10, "img")).done()
    c = _container(Message.parse(ctr))
    assert (c.id, c.pod_sandbox_id, c.name, c.image, c.state) == ("c1", "sb1", "nginx", "sha256:" + "a" * 64,
                                                                   "running")
    assert c.labels == (("io.kubernetes.container.name", "nginx"),)
