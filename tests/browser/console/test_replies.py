"""Quick replies in the composer: `/` searches them; variables are filled from this
conversation's customer and order; a missing one is shown, never sent blank."""

from __future__ import annotations

from playwright.async_api import Page, expect
from redis.asyncio import Redis

from chatserver.core.replies import QuickReply
from chatserver.store.replies import QuickReplies
from tests.browser.console.conftest import go_online, open_chat, sign_in
from tests.conftest import scaled
from tests.integration.servers import ServerProcess
from tests.integration.web.shop import allow_pushes, customer_chat, order, push
from tests.integration.world import make_agent, make_site


async def test_a_quick_reply_inserts_the_number_of_this_customers_latest_order(
    page: Page, redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key, departments=("sales",))
    await make_agent(redis, site, f"{site_key}-amy")
    await allow_pushes(redis, site)
    await push(
        server,
        site,
        {
            "orders": [
                order("c-5", "A-1", placed=1000),
                order("c-5", "A-3", placed=3000),
                order("c-5", "A-2", placed=2000),
                order("c-6", "B-1", placed=9000),
            ]
        },
    )
    replies = QuickReplies(redis)
    for shortcut, text in (
        ("order", "Your order {{ order.number }} is on its way."),
        ("hello", "Hello {{ customer.name | default('there') }}!"),
    ):
        await replies.save(site_key, QuickReply("", "shared", shortcut, shortcut.title(), text), 1)
    await sign_in(page, server, f"{site_key}-amy")
    await go_online(page)
    shopper, conv = await customer_chat(server, site, "c-5", "where is my order?")
    stranger, anon = await customer_chat(server, site, None, "hi")

    await open_chat(page, conv)
    composer = page.locator("#composer")
    await composer.fill("/ord")
    popup = page.locator("#replies .reply")
    await expect(popup).to_have_count(1)
    await expect(popup).to_contain_text("/order")
    await composer.press("Enter")
    await expect(composer).to_have_value("Your order A-3 is on its way.")
    await composer.press("Enter")
    sent = await shopper.wait_for(
        "message", scaled(10), conversation_id=conv, where=lambda f: f["from"]["role"] == "agent"
    )
    assert sent["text"] == "Your order A-3 is on its way."

    await open_chat(page, anon)
    await composer.fill("/")
    await expect(popup).to_have_count(2)
    await composer.press("ArrowDown")  # "hello" comes first (by shortcut), then "order"
    await composer.press("Enter")
    warning = page.locator("#composer-warning")
    await expect(warning).to_be_visible()
    await expect(warning.locator(".missing li")).to_have_text(["{{ order.number }}"])
    await expect(composer).to_have_value("")
    await composer.fill("/hel")
    await composer.press("Tab")
    await expect(composer).to_have_value("Hello there!")
    for client in (shopper, stranger):
        await client.close()
