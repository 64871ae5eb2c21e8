"""The shopper frames the storefront widget added (docs/protocol.md sections 5.14-5.17, 6.15):
availability in welcome, contact details, rating, transcript requests, page and cart context."""

from __future__ import annotations

from redis.asyncio import Redis

from chatserver.core.model import Site
from chatserver.core.widget_settings import WidgetSettings
from chatserver.store import keys, sites
from tests.conftest import scaled
from tests.integration.servers import ServerProcess
from tests.integration.world import agent_client, make_agent, make_site, shopper_client


async def test_welcome_says_whether_the_store_is_open_and_who_is_online(
    server: ServerProcess, redis: Redis, site_key: str
) -> None:
    site = await make_site(redis, site_key)
    await make_agent(redis, site, f"{site_key}-a", ("support",))
    agent = await agent_client(server, f"{site_key}-a")
    shopper, welcome = await shopper_client(server, site)
    assert welcome["site"]["open"] is True and welcome["site"]["next_open"] is None
    assert welcome["site"]["agents_online"] == {"sales": False, "support": True}
    closed = WidgetSettings(hours={"mon": "00:00-00:00"})  # opens never: closed all week
    await sites.save_site(redis, Site(site.key, site.name, site.departments, widget=closed))
    _, welcome = await shopper_client(server, site)
    assert welcome["site"]["open"] is False
    await agent.close()
    await shopper.close()


async def test_contact_details_are_checked_and_recorded_with_an_event(
    server: ServerProcess, redis: Redis, site_key: str
) -> None:
    site = await make_site(redis, site_key)
    shopper, _ = await shopper_client(server, site)
    await shopper.send(
        {"type": "start", "text": "hi", "client_msg_id": "m1", "leave_message": True}
    )
    error = await shopper.wait_for("error", scaled(10), ref="m1")
    assert error["code"] == "missing_field"
    await shopper.send({"type": "start", "text": "hi", "client_msg_id": "m2",
                        "email": "not an email"})  # fmt: skip
    assert (await shopper.wait_for("error", scaled(10), ref="m2"))["code"] == "invalid_field"
    await shopper.send({"type": "start", "text": "hi", "client_msg_id": "m3", "name": "Li",
                        "email": "li@example.com", "leave_message": True})  # fmt: skip
    ack = await shopper.wait_for("ack", scaled(10), client_msg_id="m3")
    event = await shopper.wait_for("event", scaled(10), event="contact")
    assert event["contact"] == {"name": "Li", "email": "li@example.com"}
    assert event["left_message"] is True
    stored = await redis.hgetall(keys.conversation(site_key, ack["conversation_id"]))
    assert stored["x:left_message"] == "1" and stored["x:email"] == "li@example.com"
    await shopper.close()


async def test_rating_once_only_after_the_end_and_transcript_requests_are_stored(
    server: ServerProcess, redis: Redis, site_key: str
) -> None:
    site = await make_site(redis, site_key)
    shopper, _ = await shopper_client(server, site)
    await shopper.send({"type": "start", "text": "hi", "client_msg_id": "m1"})
    cid = (await shopper.wait_for("ack", scaled(10), client_msg_id="m1"))["conversation_id"]
    await shopper.send({"type": "rate", "conversation_id": cid, "rating": "good"})
    assert (await shopper.wait_for("error", scaled(10)))["code"] == "invalid_field"
    await shopper.send({"type": "close", "conversation_id": cid})
    await shopper.wait_for("conversation", scaled(10), state="closed")
    await shopper.send({"type": "rate", "conversation_id": cid, "rating": "great"})
    assert (await shopper.wait_for("error", scaled(10)))["code"] == "invalid_field"
    await shopper.send({"type": "rate", "conversation_id": cid, "rating": "bad", "text": "slow"})
    rated = await shopper.wait_for("event", scaled(10), event="rated")
    assert rated["rating"] == "bad" and rated["comment"] == "slow"
    await shopper.send({"type": "rate", "conversation_id": cid, "rating": "good"})
    refused = await shopper.wait_for("error", scaled(10), code="already_rated")
    assert refused["conversation_id"] == cid  # a conversation is rated once: the first stays
    await shopper.send({"type": "transcript", "conversation_id": cid, "email": "li@example.com"})
    await shopper.wait_for("event", scaled(10), event="transcript_requested")
    stored = await redis.hgetall(keys.conversation(site_key, cid))
    assert stored["rating"] == "bad" and stored["transcript_email"] == "li@example.com"
    await shopper.close()


async def test_page_and_cart_context_is_bounded_stored_and_passed_to_agents(
    server: ServerProcess, redis: Redis, site_key: str
) -> None:
    site = await make_site(redis, site_key)
    await make_agent(redis, site, f"{site_key}-a")
    agent = await agent_client(server, f"{site_key}-a")
    shopper, _ = await shopper_client(server, site)
    await shopper.send({"type": "start", "text": "hi", "client_msg_id": "m1"})
    cid = (await shopper.wait_for("ack", scaled(10), client_msg_id="m1"))["conversation_id"]
    await agent.wait_for("conversation", scaled(10), conversation_id=cid, state="assigned")
    huge = {"items": [{"name": "x" * 1000}] * 10}
    await shopper.send({"type": "context", "conversation_id": cid, "cart": huge})
    assert (await shopper.wait_for("error", scaled(10)))["code"] == "invalid_field"
    cart = {"items": [{"sku": "tea", "qty": 2}], "total": 256, "currency": "CNY"}
    page = {"url": "https://shop.example/tea", "title": "Tea"}
    await shopper.send({"type": "context", "conversation_id": cid, "page": page, "cart": cart})
    context = await agent.wait_for("context", scaled(10), conversation_id=cid)
    assert context["page"] == page and context["cart"] == cart
    stored = await redis.hgetall(keys.conversation(site_key, cid))
    assert stored["x:page"] == '{"url":"https://shop.example/tea","title":"Tea"}'
    await agent.close()
    await shopper.close()


async def test_empty_emails_and_binary_context_are_refused_and_the_socket_stays(
    server: ServerProcess, redis: Redis, site_key: str
) -> None:
    site = await make_site(redis, site_key)
    shopper, _ = await shopper_client(server, site, binary=True)
    await shopper.send({"type": "start", "text": "hi", "client_msg_id": "m1"})
    conv = (await shopper.wait_for("ack", scaled(10)))["conversation_id"]
    for kind in ("leave_message", "transcript"):
        await shopper.send({"type": kind, "conversation_id": conv, "email": " "})
        error = await shopper.wait_for("error", scaled(10), conversation_id=conv)
        assert error["code"] == "missing_field"
    await shopper.send({"type": "context", "conversation_id": conv, "page": {"url": b"\x00"}})
    assert (await shopper.wait_for("error", scaled(10)))["code"] == "invalid_field"
    fields = await redis.hgetall(keys.conversation(site_key, conv))
    assert "x:left_message" not in fields and "x:page" not in fields
    await shopper.send({"type": "ping"})
    await shopper.wait_for("pong", scaled(10))
    await shopper.close()


async def test_a_note_resent_after_the_close_gets_its_ack(
    server: ServerProcess, redis: Redis, site_key: str
) -> None:
    site = await make_site(redis, site_key)
    await make_agent(redis, site, f"{site_key}-n")
    agent = await agent_client(server, f"{site_key}-n")
    shopper, _ = await shopper_client(server, site)
    await shopper.send({"type": "start", "text": "hi", "client_msg_id": "m1"})
    conv = (await shopper.wait_for("ack", scaled(10)))["conversation_id"]
    await agent.wait_for("conversation", scaled(10), conversation_id=conv, state="assigned")
    note = {"type": "note", "conversation_id": conv, "client_msg_id": "n1", "text": "VIP"}
    await agent.send(note)
    first = await agent.wait_for("ack", scaled(10), client_msg_id="n1")
    await agent.send({"type": "close", "conversation_id": conv})
    await agent.wait_for("conversation", scaled(10), conversation_id=conv, state="closed")
    await agent.send(note)
    again = await agent.wait_for("ack", scaled(10), client_msg_id="n1")
    assert (again["id"], again["duplicate"]) == (first["id"], True)
    await agent.send({**note, "client_msg_id": "n2"})
    assert (await agent.wait_for("error", scaled(10)))["code"] == "conversation_closed"
    await agent.close()
    await shopper.close()
