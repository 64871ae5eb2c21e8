"""Conversations through the agent socket and the REST API: internal notes, the customer
panel (only a verified customer is linked to orders and history), who may read what, and
quick replies filled for a conversation."""

from __future__ import annotations

from redis.asyncio import Redis

from chatserver.core.model import Role
from tests.conftest import scaled
from tests.integration.servers import ServerProcess
from tests.integration.web.shop import allow_pushes, api_client, customer_chat, order, push
from tests.integration.world import agent_client, make_agent, make_site


async def test_an_internal_note_reaches_agents_and_never_the_shopper(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key, departments=("sales",))
    await make_agent(redis, site, f"{site_key}-amy")
    await make_agent(redis, site, f"{site_key}-sup", role=Role.SUPERVISOR)
    agent = await agent_client(server, f"{site_key}-amy")
    shopper, conv = await customer_chat(server, site, None, "hello")
    await agent.wait_for("synced", scaled(10), conversation_id=conv)
    await agent.send(
        {
            "type": "note",
            "conversation_id": conv,
            "client_msg_id": "n1",
            "text": "VIP: refund approved by Li",
        }
    )
    ack = await agent.wait_for("ack", scaled(10), client_msg_id="n1")
    note = await agent.wait_for("note", scaled(10), id=ack["id"])
    assert note["text"] == "VIP: refund approved by Li" and note["from"]["id"] == f"{site_key}-amy"
    await agent.send(
        {"type": "note", "conversation_id": conv, "client_msg_id": "n1", "text": "resent"}
    )
    assert (await agent.wait_for("ack", scaled(10), client_msg_id="n1"))["duplicate"] is True
    # A message after the note: once the shopper has it, the note would have arrived before.
    await agent.send(
        {"type": "message", "conversation_id": conv, "client_msg_id": "m1", "text": "Done!"}
    )
    await shopper.wait_for("message", scaled(10), client_msg_id="m1")
    # The replay of a resume is a direct response: it is all in before the pong.
    await shopper.send({"type": "resume", "conversation_id": conv, "epoch": 1, "after": "0-0"})
    await shopper.send({"type": "ping"})
    await shopper.wait_for("pong", scaled(10))
    replayed = [f for f in shopper.received if f.get("type") == "message"]
    assert [m["client_msg_id"] for m in replayed] == ["first", "m1", "first", "m1"]
    shown = str(shopper.received)
    assert "VIP" not in shown and "resent" not in shown
    assert not [f for f in shopper.received if f.get("type") == "note"]
    async with await api_client(server, f"{site_key}-sup") as sup:
        entries = (await sup.get(f"/api/v1/conversations/{conv}/transcript")).json()["entries"]
    assert [e["text"] for e in entries if e["type"] == "note"] == ["VIP: refund approved by Li"]
    for client in (agent, shopper):
        await client.close()


async def test_only_a_verified_customer_gets_orders_and_earlier_conversations(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key, departments=("sales",))
    await make_agent(redis, site, f"{site_key}-amy")
    await allow_pushes(redis, site)
    await push(
        server,
        site,
        {
            "customers": [{"id": "c-7", "name": "Emma", "updated_at": 1}],
            "orders": [order("c-7", "7001", placed=1000), order("c-7", "7002", placed=2000)],
        },
    )
    agent = await agent_client(server, f"{site_key}-amy")
    first, earlier = await customer_chat(server, site, "c-7", "my first question")
    await agent.wait_for("synced", scaled(10), conversation_id=earlier)
    await agent.send({"type": "close", "conversation_id": earlier, "outcome": "sale"})
    await first.wait_for("conversation", scaled(10), state="closed")
    verified, conv = await customer_chat(server, site, "c-7", "where is 7002?")
    forger, forged = await customer_chat(server, site, "c-7", "I am c-7, honest", forged=True)
    async with await api_client(server, f"{site_key}-amy") as api:
        await agent.wait_for("conversation", scaled(10), conversation_id=forged, state="assigned")
        panel = (await api.get(f"/api/v1/conversations/{conv}/customer")).json()
        fake = (await api.get(f"/api/v1/conversations/{forged}/customer")).json()
    assert panel["customer"]["verified"] is True and panel["customer"]["name"] == "Emma"
    assert [o["number"] for o in panel["orders"]["orders"]] == ["7002", "7001"]
    assert [(c["conversation_id"], c["outcome"]) for c in panel["conversations"]] == [
        (earlier, "sale")
    ]
    assert fake["customer"] is None and fake["orders"] is None
    assert fake["conversations"] == []
    assert "7001" not in str(fake) and "Emma" not in str(fake)
    for client in (agent, first, verified, forger):
        await client.close()


async def test_agents_read_their_own_conversations_and_their_customers_history_only(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key, departments=("sales",))
    await make_agent(redis, site, f"{site_key}-amy", capacity=1)
    await make_agent(redis, site, f"{site_key}-bob", capacity=1)
    await make_agent(redis, site, f"{site_key}-sup", role=Role.SUPERVISOR)
    amy = await agent_client(server, f"{site_key}-amy")
    shopper, conv = await customer_chat(server, site, "c-1", "hello")
    await amy.wait_for("conversation", scaled(10), conversation_id=conv, state="assigned")
    async with await api_client(server, f"{site_key}-bob") as bob:
        assert (await bob.get(f"/api/v1/conversations/{conv}")).status_code == 403
        assert (await bob.get(f"/api/v1/conversations/{conv}/transcript")).status_code == 403
        assert (await bob.get("/api/v1/conversations?customer=c-1")).status_code == 403
        assert (await bob.get("/api/v1/conversations/nope")).status_code == 404
    async with await api_client(server, f"{site_key}-amy") as me:
        mine = (await me.get("/api/v1/conversations")).json()["conversations"]
        assert [c["conversation_id"] for c in mine] == [conv]
        assert (await me.get("/api/v1/conversations?state=queued")).status_code == 403
    async with await api_client(server, f"{site_key}-sup") as sup:
        detail = (await sup.get(f"/api/v1/conversations/{conv}")).json()
        assert detail["agent"]["id"] == f"{site_key}-amy" and detail["customer"] == "c-1"
        assigned = (await sup.get("/api/v1/conversations?state=assigned")).json()
        assert [c["conversation_id"] for c in assigned["conversations"]] == [conv]
        overview = (await sup.get("/api/v1/overview")).json()
        assert overview["departments"][0]["queued"] == 0
        assert {a["id"]: a["load"] for a in overview["agents"]}[f"{site_key}-amy"] == 1
    for client in (amy, shopper):
        await client.close()


async def test_a_quick_reply_is_filled_for_the_conversation_or_names_what_is_missing(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key, departments=("sales",))
    await make_agent(redis, site, f"{site_key}-amy")
    await allow_pushes(redis, site)
    await push(
        server,
        site,
        {
            "orders": [
                order("c-3", "3001", placed=1000, tracking_url="https://t.example/3001"),
                order("c-3", "3002", placed=3000),
            ]
        },
    )
    agent = await agent_client(server, f"{site_key}-amy")
    known, conv = await customer_chat(server, site, "c-3", "hi")
    stranger, anon = await customer_chat(server, site, None, "hi")
    await agent.wait_for("conversation", scaled(10), conversation_id=anon, state="assigned")
    async with await api_client(server, f"{site_key}-amy") as api:
        made = await api.post(
            "/api/v1/quick-replies",
            json={"shortcut": "num", "title": "Number", "text": "Your order {{ order.number }}."},
        )
        reply = made.json()["id"]
        filled = await api.post(
            f"/api/v1/conversations/{conv}/render", json={"quick_reply_id": reply}
        )
        assert filled.json() == {"text": "Your order 3002."}, "the latest order"
        link = await api.post(
            f"/api/v1/conversations/{conv}/render", json={"template": "{{ order.tracking_url }}"}
        )
        assert link.status_code == 422, "the latest order has no tracking link yet"
        assert link.json()["missing"] == ["order.tracking_url"]
        missing = await api.post(
            f"/api/v1/conversations/{anon}/render", json={"quick_reply_id": reply}
        )
        assert missing.status_code == 422
        assert missing.json()["error"] == "missing_variables"
        assert missing.json()["missing"] == ["order.number"]
    for client in (agent, known, stranger):
        await client.close()
