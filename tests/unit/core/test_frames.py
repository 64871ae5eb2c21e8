"""The wire protocol, sans I/O: every bad frame becomes a ProtocolError with the right code."""

from __future__ import annotations

from typing import Any

import msgpack
import orjson
import pytest

from chatserver.core import frames
from chatserver.core.frames import (
    AGENT_FRAMES,
    MAX_ID_CHARS,
    MAX_TEXT_CHARS,
    SHOPPER_FRAMES,
    ErrorCode,
    ProtocolError,
)


def parse_json(value: Any, specs: dict[str, Any] = SHOPPER_FRAMES) -> frames.Frame:
    return frames.parse(orjson.dumps(value), False, specs)


def refused(value: Any, specs: dict[str, Any] = SHOPPER_FRAMES) -> ProtocolError:
    with pytest.raises(ProtocolError) as info:
        parse_json(value, specs)
    return info.value


MESSAGE = {"type": "message", "conversation_id": "c1", "client_msg_id": "m1", "text": "Hello"}


def test_valid_message_frame_is_parsed_with_its_fields() -> None:
    frame = parse_json(MESSAGE)
    assert frame.type == "message"
    assert frame.data == {"conversation_id": "c1", "client_msg_id": "m1", "text": "Hello"}
    assert frame["text"] == "Hello"
    assert frame.get("missing", "default") == "default"


def test_unknown_fields_are_dropped_from_the_parsed_frame() -> None:
    frame = parse_json({**MESSAGE, "admin": True})
    assert "admin" not in frame.data


@pytest.mark.parametrize(
    "raw", [b"{", b"not json", b"", b"\xff\xfe", "{'type': 'ping'}", b'{"type": "ping"} x']
)
def test_malformed_json_is_a_bad_frame(raw: str | bytes) -> None:
    with pytest.raises(ProtocolError) as info:
        frames.parse(raw, False, SHOPPER_FRAMES)
    assert info.value.code is ErrorCode.BAD_FRAME
    assert "JSON" in info.value.message


@pytest.mark.parametrize("value", [[1, 2], "ping", 3, None, True])
def test_json_that_is_not_an_object_is_a_bad_frame(value: Any) -> None:
    assert refused(value).code is ErrorCode.BAD_FRAME


@pytest.mark.parametrize(
    "raw",
    [b"\x81", b"\xc1", b"\x93\x01", b"\x81\x01\x02", b"\x80\x80", "text, not bytes"],
)
def test_malformed_msgpack_is_a_bad_frame(raw: str | bytes) -> None:
    with pytest.raises(ProtocolError) as info:
        frames.parse(raw, True, SHOPPER_FRAMES)
    assert info.value.code is ErrorCode.BAD_FRAME
    assert "msgpack" in info.value.message


def test_msgpack_that_is_not_a_map_is_a_bad_frame() -> None:
    with pytest.raises(ProtocolError) as info:
        frames.parse(msgpack.packb([1, 2]), True, SHOPPER_FRAMES)
    assert info.value.code is ErrorCode.BAD_FRAME


def test_unknown_type_is_refused_and_the_echo_is_bounded() -> None:
    error = refused({"type": "x" * 500})
    assert error.code is ErrorCode.UNKNOWN_TYPE
    assert len(error.message) < 80


def test_agent_frames_are_unknown_to_a_shopper() -> None:
    frame = {"type": "capacity", "capacity": 2}
    assert refused(frame).code is ErrorCode.UNKNOWN_TYPE
    assert parse_json(frame, AGENT_FRAMES)["capacity"] == 2


@pytest.mark.parametrize("value", [{}, {"type": None}, {"type": 7}, {"kind": "ping"}])
def test_frame_without_a_string_type_is_missing_its_type(value: dict[str, Any]) -> None:
    error = refused(value)
    assert error.code is ErrorCode.MISSING_FIELD
    assert "'type'" in error.message


@pytest.mark.parametrize("field", ["conversation_id", "client_msg_id", "text"])
def test_missing_required_field_is_named(field: str) -> None:
    value = {k: v for k, v in MESSAGE.items() if k != field}
    error = refused(value)
    assert error.code is ErrorCode.MISSING_FIELD
    assert repr(field) in error.message


def test_null_required_field_counts_as_missing() -> None:
    assert refused({**MESSAGE, "text": None}).code is ErrorCode.MISSING_FIELD


def test_optional_field_may_be_absent_or_null() -> None:
    assert parse_json({"type": "close", "conversation_id": "c1"}).data == {"conversation_id": "c1"}
    frame = parse_json({"type": "close", "conversation_id": "c1", "outcome": None})
    assert "outcome" not in frame.data


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"type": "capacity", "capacity": True}, "must be an integer"),
        ({"type": "capacity", "capacity": "2"}, "must be an integer"),
        ({"type": "capacity", "capacity": 2.0}, "must be an integer"),
        ({"type": "typing", "conversation_id": "c1", "typing": 1}, "must be a bool"),
        ({**MESSAGE, "text": 5}, "must be a str"),
        ({"type": "hello", "customer": "id"}, "must be a dict"),
    ],
)
def test_field_of_the_wrong_type_is_invalid(value: dict[str, Any], message: str) -> None:
    error = refused(value, AGENT_FRAMES)
    assert error.code is ErrorCode.INVALID_FIELD
    assert message in error.message


def test_error_of_a_message_refers_to_its_client_msg_id() -> None:
    assert refused({**MESSAGE, "text": 5}).ref == "m1"
    assert refused({**MESSAGE, "client_msg_id": 5}).ref is None


def test_text_up_to_the_limit_is_accepted_and_beyond_it_refused() -> None:
    assert len(parse_json({**MESSAGE, "text": "a" * MAX_TEXT_CHARS})["text"]) == MAX_TEXT_CHARS
    error = refused({**MESSAGE, "text": "a" * (MAX_TEXT_CHARS + 1)})
    assert error.code is ErrorCode.INVALID_FIELD
    assert f"longer than {MAX_TEXT_CHARS}" in error.message


def test_ids_are_bounded_more_tightly_than_text() -> None:
    assert parse_json({**MESSAGE, "conversation_id": "c" * MAX_ID_CHARS})
    error = refused({**MESSAGE, "conversation_id": "c" * (MAX_ID_CHARS + 1)})
    assert error.code is ErrorCode.INVALID_FIELD


@pytest.mark.parametrize("text", ["", " ", "\n\t "])
def test_empty_or_blank_text_is_refused(text: str) -> None:
    error = refused({**MESSAGE, "text": text})
    assert error.code is ErrorCode.INVALID_FIELD
    assert "empty" in error.message


def test_msgpack_frame_parses_like_the_same_json_frame() -> None:
    value = {**MESSAGE, "text": "héllo ✓"}
    binary = frames.parse(msgpack.packb(value), True, SHOPPER_FRAMES)
    assert binary == parse_json(value)


@pytest.mark.parametrize("binary", [False, True])
def test_server_frames_round_trip_through_encode_and_decode(binary: bool) -> None:
    frame = {"type": "message", "id": "1-0", "text": "ünïcode", "n": 3, "ok": True, "x": None}
    assert frames.decode(frames.encode(frame, binary), binary) == frame


def test_encode_uses_the_wire_format_asked_for() -> None:
    frame = {"type": "ping"}
    assert frames.encode(frame, False) == b'{"type":"ping"}'
    assert msgpack.unpackb(frames.encode(frame, True)) == frame


def test_error_frame_carries_code_message_and_ref_only_when_given() -> None:
    assert frames.error(ErrorCode.NO_ROOM, "full") == {
        "type": "error",
        "code": "no_room",
        "message": "full",
    }
    assert frames.error(ErrorCode.BAD_FRAME, "bad", ref="m1")["ref"] == "m1"


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("0", True),
        ("1700000000000-0", True),
        ("1700000000000-12", True),
        ("", False),
        ("-1", False),
        ("12-", False),
        ("12-a", False),
        ("1-2-3", False),
        ("²", False),  # a unicode digit: isdigit() says yes, int() and Redis say no
        ("١٢٣-0", False),
        ("1" * 42, False),
    ],
)
def test_is_stream_id_accepts_only_what_redis_and_int_accept(value: str, valid: bool) -> None:
    assert frames.is_stream_id(value) is valid
    if valid:
        frames.stream_id_key(value)


def test_stream_ids_order_as_number_pairs_not_strings() -> None:
    ids = ["10-0", "9-5", "9-10", "10"]
    assert sorted(ids, key=frames.stream_id_key) == ["9-5", "9-10", "10-0", "10"]
    assert frames.stream_id_key("10") == (10, 0)


def test_a_note_frame_carries_its_authors_client_message_id_when_it_has_one() -> None:
    author = {"role": "agent", "id": "amy", "name": "Amy"}
    written = {"kind": "note", "internal": True, "from": author, "text": "VIP", "cmid": "n-1"}
    assert frames.entry_frame("c", "5-0", written) == {
        "type": "note", "conversation_id": "c", "id": "5-0", "ts": 5, "from": author,
        "text": "VIP", "client_msg_id": "n-1",
    }  # fmt: skip
    with_a_transfer = {k: v for k, v in written.items() if k != "cmid"}
    assert "client_msg_id" not in frames.entry_frame("c", "5-0", with_a_transfer)
