"""The frames the server sends, as docs/protocol.md section 6 describes them."""

from __future__ import annotations

from chatserver.core import outgoing
from chatserver.core.model import Conversation, ConversationState


def _conv(**fields: object) -> Conversation:
    base: dict[str, object] = {"id": "c1", "site": "s", "department": "sales", "visitor": "v1",
                               "state": ConversationState.ASSIGNED, "agent": "ann", "epoch": 2,
                               "created_ms": 5, "customer": "cust-9"}  # fmt: skip
    return Conversation(**{**base, **fields})  # type: ignore[arg-type]


def test_a_shopper_sees_the_agent_by_name_only_and_no_visitor_or_customer() -> None:
    frame = outgoing.conversation(_conv(), "shopper", "Ann")
    assert frame == {"type": "conversation", "conversation_id": "c1", "state": "assigned",
                     "department": "sales", "epoch": 2, "agent": {"name": "Ann"},
                     "created": 5, "closed": None, "outcome": None}  # fmt: skip


def test_an_agent_sees_logins_the_visitor_and_the_customer() -> None:
    frame = outgoing.conversation(_conv(closed_ms=9, outcome="sale"), "agent", "Ann", epoch=3)
    assert frame["agent"] == {"name": "Ann", "id": "ann"}
    assert (frame["visitor_id"], frame["customer"], frame["epoch"]) == ("v1", "cust-9", 3)
    assert (frame["closed"], frame["outcome"]) == (9, "sale")


def test_a_queued_conversation_has_no_agent_and_a_missing_name_falls_back_to_the_login() -> None:
    assert outgoing.conversation(_conv(agent="", state=ConversationState.QUEUED), "agent",
                                 None)["agent"] is None  # fmt: skip
    assert outgoing.conversation(_conv(), "shopper", None)["agent"] == {"name": "ann"}


def test_an_ack_carries_the_stream_time_and_whether_it_was_a_duplicate() -> None:
    assert outgoing.ack("c1", "m1", "1700000000123-4", new=False) == {
        "type": "ack", "conversation_id": "c1", "client_msg_id": "m1",
        "id": "1700000000123-4", "ts": 1700000000123, "duplicate": True,
    }  # fmt: skip
    assert outgoing.ack("c1", "m1", "7-0", new=True)["duplicate"] is False


def test_the_small_frames() -> None:
    assert outgoing.synced("c1", "5-0") == {"type": "synced", "conversation_id": "c1",
                                            "last_id": "5-0"}  # fmt: skip
    assert outgoing.reset("c1", 3, "history_lost") == {
        "type": "reset",
        "conversation_id": "c1",
        "epoch": 3,
        "reason": "history_lost",
    }
    assert outgoing.service(True) == {"type": "service", "state": "ok"}
    assert outgoing.service(False) == {"type": "service", "state": "reconnecting"}
    assert outgoing.pong() == {"type": "pong"}
    assert outgoing.agent_state("online", 2, 3) == {"type": "agent", "status": "online",
                                                    "load": 2, "capacity": 3}  # fmt: skip
    assert outgoing.queue_position("c1", 4, None, False) == {
        "type": "queue", "conversation_id": "c1", "position": 4, "eta_seconds": None,
        "agents_online": False}  # fmt: skip
    assert outgoing.typing("agent", True) == {"type": "typing", "role": "agent", "typing": True}
    assert outgoing.read("shopper", "5-0") == {"type": "read", "role": "shopper", "up_to": "5-0"}
    assert outgoing.context(page={"url": "/x"}) == {"type": "context", "page": {"url": "/x"}}


def test_welcomes() -> None:
    agent = outgoing.agent_welcome({"id": "ann"}, iter([{"type": "conversation"}]))
    assert agent == {"type": "welcome", "role": "agent", "agent": {"id": "ann"},
                     "conversations": [{"type": "conversation"}]}  # fmt: skip
    shopper = outgoing.shopper_welcome("v1", "tok", False, {"key": "s"}, [])
    assert shopper == {"type": "welcome", "role": "shopper", "visitor_id": "v1",
                       "token": "tok", "customer_verified": False, "site": {"key": "s"},
                       "conversations": []}  # fmt: skip
