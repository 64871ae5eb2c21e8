"""The frames the server sends (docs/protocol.md section 6), built by plain functions.

Incoming frames are parsed in `frames.py`; everything the server writes to a socket is built
here, so each outgoing frame type and its fields are written once and unit-tested like the
incoming ones. Entries of a transcript (`message`, `note`, `event`) are `frames.entry_frame`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from chatserver.core.frames import stream_id_key
from chatserver.core.model import Conversation

Frame = dict[str, Any]
AGENT, SHOPPER = "agent", "shopper"


def conversation(
    conv: Conversation, role: str, agent_name: str | None, epoch: int | None = None
) -> Frame:
    """A `conversation` snapshot as `role` sees it (a shopper never sees agents' logins)."""
    agent = None
    if conv.agent:
        agent = {"name": agent_name or conv.agent}
        if role == AGENT:
            agent["id"] = conv.agent
    frame: Frame = {
        "type": "conversation", "conversation_id": conv.id, "state": conv.state.value,
        "department": conv.department, "epoch": epoch or conv.epoch, "agent": agent,
        "created": conv.created_ms, "closed": conv.closed_ms or None,
        "outcome": conv.outcome or None,
    }  # fmt: skip
    if role == AGENT:
        frame["visitor_id"] = conv.visitor
        frame["customer"] = conv.customer or None
        frame["articles_read"] = articles_read(conv)
    return frame


def articles_read(conv: Conversation) -> list[dict[str, str]]:
    """The knowledge-base articles the shopper opened before asking: [{id, title}]."""
    raw = conv.extra.get("articles_read")
    try:
        found = orjson.loads(raw) if raw else []
    except orjson.JSONDecodeError:
        return []
    return [a for a in found if isinstance(a, dict)] if isinstance(found, list) else []


def ack(conversation_id: str, client_msg_id: str, entry_id: str, new: bool) -> Frame:
    """The answer to a stored (or already stored: `duplicate`) message or note."""
    return {"type": "ack", "conversation_id": conversation_id, "client_msg_id": client_msg_id,
            "id": entry_id, "ts": stream_id_key(entry_id)[0], "duplicate": not new}  # fmt: skip


def synced(conversation_id: str, last_id: str) -> Frame:
    """A catch-up is complete: live entries follow."""
    return {"type": "synced", "conversation_id": conversation_id, "last_id": last_id}


def reset(conversation_id: str, epoch: int, reason: str) -> Frame:
    """The client's history of the conversation cannot be continued: start over at `epoch`."""
    return {"type": "reset", "conversation_id": conversation_id, "epoch": epoch, "reason": reason}


def service(up: bool) -> Frame:
    """Storage lost (`reconnecting`) or back (`ok`)."""
    return {"type": "service", "state": "ok" if up else "reconnecting"}


def pong() -> Frame:
    return {"type": "pong"}


def agent_state(status: str, load: int, capacity: int) -> Frame:
    """An agent's own status, load and capacity."""
    return {"type": "agent", "status": status, "load": load, "capacity": capacity}


def queue_position(
    conversation_id: str, position: int, eta_seconds: int | None, agents_online: bool
) -> Frame:
    """A queued shopper's place and estimated wait."""
    return {"type": "queue", "conversation_id": conversation_id, "position": position,
            "eta_seconds": eta_seconds, "agents_online": agents_online}  # fmt: skip


def typing(role: str, is_typing: bool) -> Frame:
    """An ephemeral typing event (published; the conversation id is added on delivery)."""
    return {"type": "typing", "role": role, "typing": is_typing}


def read(role: str, up_to: str) -> Frame:
    """An ephemeral read receipt (published; the conversation id is added on delivery)."""
    return {"type": "read", "role": role, "up_to": up_to}


def context(page: Any = None, cart: Any = None) -> Frame:
    """The shopper's page and cart (published to the agents following the conversation)."""
    fields = {"page": page, "cart": cart}
    return {"type": "context", **{k: v for k, v in fields.items() if v is not None}}


def agent_welcome(profile: dict[str, Any], conversations: Iterable[Frame]) -> Frame:
    """An agent's `welcome`: who they are and the chats assigned to them."""
    return {"type": "welcome", "role": AGENT, "agent": profile,
            "conversations": list(conversations)}  # fmt: skip


def shopper_welcome(
    visitor_id: str, token: str, customer_verified: bool, site: dict[str, Any],
    conversations: Iterable[Frame],
) -> Frame:  # fmt: skip
    """A shopper's `welcome`: their visitor id and token, the site, their recent chats."""
    return {"type": "welcome", "role": SHOPPER, "visitor_id": visitor_id, "token": token,
            "customer_verified": customer_verified, "site": site,
            "conversations": list(conversations)}  # fmt: skip
