"""The console's finding and sorting over REST: conversation search (customer, email, order
number, tag, message text; only what the caller may open), tags, the live queue, quick-reply
previews, and the "usually replies in" figure of the public widget-config."""

from __future__ import annotations

import time

import httpx
from redis.asyncio import Redis

from chatserver.core.model import Role
from chatserver.store import keys
from tests.conftest import scaled
from tests.integration.servers import ServerProcess
from tests.integration.web.shop import allow_pushes, api_client, customer_chat, order, push
from tests.integration.world import agent_client, make_agent, make_site, shopper_client


async def test_search_finds_by_customer_email_order_tag_and_text_and_only_what_one_may_open(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key, departments=("sales",))
    await make_agent(redis, site, f"{site_key}-amy")
    await make_agent(redis, site, f"{site_key}-bo")
    await make_agent(redis, site, f"{site_key}-sup", role=Role.SUPERVISOR)
    await allow_pushes(redis, site)
    now = int(time.time() * 1000)
    pushed = await push(server, site, {"customers": [
        {"id": "c-7", "name": "Zhang Min", "email": "zhang@example.cn", "updated_at": now}],
        "orders": [order("c-7", "SO-99172", now - 86_400_000)]})  # fmt: skip
    assert pushed.status_code == 200, pushed.text
    amy = await agent_client(server, f"{site_key}-amy")
    known, verified = await customer_chat(server, site, "c-7", "Where is my parcel?")
    await amy.wait_for("conversation", scaled(10), conversation_id=verified, state="assigned")
    anon, _ = await shopper_client(server, site)
    await anon.send({"type": "start", "text": "Do you ship the Longjing tea to Lyon?",
                     "client_msg_id": "s1", "email": "marie@example.fr"})  # fmt: skip
    other = (await anon.wait_for("ack", scaled(10), client_msg_id="s1"))["conversation_id"]
    await amy.wait_for("conversation", scaled(10), conversation_id=other, state="assigned")

    async with await api_client(server, f"{site_key}-sup") as sup:
        found = await _search(sup, "zhang")  # the name the store pushed
        assert [(r["conversation_id"], r["matched"]) for r in found] == [(verified, "name")]
        assert [r["matched"] for r in await _search(sup, "99172")] == ["order SO-99172"]
        assert [r["conversation_id"] for r in await _search(sup, "c-7")] == [verified]
        assert [r["matched"] for r in await _search(sup, "MARIE@")] == ["email"]
        by_text = await _search(sup, "longjing")
        assert by_text[0]["conversation_id"] == other and by_text[0]["matched"] == "message"
        assert "Longjing tea to Lyon" in by_text[0]["excerpt"]
        tagged = await sup.put(f"/api/v1/conversations/{other}/tags",
                               json={"tags": ["Shipping", "france", "shipping"]})  # fmt: skip
        assert tagged.json()["tags"] == ["shipping", "france"]
        assert [r["conversation_id"] for r in await _search(sup, "france")] == [other]
        got = (await sup.get(f"/api/v1/conversations/{other}/tags")).json()
        assert got["tags"] == ["shipping", "france"] and "shipping" in got["suggested"]
        bad = await sup.put(f"/api/v1/conversations/{other}/tags", json={"tags": ["a b"]})
        assert bad.status_code == 422
        short = await sup.get("/api/v1/search", params={"q": "z"})
        assert short.status_code == 422
    async with await api_client(server, f"{site_key}-bo") as bo:  # served neither chat
        assert await _search(bo, "longjing") == []
    async with await api_client(server, f"{site_key}-amy") as mine:
        assert [r["conversation_id"] for r in await _search(mine, "longjing")] == [other]
    stored = await redis.hget(keys.conversation(site_key, other), "tags")
    assert stored == "shipping,france"
    for client in (amy, known, anon):
        await client.close()


async def _search(http: httpx.AsyncClient, query: str) -> list[dict[str, str]]:
    response = await http.get("/api/v1/search", params={"q": query})
    assert response.status_code == 200, response.text
    results: list[dict[str, str]] = response.json()["results"]
    return results


async def test_the_queue_lists_who_waits_in_my_departments_in_serving_order(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key, departments=("sales", "support"))
    await make_agent(redis, site, f"{site_key}-amy", ("sales",))
    first, one = await customer_chat(server, site, None, "first in line")
    second, two = await customer_chat(server, site, None, "second in line")
    async with await api_client(server, f"{site_key}-amy") as amy:
        data = (await amy.get("/api/v1/queue")).json()
    assert [d["department"] for d in data["departments"]] == ["sales"]
    waiting = data["departments"][0]["waiting"]
    assert [(w["conversation_id"], w["position"], w["text"]) for w in waiting] == [
        (one, 1, "first in line"), (two, 2, "second in line")]  # fmt: skip
    assert all(w["waiting_seconds"] >= 0 for w in waiting)
    for client in (first, second):
        await client.close()


async def test_quick_reply_previews_are_filled_for_the_conversation(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key, departments=("sales",))
    await make_agent(redis, site, f"{site_key}-amy")
    amy_socket = await agent_client(server, f"{site_key}-amy")
    shopper, _ = await shopper_client(server, site)
    await shopper.send({"type": "start", "text": "hi", "client_msg_id": "s1", "name": "Li Wei"})
    conv = (await shopper.wait_for("ack", scaled(10), client_msg_id="s1"))["conversation_id"]
    await amy_socket.wait_for("conversation", scaled(10), conversation_id=conv, state="assigned")
    async with await api_client(server, f"{site_key}-amy") as amy:
        for shortcut, text in (("hi", "Hello {{ customer.name }}!"),
                               ("track", "Track it: {{ order.tracking_url }}")):  # fmt: skip
            made = await amy.post("/api/v1/quick-replies", json={
                "shortcut": shortcut, "title": shortcut, "text": text})  # fmt: skip
            assert made.status_code == 201, made.text
        previews = (await amy.get(f"/api/v1/conversations/{conv}/reply-previews")).json()
    by_text = {p["preview"] or ",".join(p["missing"]) for p in previews["previews"]}
    assert by_text == {"Hello Li Wei!", "order.tracking_url"}
    for client in (amy_socket, shopper):
        await client.close()


async def test_the_widget_config_says_how_fast_the_team_usually_replies_and_who_is_online(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key, departments=("sales",))
    await make_agent(redis, site, f"{site_key}-amy")
    amy = await agent_client(server, f"{site_key}-amy")
    for n in range(3):  # three chats answered: the median of their waits
        shopper, conv = await customer_chat(server, site, None, f"question {n}")
        await amy.wait_for("conversation", scaled(10), conversation_id=conv, state="assigned")
        created = int(await redis.hget(keys.conversation(site_key, conv), "created_ms"))
        await redis.hset(keys.conversation(site_key, conv), "first_reply_ms",
                         created + (30_000, 90_000, 600_000)[n])  # fmt: skip
        await shopper.close()
    async with httpx.AsyncClient(base_url=server.base_url, trust_env=False) as http:
        config = (await http.get(f"/api/v1/sites/{site_key}/widget-config")).json()
    assert config["reply_seconds"] == 90
    assert config["team"] == [{"name": f"{site_key}-amy".title().split()[0]}]
    await amy.close()
