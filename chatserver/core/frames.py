"""The wire protocol, sans I/O: decode and validate client frames, encode server frames.

Every frame is one object with a ``type``. Browsers speak JSON text frames; other clients may
ask for the ``chat.v1.msgpack`` subprotocol and send the same objects as msgpack binary frames.
docs/protocol.md documents every frame, field and code defined here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Any

import msgpack
import orjson

JSON_SUBPROTOCOL = "chat.v1.json"
MSGPACK_SUBPROTOCOL = "chat.v1.msgpack"
MAX_FRAME_BYTES = 64 * 1024
MAX_TEXT_CHARS = 4000
MAX_ID_CHARS = 64


class ErrorCode(StrEnum):
    """The ``code`` of an ``error`` frame. The connection stays open unless a close follows."""

    BAD_FRAME = "bad_frame"  # not JSON / msgpack, or not an object
    UNKNOWN_TYPE = "unknown_type"  # no such frame type (for this role)
    MISSING_FIELD = "missing_field"
    INVALID_FIELD = "invalid_field"
    NOT_AUTHENTICATED = "not_authenticated"  # a frame before a successful hello
    BAD_TOKEN = "bad_token"  # wrong, forged or expired token (the socket is then closed)
    FORBIDDEN = "forbidden"  # not your conversation / not allowed for your role
    NOT_FOUND = "not_found"  # no such conversation, agent or department
    CONVERSATION_CLOSED = "conversation_closed"
    NO_ROOM = "no_room"  # transfer target has no free capacity or is not available
    NOT_ASSIGNED = "not_assigned"  # the conversation is not with an agent (transfer)
    # Too many frames (this one was dropped), or a shopper's messages over their rate across
    # all their sockets: slow down, then resend (the same client_msg_id is stored once).
    RATE_LIMITED = "rate_limited"
    TOO_MANY_CONVERSATIONS = "too_many_conversations"  # new ones per visitor/address per hour
    CONVERSATION_FULL = "conversation_full"  # the conversation holds its most messages
    ALREADY_RATED = "already_rated"  # a conversation is rated once: the first rating stays
    # Storage unreachable: the frame may or may not have taken effect; resend it (messages
    # with the same client_msg_id are deduplicated).
    UNAVAILABLE = "unavailable"
    INTERNAL = "internal"


class CloseCode(IntEnum):
    """WebSocket close codes the server uses (RFC 6455 section 7.4.1; 4000-4999 are ours)."""

    NORMAL = 1000
    GOING_AWAY = 1001
    POLICY_VIOLATION = 1008  # bad token, foreign origin, flood, hello missing
    MESSAGE_TOO_BIG = 1009  # a frame over MAX_FRAME_BYTES
    INTERNAL_ERROR = 1011
    SERVICE_RESTART = 1012  # the server shuts down: reconnect (to another process) and resume
    TRY_AGAIN_LATER = 1013  # the client read too slowly: reconnect and resume
    # An agent's session ended (logout, expiry, password or role change, agent removed): log
    # in again; the old token is refused.
    SESSION_REVOKED = 4001


class ProtocolError(Exception):
    """A client frame that cannot be accepted; becomes an ``error`` frame."""

    def __init__(self, code: ErrorCode, message: str, ref: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.ref = ref


# Field specs: name -> (python type, required). Strings are bounded by MAX_ID_CHARS unless
# listed in _LONG_TEXT.
_S, _I, _B, _D, _L = str, int, bool, dict, list
MAX_LIST_ITEMS = 10  # a list field (articles_read) holds at most this many ids
_COMMON: dict[str, dict[str, tuple[type, bool]]] = {
    "hello": {"token": (_S, False), "site": (_S, False), "customer": (_D, False)},
    "ping": {},
    # `text` may be empty or absent when `attachment_id` names an uploaded file (docs/api.md)
    "message": {
        "conversation_id": (_S, True),
        "client_msg_id": (_S, True),
        "text": (_S, False),
        "attachment_id": (_S, False),
    },
    "typing": {"conversation_id": (_S, True), "typing": (_B, True)},
    "read": {"conversation_id": (_S, True), "up_to": (_S, True)},
    "resume": {"conversation_id": (_S, True), "epoch": (_I, True), "after": (_S, True)},
    "close": {"conversation_id": (_S, True), "outcome": (_S, False)},
}
SHOPPER_FRAMES: dict[str, dict[str, tuple[type, bool]]] = {
    **_COMMON,
    "start": {"department": (_S, False), "text": (_S, False), "client_msg_id": (_S, False),
              "name": (_S, False), "email": (_S, False), "leave_message": (_B, False),
              "articles_read": (_L, False)},
    "leave_message": {"conversation_id": (_S, True), "email": (_S, True), "name": (_S, False)},
    "rate": {"conversation_id": (_S, True), "rating": (_S, True), "text": (_S, False)},
    "transcript": {"conversation_id": (_S, True), "email": (_S, True)},
    "context": {"conversation_id": (_S, True), "page": (_D, False), "cart": (_D, False)},
}  # fmt: skip
AGENT_FRAMES: dict[str, dict[str, tuple[type, bool]]] = {
    **_COMMON,
    "status": {"status": (_S, True)},
    "capacity": {"capacity": (_I, True)},
    "transfer": {"conversation_id": (_S, True), "to_agent": (_S, False),
                 "to_department": (_S, False), "note": (_S, False)},
    "note": {"conversation_id": (_S, True), "client_msg_id": (_S, True), "text": (_S, True)},
}  # fmt: skip
_LONG_TEXT = {"text", "note", "token"}


@dataclass(frozen=True, slots=True)
class Frame:
    """A validated client frame."""

    type: str
    data: dict[str, Any]

    def __getitem__(self, name: str) -> Any:
        return self.data[name]

    def get(self, name: str, default: Any = None) -> Any:
        return self.data.get(name, default)


def decode(raw: str | bytes, binary: bool) -> dict[str, Any]:
    """Decode one frame's payload to a dict (JSON text, or msgpack when `binary`)."""
    try:
        value = (
            msgpack.unpackb(raw, raw=False, strict_map_key=True) if binary else orjson.loads(raw)
        )
    except (ValueError, TypeError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError) as e:
        raise ProtocolError(ErrorCode.BAD_FRAME, f"frame is not valid {_fmt(binary)}") from e
    if not isinstance(value, dict):
        raise ProtocolError(ErrorCode.BAD_FRAME, "a frame must be an object with a 'type'")
    return value


def parse(raw: str | bytes, binary: bool, specs: dict[str, dict[str, tuple[type, bool]]]) -> Frame:
    """Decode and validate a client frame against the frame `specs` of the client's role."""
    return validate(decode(raw, binary), specs)


def validate(value: dict[str, Any], specs: dict[str, dict[str, tuple[type, bool]]]) -> Frame:
    kind = value.get("type")
    if not isinstance(kind, str):
        raise ProtocolError(ErrorCode.MISSING_FIELD, "field 'type' is required")
    spec = specs.get(kind)
    if spec is None:
        raise ProtocolError(ErrorCode.UNKNOWN_TYPE, f"unknown frame type {kind[:40]!r}")
    ref = value.get("client_msg_id") if isinstance(value.get("client_msg_id"), str) else None
    data: dict[str, Any] = {}
    if kind == "message" and value.get("attachment_id") and value.get("text") == "":
        value = {k: v for k, v in value.items() if k != "text"}  # a file without a caption
    for name, (kind_of, required) in spec.items():
        if name not in value or value[name] is None:
            if required:
                raise ProtocolError(ErrorCode.MISSING_FIELD, f"field {name!r} is required", ref)
            continue
        data[name] = _check(name, value[name], kind_of, ref)
    if kind == "message" and "text" not in data and "attachment_id" not in data:
        raise ProtocolError(ErrorCode.MISSING_FIELD, "field 'text' is required", ref)
    return Frame(kind, data)


def _check(name: str, v: Any, kind_of: type, ref: str | None) -> Any:
    if kind_of is int and (isinstance(v, bool) or not isinstance(v, int)):
        raise ProtocolError(ErrorCode.INVALID_FIELD, f"field {name!r} must be an integer", ref)
    if not isinstance(v, kind_of):
        raise ProtocolError(
            ErrorCode.INVALID_FIELD, f"field {name!r} must be a {kind_of.__name__}", ref
        )
    if isinstance(v, str):
        limit = MAX_TEXT_CHARS if name in _LONG_TEXT else MAX_ID_CHARS
        if len(v) > limit:
            raise ProtocolError(
                ErrorCode.INVALID_FIELD, f"field {name!r} is longer than {limit} characters", ref
            )
        if name == "text" and not v.strip():
            raise ProtocolError(ErrorCode.INVALID_FIELD, "field 'text' is empty", ref)
    if isinstance(v, list) and (len(v) > MAX_LIST_ITEMS or not all(
            isinstance(i, str) and 0 < len(i) <= MAX_ID_CHARS for i in v)):  # fmt: skip
        message = f"field {name!r} must list at most {MAX_LIST_ITEMS} ids"
        raise ProtocolError(ErrorCode.INVALID_FIELD, message, ref)
    return v


def encode(frame: dict[str, Any], binary: bool) -> bytes:
    """Encode a server frame for the wire."""
    return msgpack.packb(frame, use_bin_type=True) if binary else orjson.dumps(frame)


def error(
    code: ErrorCode, message: str, ref: str | None = None, conversation_id: str | None = None
) -> dict[str, Any]:
    """An ``error`` frame; `ref` is the refused frame's client_msg_id, if it had one."""
    frame: dict[str, Any] = {"type": "error", "code": code.value, "message": message}
    if ref is not None:
        frame["ref"] = ref
    if conversation_id is not None:
        frame["conversation_id"] = conversation_id
    return frame


def _fmt(binary: bool) -> str:
    return "msgpack" if binary else "JSON"


def stream_id_key(entry_id: str) -> tuple[int, int]:
    """Order key of a Redis Stream id 'ms-seq' (ids compare as number pairs, not strings)."""
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def is_stream_id(value: str) -> bool:
    # isascii: str.isdigit() also accepts digits like '²' that int() and Redis refuse.
    ms, sep, seq = value.partition("-")
    return value.isascii() and ms.isdigit() and (not sep or seq.isdigit()) and len(value) <= 41


def entry_frame(conversation_id: str, entry_id: str, entry: dict[str, Any]) -> dict[str, Any]:
    """The server frame for one transcript entry (a message, a system event or a note)."""
    base = {"conversation_id": conversation_id, "id": entry_id, "ts": stream_id_key(entry_id)[0]}
    kind = entry.get("kind")
    if kind == "message":
        message = {"type": "message", **base, "from": entry["from"], "text": entry["text"],
                   "client_msg_id": entry.get("cmid")}  # fmt: skip
        if "attachment" in entry:  # as stored: the gateway and the API sign its URLs
            message["attachment"] = entry["attachment"]
        if entry.get("via"):  # 'email': the shopper wrote it by mail (docs/email.md)
            message["via"] = entry["via"]
        return message
    if kind == "note":  # a note given with a transfer has no client message id
        note = {"type": "note", **base, "from": entry["from"], "text": entry["text"]}
        if entry.get("cmid"):
            note["client_msg_id"] = entry["cmid"]
        return note
    fields = {k: v for k, v in entry.items() if k not in ("kind", "event", "internal")}
    return {**fields, "type": "event", **base, "event": entry.get("event", "unknown")}


def is_internal(entry: dict[str, Any]) -> bool:
    """Entries agents see and shoppers never do (internal notes)."""
    return bool(entry.get("internal"))
