"""The `message` frame with a file (docs/protocol.md 5.5): `attachment_id`, the caption
optional; and the stored entry's file in the server's `message` frame."""

from __future__ import annotations

import pytest

from chatserver.core import frames
from chatserver.core.frames import ErrorCode, ProtocolError


def _parse(**fields: object) -> frames.Frame:
    value = {"type": "message", "conversation_id": "c1", "client_msg_id": "m1", **fields}
    return frames.validate(value, frames.SHOPPER_FRAMES)


def test_a_file_may_come_without_a_caption() -> None:
    for frame in (_parse(attachment_id="a1"), _parse(attachment_id="a1", text="")):
        assert frame.get("attachment_id") == "a1" and frame.get("text") is None
    assert _parse(attachment_id="a1", text="the crack")["text"] == "the crack"


def test_a_message_needs_text_or_a_file() -> None:
    with pytest.raises(ProtocolError) as missing:
        _parse()
    assert missing.value.code is ErrorCode.MISSING_FIELD and missing.value.ref == "m1"
    with pytest.raises(ProtocolError) as empty:
        _parse(text="  ")
    assert empty.value.code is ErrorCode.INVALID_FIELD
    with pytest.raises(ProtocolError) as bad:
        _parse(attachment_id=5)
    assert bad.value.code is ErrorCode.INVALID_FIELD


def test_the_agents_message_takes_a_file_too() -> None:
    value = {"type": "message", "conversation_id": "c", "client_msg_id": "m", "attachment_id": "a"}
    assert frames.validate(value, frames.AGENT_FRAMES).get("attachment_id") == "a"


def test_a_stored_file_rides_in_the_message_frame_and_plain_messages_are_unchanged() -> None:
    stored = {"id": "a1", "name": "mug.jpg", "type": "image/jpeg", "size": 3}
    entry = {"kind": "message", "from": {"role": "shopper", "id": "v"}, "text": "", "cmid": "m",
             "attachment": stored}  # fmt: skip
    assert frames.entry_frame("c", "1-0", entry)["attachment"] == stored
    plain = frames.entry_frame("c", "1-0", {**entry, "attachment": None} | {"text": "hi"})
    del entry["attachment"]
    assert "attachment" not in frames.entry_frame("c", "1-0", entry)
    assert plain["text"] == "hi"
