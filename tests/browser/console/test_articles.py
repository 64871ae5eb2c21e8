"""The knowledge base in the console: an admin edits an article (and the widget's search finds
the edit), the invitation rules page, an agent sending an article from a chat, and the
transcript saying which articles the shopper read before asking."""

from __future__ import annotations

import httpx
from playwright.async_api import Page, expect
from redis.asyncio import Redis

from chatserver.core.model import Role
from chatserver.kb.model import Article
from chatserver.store.articles import Articles
from tests.browser.console.conftest import go_online, open_chat, sign_in
from tests.conftest import scaled
from tests.integration.servers import ServerProcess
from tests.integration.world import make_agent, make_site, shopper_client

RETURNS = Article("zh-returns", "zh-CN", "退货退款政策", "收到商品 **30 天内**可申请退货。",
                  ("退货",), None, "published", 1)  # fmt: skip
STORAGE = Article("en-storage", "en", "How should I store my tea?",
                  "Keep it in an airtight tin, away from light.", ("storage",), None,
                  "published", 2)  # fmt: skip


async def search(server: ServerProcess, site: str, q: str, lang: str) -> list[str]:
    """The widget's search: the titles it finds for `q`."""
    async with httpx.AsyncClient(base_url=server.base_url, trust_env=False) as http:
        answer = await http.get(f"/api/v1/sites/{site}/articles/search",
                                params={"q": q, "lang": lang, "limit": 3})  # fmt: skip
    answer.raise_for_status()
    return [a["title"] for a in answer.json()["articles"]]


async def test_an_admin_edits_an_article_and_the_widget_finds_the_edit(
    page: Page, redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key)
    await make_agent(redis, site, f"{site_key}-ada", role=Role.ADMIN)
    await Articles(redis).save(site.key, [RETURNS, STORAGE])
    await sign_in(page, server, f"{site_key}-ada")
    await page.click("#to-articles")
    await expect(page).to_have_url(f"{server.base_url}/console/articles")
    rows = page.locator("#article-rows tr")
    await expect(rows).to_have_count(2)
    await page.select_option("#filter-lang", "en")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("How should I store my tea?")

    await rows.first.get_by_role("button").click()
    await expect(page.locator("#article-title")).to_have_value("How should I store my tea?")
    await page.fill("#article-title", "Storing tea: keep it dry and dark")
    preview = page.locator("#article-preview")
    # The preview follows the typing (rendered and sanitised by the server), before any save.
    await page.locator("#article-body").fill("")
    await page.locator("#article-body").press_sequentially("Use a **porcelain jar**")
    await expect(preview.locator("strong")).to_have_text("porcelain jar")
    await expect(preview.locator("h2")).to_have_text("Storing tea: keep it dry and dark")
    await page.locator("#article-body").press_sequentially(
        " with a tight lid.\n\n<script>x()</script>"
    )
    await expect(preview).to_contain_text("with a tight lid.")
    assert await preview.locator("script").count() == 0
    saved = await Articles(redis).get(site.key, "en-storage")
    assert saved is not None and "porcelain" not in saved.body  # a preview stores nothing
    await page.fill("#article-tags", "storage, jar")
    await page.click("#article-save")
    await expect(preview.locator("h2")).to_have_text("Storing tea: keep it dry and dark")
    await expect(preview.locator("strong")).to_have_text("porcelain jar")
    assert await preview.locator("script").count() == 0
    await expect(rows.first).to_contain_text("Storing tea: keep it dry and dark")
    await expect(page.locator("#article-link")).to_have_attribute(
        "href", f"{server.base_url}/help/{site.key}/en-storage"
    )

    saved = await Articles(redis).get(site.key, "en-storage")
    assert saved is not None and saved.title == "Storing tea: keep it dry and dark"
    assert saved.tags == ("storage", "jar")
    assert "Storing tea: keep it dry and dark" in await search(
        server, site.key, "porcelain jar", "en"
    )

    await page.click("#article-new")
    await page.select_option("#article-lang", "zh-CN")
    await page.select_option("#article-status", "draft")
    await page.fill("#article-id", "zh-gift")
    await page.fill("#article-title", "礼品包装")
    await page.fill("#article-body", "每件商品都可以免费礼品包装。")
    await page.click("#article-save")
    await expect(preview.locator("h2")).to_have_text("礼品包装")
    await expect(page.locator("#article-link")).to_be_hidden()  # a draft has no public page
    gift = await Articles(redis).get(site.key, "zh-gift")
    assert gift is not None and gift.status == "draft" and gift.lang == "zh-CN"
    assert "礼品包装" not in await search(server, site.key, "礼品包装", "zh-CN")  # a draft

    page.once("dialog", lambda dialog: dialog.accept())
    await page.click("#article-delete")
    await expect(page.locator("#article-form")).to_be_hidden()
    assert await Articles(redis).get(site.key, "zh-gift") is None


async def test_an_admin_edits_the_invitation_rules_and_a_supervisor_may_not(
    page: Page, redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key)
    await make_agent(redis, site, f"{site_key}-ada", role=Role.ADMIN)
    await make_agent(redis, site, f"{site_key}-sue", role=Role.SUPERVISOR)
    await sign_in(page, server, f"{site_key}-ada")
    await page.click("#to-invitations")
    await expect(page.locator("#rules-none")).to_be_visible()
    await page.click("#rule-add")
    rule = page.locator("#rules .rule").first
    await rule.locator('[name="id"]').fill("cart-help")
    await rule.locator('[name="message-zh-CN"]').fill("需要帮忙挑选吗？")
    await rule.locator('[name="message-en"]').fill("Need a hand choosing?")
    await rule.locator('[name="url"]').fill("/demo/*/cart")
    await rule.locator('[name="min_cart_value"]').fill("199")
    await rule.locator('[name="needs_room"]').uncheck()
    await page.click("#rules-save")
    await expect(page.locator("#toasts")).to_contain_text("Rules saved.")
    [stored] = await Articles(redis).invitations(site.key)
    assert stored["id"] == "cart-help" and stored["url"] == "/demo/*/cart"
    assert stored["min_cart_value"] == 199 and stored["seconds_on_page"] == 20
    assert stored["needs_room"] is False and stored["business_hours"] is True
    assert stored["messages"] == {"en": "Need a hand choosing?", "zh-CN": "需要帮忙挑选吗？"}

    await page.reload()
    await expect(page.locator('#rules .rule [name="id"]')).to_have_value("cart-help")
    await page.locator('#rules .rule [name="url"]').fill("cart")
    await page.click("#rules-save")  # refused by the server, which says why
    await expect(page.locator("#toasts .error")).to_contain_text("url is null or a path glob")

    other = await page.context.browser.new_context()  # type: ignore[union-attr]
    supervisor = await other.new_page()
    await sign_in(supervisor, server, f"{site_key}-sue")
    await expect(supervisor.locator("#to-articles")).to_be_visible()
    await expect(supervisor.locator("#to-invitations")).to_have_count(0)
    answer = await supervisor.goto(f"{server.base_url}/console/invitations")
    assert answer is not None and answer.status == 403
    await other.close()


async def test_the_agent_sees_what_the_shopper_read_and_sends_an_article_or_its_link(
    page: Page, redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key, departments=("sales",))
    await make_agent(redis, site, f"{site_key}-amy")
    await Articles(redis).save(site.key, [RETURNS, STORAGE])
    await sign_in(page, server, f"{site_key}-amy")
    await go_online(page)
    shopper, _ = await shopper_client(server, site)
    await shopper.send({"type": "start", "client_msg_id": "s1", "text": "可以退货吗？",
                        "articles_read": ["zh-returns"]})  # fmt: skip
    ack = await shopper.wait_for("ack", scaled(10), client_msg_id="s1")
    conversation = str(ack["conversation_id"])
    await open_chat(page, conversation)
    first = page.locator("#transcript li").first
    await expect(first).to_have_text("Read before asking: 退货退款政策")

    await page.click("#pick-article")
    await page.select_option("#article-pick-lang", "en")
    await page.fill("#article-pick-query", "store tea")
    result = page.locator("#article-pick-results .article-result", has_text="store my tea")
    await result.get_by_role("button", name="Insert link").click()
    await expect(page.locator("#article-pick-dialog")).to_be_hidden()
    link = f"{server.base_url}/help/{site.key}/en-storage"
    await expect(page.locator("#composer")).to_have_value(f"How should I store my tea?\n{link}")
    await page.fill("#composer", "")

    await page.click("#pick-article")
    await page.select_option("#article-pick-lang", "en")
    await page.fill("#article-pick-query", "store tea")
    await result.get_by_role("button", name="Insert text").click()
    await expect(page.locator("#article-pick-dialog")).to_be_hidden()
    await expect(page.locator("#composer")).to_have_value(
        "How should I store my tea?\n\nKeep it in an airtight tin, away from light."
    )
    await page.click("#send")
    said = await shopper.wait_for(
        "message", scaled(10), where=lambda f: f["from"]["role"] == "agent"
    )
    assert said["text"].startswith("How should I store my tea?")
    await shopper.close()

    # The link's page, as the shopper's browser shows it: the article, styled, no script.
    help_page = await page.context.new_page()
    refused: list[str] = []
    help_page.on("console", lambda m: refused.append(m.text) if m.type == "error" else None)
    answer = await help_page.goto(link)
    assert answer is not None and answer.status == 200
    await expect(help_page.locator("h1")).to_have_text("How should I store my tea?")
    await expect(help_page.locator("html")).to_have_attribute("lang", "en")
    width = await help_page.locator("main").evaluate("m => getComputedStyle(m).maxWidth")
    assert width == "704px"  # its own style is allowed by the CSP (44rem)
    assert await help_page.locator("script").count() == 0 and not refused


async def test_the_reports_page_shows_the_requests_answered_by_articles(
    page: Page, redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key, departments=("sales", "support"))
    await make_agent(redis, site, f"{site_key}-sue", role=Role.SUPERVISOR)
    await Articles(redis).save(site.key, [STORAGE])
    async with httpx.AsyncClient(base_url=server.base_url, trust_env=False) as http:
        for _ in range(2):
            answer = await http.post(f"/api/v1/sites/{site.key}/articles/en-storage/feedback",
                                     json={"helpful": True})  # fmt: skip
            assert answer.status_code == 204
    shopper, _ = await shopper_client(server, site)
    await shopper.send({"type": "start", "client_msg_id": "s1", "text": "hello"})
    await shopper.wait_for("ack", scaled(10), client_msg_id="s1")
    await shopper.close()
    await sign_in(page, server, f"{site_key}-sue")
    await page.goto(f"{server.base_url}/console/reports")
    summary = page.locator("#summary-more")
    await expect(summary.locator('dd[data-kpi="deflected"]')).to_have_text("2")
    await expect(summary.locator('dd[data-kpi="deflection_rate"]')).to_have_text("66.7%")
    await expect(summary).to_contain_text("Answered by articles")
    days = page.locator("#days-table td[data-kpi='deflected']", has_text="2")
    await expect(days).to_have_count(1)
