"""Answers before the queue: while the shopper writes the first question, the site's articles
that answer it appear in the widget; one opens inside the panel; "this answered my question"
ends there, "talk to someone" starts the chat with the question already sent."""

from __future__ import annotations

from pathlib import Path

import orjson
from playwright.async_api import Page, expect

from chatserver.kb.model import article_from_dict
from chatserver.store import keys
from chatserver.store.articles import Articles
from tests.browser.widget.shop import Shop, conversation_id, open_chat, wait_message
from tests.browser.widget.test_a11y import _axe_problems
from tests.conftest import scaled

DEMO_ARTICLES = Path(__file__).parents[3] / "chatserver" / "kb" / "demo_articles.json"
RETURNS = "退货退款政策：30天无忧退换"


async def stock_articles(shop: Shop) -> None:
    """The demo store's articles (both languages) in the test's site."""
    raw = orjson.loads(DEMO_ARTICLES.read_bytes())["articles"]
    articles = [article_from_dict({**a, "department": None, "updated_at": 1}) for a in raw]
    await Articles(shop.redis).save(shop.site.key, articles)


async def test_a_shopper_reads_the_returns_article_then_talks_to_someone_who_sees_both(
    store_page: Page, shop: Shop
) -> None:
    page = store_page
    await stock_articles(shop)
    agent = await shop.agent()
    await page.goto(shop.url("/demo/zh"))
    await open_chat(page)
    box = page.locator("chat-widget .c textarea")
    await box.press_sequentially("退货")

    suggestions = page.locator("chat-widget .fq .qi")
    await expect(suggestions.first).to_be_visible()
    assert await suggestions.count() <= 3
    returns = suggestions.filter(has_text=RETURNS)
    await expect(returns).to_have_count(1)
    assert await _axe_problems(page) == []  # the suggestions
    await returns.click()

    reader = page.locator("chat-widget .fr")
    await expect(reader.locator("h3")).to_have_text(RETURNS)
    await expect(reader.locator(".qb")).to_contain_text("30")
    await expect(page.locator("chat-widget .g")).to_be_hidden()  # the article in place of the log
    assert await reader.locator(".qb script, .qb [onclick], .qb style").count() == 0
    assert await _axe_problems(page) == []  # the article in the panel

    await reader.get_by_role("button", name="联系人工客服").click()
    conv = await agent.wait_for("conversation", scaled(10), state="assigned")
    assert [a["title"] for a in conv["articles_read"]] == [RETURNS]
    assert conv["articles_read"][0]["id"] == "zh-returns"
    asked = await agent.wait_for("message", scaled(10), conversation_id=conversation_id(conv))
    assert asked["text"] == "退货"  # nobody asks twice
    await wait_message(page, "退货")
    await expect(reader).to_be_hidden()
    await expect(page.locator("chat-widget .fq")).to_be_hidden()
    await expect(box).to_have_value("")
    stored = await shop.conversation(conversation_id(conv))
    assert orjson.loads(stored["x:articles_read"])[0]["id"] == "zh-returns"


async def test_this_answered_my_question_is_recorded_and_no_chat_starts(
    store_page: Page, shop: Shop
) -> None:
    page = store_page
    await stock_articles(shop)
    await shop.agent()  # someone to talk to: the composer, not the leave-a-message form
    await page.goto(shop.url("/demo/en"))
    await open_chat(page)
    await page.locator("chat-widget .c textarea").press_sequentially("how should I store tea")
    storage = page.locator("chat-widget .fq .qi", has_text="How should I store my tea?")
    await storage.click()
    await expect(page.locator("chat-widget .fr h3")).to_have_text(
        "How should I store my tea? How long does it keep?"
    )
    async with page.expect_response(lambda r: r.url.endswith("/feedback")) as answer:
        await page.get_by_role("button", name="This answered my question").click()
    response = await answer.value
    assert response.status == 204
    assert orjson.loads(response.request.post_data or "{}")["helpful"] is True
    await expect(page.locator("chat-widget .fr .qt")).to_have_text(
        "Glad we could help! If anything else comes up, we are here."
    )
    await expect(page.locator("chat-widget .c textarea")).to_have_value("")
    assert not await shop.redis.keys(keys.conversation(shop.site.key, "*"))

    await page.get_by_role("button", name="Close", exact=True).click()
    await expect(page.locator("chat-widget .p")).to_be_hidden()
