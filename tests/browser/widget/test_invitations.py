"""Proactive invitations in Chromium: the site's rules (widget-config `invitations`) run in the
chat UI, which the loader imports early; a rule that fits shows a greeting beside the launcher,
which is not a conversation until the shopper answers.

A rule that must NOT show is checked with a second, later rule (a few seconds on the page):
rules are evaluated every second in the site's order, so when the later one shows, the first
one did not fit during all that time."""

from __future__ import annotations

import uuid
from typing import Any

from playwright.async_api import Page, expect
from redis.asyncio import Redis

from chatserver.kb.model import parse_rules
from chatserver.store import keys
from chatserver.store.articles import Articles
from tests.browser.widget.shop import Shop, make_shop, panel, write
from tests.browser.widget.test_a11y import _axe_problems
from tests.conftest import scaled

LATER = {"id": "later", "seconds_on_page": 2, "messages": {"en": "Anything we can help with?"}}


async def set_rules(shop: Shop, rules: list[dict[str, Any]]) -> None:
    await Articles(shop.redis).set_invitations(shop.site.key, parse_rules(rules))


def invitation(page: Page) -> Any:
    return page.locator("chat-widget .gb.iv")


async def page_time(page: Page) -> float:
    """Seconds since the page started loading (the clock `seconds_on_page` reads)."""
    return float(await page.evaluate("performance.now()")) / 1000


async def test_time_on_page_greets_after_the_seconds_and_answering_opens_the_chat(
    store_page: Page, shop: Shop
) -> None:
    page = store_page
    wait = int(scaled(6))
    await set_rules(shop, [{"id": "wait", "seconds_on_page": wait,
                            "messages": {"en": "Still looking? Ask us anything."}}])  # fmt: skip
    agent = await shop.agent()
    await page.goto(shop.url("/demo/en"))
    await expect(page.locator("chat-widget .l")).to_be_visible()
    assert await invitation(page).count() == 0 and await page_time(page) < wait

    await expect(invitation(page).locator(".gt")).to_have_text(
        "Still looking? Ask us anything.", timeout=scaled(20_000)
    )
    assert await page_time(page) >= wait
    assert await invitation(page).get_attribute("data-rule") == "wait"
    assert await _axe_problems(page) == []
    assert not await shop.redis.keys(keys.conversation(shop.site.key, "*"))  # a greeting only

    await invitation(page).locator(".gt").click()
    await expect(panel(page)).to_be_visible()
    await expect(page.locator("chat-widget .w0")).to_have_text("Still looking? Ask us anything.")
    await expect(invitation(page)).to_have_count(0)
    await write(page, "Do you have green tea?")
    await agent.wait_for("message", scaled(10), text="Do you have green tea?")


async def test_cart_value_decides(store_page: Page, shop: Shop) -> None:
    page = store_page
    big = {"id": "big-cart", "url": "/demo/*/cart", "min_cart_value": 300,
           "messages": {"en": "Big order? Free gift wrap: ask us."}}  # fmt: skip
    await set_rules(shop, [big, LATER])
    await page.goto(shop.url("/demo/en"))
    await page.evaluate("demoSaveCart([{sku: 'tea-longjing', qty: 2}])")  # 256: below 300
    await page.goto(shop.url("/demo/en/cart"))
    await expect(invitation(page)).to_have_attribute("data-rule", "later")

    await page.evaluate("demoSaveCart([{sku: 'tea-longjing', qty: 3}])")  # 384
    await page.reload()
    await expect(invitation(page)).to_have_attribute("data-rule", "big-cart")
    await expect(invitation(page)).to_contain_text("Big order? Free gift wrap: ask us.")


async def test_an_invitation_shows_once_per_day(store_page: Page, shop: Shop) -> None:
    page = store_page
    await set_rules(shop, [{"id": "hello", "messages": {"en": "Hello there!"}}, LATER])
    await page.goto(shop.url("/demo/en"))
    await expect(invitation(page)).to_have_attribute("data-rule", "hello")
    await page.reload()
    await expect(invitation(page)).to_have_attribute("data-rule", "later")  # hello is capped

    # A day later it may show again: make its last showing a day old.
    await page.evaluate(
        """(key) => { const kept = JSON.parse(localStorage.getItem(key));
                      kept.shown.hello -= 24 * 3600 * 1000; kept.shown.later = Date.now();
                      localStorage.setItem(key, JSON.stringify(kept)); }""",
        f"chatw:v1:{shop.site.key}:invite",
    )
    await page.reload()
    await expect(invitation(page)).to_have_attribute("data-rule", "hello")


async def test_not_shown_when_no_agent_has_room(store_page: Page, shop: Shop, redis: Redis) -> None:
    page = store_page
    rules = [{"id": "room", "needs_room": True, "messages": {"en": "An agent is free now!"}}, LATER]
    await set_rules(shop, rules)
    await shop.agent(online=False)  # signed in, not online: no room
    await page.goto(shop.url("/demo/en"))
    await expect(invitation(page)).to_have_attribute("data-rule", "later")

    # Another site of the same server whose agent is online with free slots (the live
    # figures are cached per site for 30 s, so a fresh site rather than waiting).
    other = await make_shop(shop.server, redis, f"t{uuid.uuid4().hex[:12]}")
    await set_rules(other, rules)
    await other.agent()
    await page.goto(other.url("/demo/en"))
    await expect(invitation(page)).to_have_attribute("data-rule", "room")
