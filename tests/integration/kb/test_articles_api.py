"""The knowledge base over real server processes: management and roles, search kept in step
across processes, the widget's public endpoints (CORS, rate limit, feedback), import/export,
invitations in the widget config, and the articles a shopper read reaching the agent."""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import httpx
from redis.asyncio import Redis

from chatserver.core.kpis import count_field
from chatserver.core.model import Role
from chatserver.store import keys
from tests.conftest import scaled
from tests.integration.conftest import StartServer
from tests.integration.servers import ServerProcess
from tests.integration.web.shop import api_client
from tests.integration.world import agent_client, make_agent, make_site, shopper_client

RETURNS = {"id": "returns", "lang": "en", "title": "Returns and refunds",
           "body": "Return **unopened** tea within 30 days.", "tags": ["returns"],
           "department": "support"}  # fmt: skip
TUIHUO = {
    "id": "tuihuo",
    "lang": "zh-CN",
    "title": "退货政策",
    "body": "未开封的茶叶30天内可以退货。",
}


async def _team(redis: Redis, site_key: str) -> None:
    site = await make_site(redis, site_key)
    for login, role in (("adm", Role.ADMIN), ("sup", Role.SUPERVISOR), ("agt", Role.AGENT)):
        await make_agent(redis, site, f"{site_key}-{login}", role=role)


def _public(server: ServerProcess) -> httpx.AsyncClient:
    """A shopper's browser, from a loopback address of its own (the public endpoints count
    requests per address, and tests share one Redis)."""
    address = "127.{}.{}.{}".format(*random.sample(range(2, 250), 3))
    transport = httpx.AsyncHTTPTransport(local_address=address)
    return httpx.AsyncClient(base_url=server.base_url, trust_env=False, timeout=scaled(10),
                             transport=transport)  # fmt: skip


async def _search(http: httpx.AsyncClient, site: str, q: str, lang: str = "en") -> list[str]:
    response = await http.get(f"/api/v1/sites/{site}/articles/search",
                              params={"q": q, "lang": lang})  # fmt: skip
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == "*"
    return [a["id"] for a in response.json()["articles"]]


async def test_managers_manage_articles_and_agents_may_only_read(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    await _team(redis, site_key)
    admin, sup, agent = [await api_client(server, f"{site_key}-{r}") for r in ("adm", "sup", "agt")]
    created = await sup.post("/api/v1/articles", json=RETURNS)
    assert created.status_code == 201, created.text
    assert "<strong>unopened</strong>" in created.json()["html"]
    assert (await sup.post("/api/v1/articles", json=RETURNS)).status_code == 409
    assert (await agent.get("/api/v1/articles")).status_code == 200  # published ones only
    assert (await agent.post("/api/v1/articles", json=TUIHUO)).status_code == 403
    async with _public(server) as anonymous:
        assert (await anonymous.get("/api/v1/articles")).status_code == 401
    changed = await admin.put("/api/v1/articles/returns", json={**RETURNS, "status": "draft"})
    assert changed.json()["status"] == "draft"
    listed = await admin.get("/api/v1/articles", params={"status": "draft", "q": "unopened"})
    assert [a["id"] for a in listed.json()["articles"]] == ["returns"]
    assert (await admin.delete("/api/v1/articles/returns")).status_code == 204
    assert (await admin.get("/api/v1/articles/returns")).status_code == 404
    for client in (admin, sup, agent):
        await client.aclose()


async def test_invalid_articles_get_a_422_naming_the_field(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    await _team(redis, site_key)
    admin = await api_client(server, f"{site_key}-adm")
    for change, word in (({"lang": "fr"}, "lang"), ({"title": "x" * 201}, "title"),
                         ({"status": "live"}, "status"), ({"body": ""}, "body"),
                         ({"department": "billing"}, "department")):  # fmt: skip
        response = await admin.post("/api/v1/articles", json={**RETURNS, **change})
        assert response.status_code == 422 and word in response.json()["message"], change
    await admin.aclose()


async def test_an_edit_through_one_process_is_searchable_from_another_within_a_second(
    redis: Redis, site_key: str, servers: StartServer
) -> None:
    one = await servers(CHAT_KB_REQUESTS_PER_MINUTE=100_000)
    two = await servers(CHAT_KB_REQUESTS_PER_MINUTE=100_000)
    await _team(redis, site_key)
    admin = await api_client(one, f"{site_key}-adm")
    assert (await admin.post("/api/v1/articles", json=RETURNS)).status_code == 201
    async with _public(two) as http:
        assert await _search(http, site_key, "refunds") == ["returns"]  # two has built its index
        changed = {**RETURNS, "title": "Returns to our Zanzibar warehouse"}
        assert (await admin.put("/api/v1/articles/returns", json=changed)).status_code == 200
        edited = time.monotonic()
        while await _search(http, site_key, "zanzibar") != ["returns"]:
            assert time.monotonic() - edited < scaled(1.0), "not searchable from process two"
            await asyncio.sleep(0.02)  # polling, with the deadline above
        assert (await admin.post("/api/v1/articles", json=TUIHUO)).status_code == 201
        created = time.monotonic()
        while await _search(http, site_key, "可以退货吗", "zh-CN") != ["tuihuo"]:
            assert time.monotonic() - created < scaled(1.0), "not searchable from process two"
            await asyncio.sleep(0.02)
    await admin.aclose()


async def test_the_widget_reads_published_articles_and_says_which_helped(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    await _team(redis, site_key)
    admin = await api_client(server, f"{site_key}-adm")
    await admin.post("/api/v1/articles", json=RETURNS)
    await admin.post("/api/v1/articles", json={**TUIHUO, "status": "draft"})
    base = f"/api/v1/sites/{site_key}/articles"
    async with _public(server) as http:
        hits = (await http.get(f"{base}/search", params={"q": "return tea"})).json()["articles"]
        assert hits[0] | {"snippet": ""} == {"id": "returns", "title": "Returns and refunds",
                                             "snippet": "", "department": "support"}  # fmt: skip
        article = (await http.get(f"{base}/returns")).json()["article"]
        assert "<strong>unopened</strong>" in article["html"] and "body" not in article
        assert (await http.get(f"{base}/tuihuo")).status_code == 404  # a draft
        assert await _search(http, site_key, "退货", "zh-CN") == []
        assert (
            await http.get(f"{base}/search", params={"q": "x", "lang": "fr"})
        ).status_code == 422
        preflight = await http.options(f"{base}/returns/feedback")
        assert preflight.status_code == 204
        assert "POST" in preflight.headers["access-control-allow-methods"]
        before = await _deflections(redis, site_key)
        question = {"helpful": True, "question": "can I return tea?"}
        answered = await http.post(f"{base}/returns/feedback", json=question)
        assert answered.status_code == 204
        await http.post(f"{base}/returns/feedback", json={"helpful": False})
        assert await _deflections(redis, site_key) == before + 1
        bad = await http.post(f"{base}/returns/feedback", json={"helpful": "yes"})
        assert bad.status_code == 422 and bad.headers["access-control-allow-origin"] == "*"
    await admin.aclose()


async def _deflections(redis: Redis, site: str) -> int:
    now = int(time.time() * 1000)
    raw = await redis.hget(keys.kpi_day(site, now), count_field(now, "deflected", "support"))
    return int(raw or 0)


async def test_public_requests_are_limited_per_address(
    redis: Redis, site_key: str, servers: StartServer
) -> None:
    server = await servers(CHAT_KB_REQUESTS_PER_MINUTE=3)
    await make_site(redis, site_key)
    async with _public(server) as http:
        url = f"/api/v1/sites/{site_key}/articles/search"
        statuses = [(await http.get(url, params={"q": "tea"})) for _ in range(7)]
    # Seven requests span at most one turn of the minute: some part holds four or more.
    assert statuses[0].status_code == 200
    limited = [r for r in statuses if r.status_code == 429]
    assert limited and limited[0].json()["error"] == "rate_limited"
    assert limited[0].headers["access-control-allow-origin"] == "*"


async def test_import_takes_back_what_export_gave(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    await _team(redis, site_key)
    admin = await api_client(server, f"{site_key}-adm")
    three = {"articles": [RETURNS, TUIHUO, {**TUIHUO, "id": "t2"}]}
    imported = await admin.post("/api/v1/articles/import", json=three)
    assert imported.json() == {"imported": 3}
    exported = (await admin.get("/api/v1/articles/export")).json()
    for article in exported["articles"]:
        assert (await admin.delete(f"/api/v1/articles/{article['id']}")).status_code == 204
    assert (await admin.post("/api/v1/articles/import", json=exported)).json() == {"imported": 3}
    again = (await admin.get("/api/v1/articles/export")).json()
    assert _content(again) == _content(exported)
    half_bad = {"articles": [{**RETURNS, "id": "new"}, {"lang": "en"}]}
    refused = await admin.post("/api/v1/articles/import", json=half_bad)
    assert refused.status_code == 422 and "article 2" in refused.json()["message"]
    assert (await admin.get("/api/v1/articles/new")).status_code == 404  # all or nothing
    await admin.aclose()


def _content(export: dict[str, Any]) -> list[dict[str, Any]]:
    return sorted(({k: v for k, v in a.items() if k != "updated_at"} for a in export["articles"]),
                  key=lambda a: a["id"])  # fmt: skip


async def test_widget_config_carries_enabled_invitations_articles_and_room(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    await _team(redis, site_key)
    admin, sup = (
        await api_client(server, f"{site_key}-adm"),
        await api_client(server, f"{site_key}-sup"),
    )
    rules = [{"id": "cart", "url": "/demo/*/cart", "min_cart_value": 100, "needs_room": True,
              "messages": {"en": "Need a hand?", "zh-CN": "需要帮忙吗？"}},
             {"id": "off", "enabled": False, "messages": {"en": "x"}}]  # fmt: skip
    url = f"/api/v1/sites/{site_key}/invitations"
    assert (await sup.put(url, json={"invitations": rules})).status_code == 403
    bad = await admin.put(url, json={"invitations": [{**rules[0], "per_days": 0}]})
    assert bad.status_code == 422 and "per_days" in bad.json()["message"]
    assert (await admin.put(url, json={"invitations": rules})).status_code == 200
    assert [r["id"] for r in (await sup.get(url)).json()["invitations"]] == ["cart", "off"]
    await admin.post("/api/v1/articles", json=RETURNS)
    agent = await agent_client(server, f"{site_key}-agt")  # online, no chat: room
    async with _public(server) as http:
        config = (await http.get(f"/api/v1/sites/{site_key}/widget-config")).json()
    assert [r["id"] for r in config["invitations"]] == ["cart"]
    assert config["invitations"][0]["per_days"] == 1
    assert config["articles"] is True and config["room"] is True
    await agent.close()
    for client in (admin, sup):
        await client.aclose()


async def test_a_site_with_no_agent_online_has_no_room_and_no_articles(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    await make_site(redis, site_key)
    async with _public(server) as http:
        config = (await http.get(f"/api/v1/sites/{site_key}/widget-config")).json()
    assert (config["room"], config["articles"], config["invitations"]) == (False, False, [])


async def test_the_articles_a_shopper_read_reach_the_agent(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    await _team(redis, site_key)
    admin = await api_client(server, f"{site_key}-adm")
    await admin.post("/api/v1/articles", json=TUIHUO)
    await admin.post("/api/v1/articles", json=RETURNS)
    agent = await agent_client(server, f"{site_key}-agt")
    site = await make_site(redis, site_key)
    shopper, _ = await shopper_client(server, site)
    read = ["tuihuo", "no-such-article", "returns", "tuihuo"]
    await shopper.send(
        {"type": "start", "text": "开封了还能退吗", "client_msg_id": "q1", "articles_read": read}
    )
    conv = (await shopper.wait_for("ack", scaled(10), client_msg_id="q1"))["conversation_id"]
    frame = await agent.wait_for("conversation", scaled(10), conversation_id=conv,
                                 state="assigned")  # fmt: skip
    expected = [{"id": "tuihuo", "title": "退货政策"}, {"id": "returns", "title": RETURNS["title"]}]
    assert frame["articles_read"] == expected
    shown = await admin.get(f"/api/v1/conversations/{conv}")
    assert shown.json()["articles_read"] == expected
    await shopper.close()
    await agent.close()
    await admin.aclose()
