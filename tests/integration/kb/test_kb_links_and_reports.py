"""The knowledge base's finishing touches over real server processes: deflections in the
reports (API and CSV), an article's public page and the link to it, agents reading the
published articles, and the editor's preview."""

from __future__ import annotations

import csv
import io
import re

import httpx
from redis.asyncio import Redis

from chatserver.core.model import Role
from tests.integration.conftest import StartServer
from tests.integration.kb.test_articles_api import RETURNS, TUIHUO, _public, _team
from tests.integration.servers import ServerProcess
from tests.integration.web.shop import api_client
from tests.integration.world import make_agent, make_site, shopper_client, start_chat

SHIPPING = {"id": "shipping", "lang": "en", "title": "Shipping times",
            "body": "Orders leave within **2 days**."}  # fmt: skip


async def test_helpful_feedback_counts_in_the_report_as_answered_by_articles(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key)  # departments sales, support
    await make_agent(redis, site, f"{site_key}-sup", role=Role.SUPERVISOR)
    sup = await api_client(server, f"{site_key}-sup")
    for article in (RETURNS, SHIPPING):  # returns: support; shipping: no department
        assert (await sup.post("/api/v1/articles", json=article)).status_code == 201
    base = f"/api/v1/sites/{site_key}/articles"
    async with _public(server) as http:
        for helpful in (True, False, True):  # twice helpful, once not
            answer = await http.post(f"{base}/returns/feedback", json={"helpful": helpful})
            assert answer.status_code == 204
        assert (
            await http.post(f"{base}/shipping/feedback", json={"helpful": True})
        ).status_code == 204
    shopper, _ = await shopper_client(server, site)
    await start_chat(shopper, "where is my parcel?")  # one conversation started (sales)
    await shopper.close()

    report = (await sup.get("/api/v1/reports")).json()
    assert report["summary"]["deflected"] == 3
    assert report["summary"]["deflection_rate"] == round(3 / 4, 4)  # 3 of 4 requests
    [today] = [d for d in report["days"] if d["deflected"]]
    assert (today["deflected"], today["conversations"]) == (3, 1)
    assert sum(h["deflected"] for h in report["hours"]) == 3
    departments = {d["department"]: d for d in report["departments"]}
    assert list(departments) == ["sales", "support"]  # no row for the department-less one
    assert (departments["support"]["deflected"], departments["support"]["deflection_rate"]) == (
        2,
        1.0,
    )
    assert (departments["sales"]["deflected"], departments["sales"]["deflection_rate"]) == (0, 0.0)
    assert all(a["deflection_rate"] is None for a in report["agents"])
    support = (await sup.get("/api/v1/reports", params={"department": "support"})).json()
    assert (support["summary"]["deflected"], support["summary"]["deflection_rate"]) == (2, 1.0)

    table = (await sup.get("/api/v1/reports/days.csv")).text
    rows = [r for r in csv.DictReader(io.StringIO(table)) if r["deflected"] != "0"]
    assert [(r["deflected"], r["deflection_rate"]) for r in rows] == [("3", "0.75")]
    summary = next(csv.DictReader(io.StringIO((await sup.get("/api/v1/reports/summary.csv")).text)))
    assert summary["deflected"] == "3"
    await sup.aclose()


async def test_a_published_article_has_a_public_page_without_script(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    await _team(redis, site_key)
    admin = await api_client(server, f"{site_key}-adm")
    risky = {
        **RETURNS,
        "body": str(RETURNS["body"])
        + '\n\n<script>alert(1)</script><img src="x" onerror="alert(2)">',
    }
    created = (await admin.post("/api/v1/articles", json=risky)).json()
    assert created["url"] == f"{server.base_url}/help/{site_key}/returns"
    draft = (await admin.post("/api/v1/articles", json={**TUIHUO, "status": "draft"})).json()
    assert draft["url"] is None
    async with _public(server) as http:
        page = await http.get(f"/help/{site_key}/returns")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        csp = page.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src" not in csp
        assert re.search(r"style-src 'sha256-[A-Za-z0-9+/]+=*'", csp)
        assert page.headers["x-content-type-options"] == "nosniff"
        assert '<html lang="en">' in page.text
        assert "<h1>Returns and refunds</h1>" in page.text
        assert "<strong>unopened</strong>" in page.text
        assert "<script" not in page.text and "onerror" not in page.text
        assert f"Shop {site_key}" in page.text  # the site's name heads the page

        for missing in (
            f"/help/{site_key}/tuihuo",
            f"/help/{site_key}/nope",
            "/help/no-site/returns",
        ):
            answer = await http.get(missing)
            assert answer.status_code == 404, missing
            assert "<script" not in answer.text and "not available" in answer.text
        # Published now: the Chinese article's page says its language.
        await admin.put("/api/v1/articles/tuihuo", json=TUIHUO)
        zh = await http.get(f"/help/{site_key}/tuihuo")
        assert zh.status_code == 200 and '<html lang="zh-CN">' in zh.text and "退货政策" in zh.text
    await admin.aclose()


async def test_article_links_use_the_public_url_when_the_server_has_one(
    redis: Redis, site_key: str, servers: StartServer
) -> None:
    server = await servers(CHAT_PUBLIC_URL="https://chat.example.com/")
    await _team(redis, site_key)
    admin = await api_client(server, f"{site_key}-adm")
    created = (await admin.post("/api/v1/articles", json=RETURNS)).json()
    assert created["url"] == f"https://chat.example.com/help/{site_key}/returns"
    await admin.aclose()


async def test_agents_read_published_articles_only_and_change_nothing(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    await _team(redis, site_key)
    admin, agent = [await api_client(server, f"{site_key}-{r}") for r in ("adm", "agt")]
    await admin.post("/api/v1/articles", json=RETURNS)
    await admin.post("/api/v1/articles", json={**TUIHUO, "status": "draft"})
    await admin.post("/api/v1/articles", json={**SHIPPING, "lang": "en"})

    def ids(answer: httpx.Response) -> list[str]:
        assert answer.status_code == 200, answer.text
        return sorted(a["id"] for a in answer.json()["articles"])

    assert ids(await admin.get("/api/v1/articles")) == ["returns", "shipping", "tuihuo"]
    assert ids(await agent.get("/api/v1/articles")) == ["returns", "shipping"]
    assert ids(await agent.get("/api/v1/articles", params={"status": "draft"})) == []
    assert ids(await agent.get("/api/v1/articles", params={"q": "退货"})) == []  # a draft
    assert ids(await agent.get("/api/v1/articles", params={"q": "return tea", "lang": "en"})) == [
        "returns"
    ]
    found = (await agent.get("/api/v1/articles", params={"q": "shipping"})).json()["articles"]
    assert found[0]["url"] == f"{server.base_url}/help/{site_key}/shipping"
    assert "<strong>2 days</strong>" in found[0]["html"]
    assert (await agent.get("/api/v1/articles/returns")).status_code == 200
    assert (await agent.get("/api/v1/articles/tuihuo")).status_code == 404
    for method, path, body in (
        ("POST", "/api/v1/articles", {**SHIPPING, "id": "new"}),
        ("PUT", "/api/v1/articles/returns", RETURNS),
        ("DELETE", "/api/v1/articles/returns", None),
        ("GET", "/api/v1/articles/export", None),
        ("POST", "/api/v1/articles/import", {"articles": []}),
        ("POST", "/api/v1/articles/preview", {"body": "x"}),
    ):
        answer = await agent.request(method, path, json=body)
        assert answer.status_code == 403, (method, path)
    for client in (admin, agent):
        await client.aclose()


async def test_the_preview_renders_markdown_without_script(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    await _team(redis, site_key)
    sup = await api_client(server, f"{site_key}-sup")
    markdown = ("**Bold** [shop](https://example.com)\n\n<script>alert(1)</script>"
                '<a href="javascript:alert(2)">x</a><img src="x" onerror="alert(3)">')  # fmt: skip
    answer = await sup.post("/api/v1/articles/preview", json={"body": markdown})
    assert answer.status_code == 200, answer.text
    html = answer.json()["html"]
    assert "<strong>Bold</strong>" in html and 'href="https://example.com"' in html
    assert "<script" not in html and "alert(1)" not in html
    assert "javascript:" not in html and "onerror" not in html
    too_long = await sup.post("/api/v1/articles/preview", json={"body": "x" * 20_001})
    assert too_long.status_code == 422 and "body" in too_long.json()["message"]
    assert (await sup.post("/api/v1/articles/preview", json={})).status_code == 422
    assert (await sup.get("/api/v1/articles")).json()["articles"] == []  # nothing stored
    await sup.aclose()
    async with _public(server) as anonymous:
        assert (
            await anonymous.post("/api/v1/articles/preview", json={"body": "x"})
        ).status_code == 401
