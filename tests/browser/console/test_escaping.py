"""HTML and script in what customers, stores and shoppers send (names, messages, order items,
page titles) render as text in the console: nothing of it becomes markup."""

from __future__ import annotations

from playwright.async_api import Page, expect
from redis.asyncio import Redis

from chatserver.client import Client
from tests.browser.console.conftest import chat, go_online, open_chat, sign_in
from tests.conftest import scaled
from tests.integration.servers import ServerProcess
from tests.integration.web.shop import allow_pushes, claim, order, push
from tests.integration.world import make_agent, make_site

NAME = "<img src=x onerror=\"document.title='pwned'\">Eve"
ITEM = "<script>document.title='pwned'</script>Vase"
NUMBER = "<b>77</b>"
MESSAGE = "<img src=x onerror=alert(1)> <b>bold</b> & \"quotes\" <a href='javascript:x'>x</a>"
CONTACT = "<i>Mallory</i>"
PAGE_TITLE = "<svg onload=alert(1)>Shoes"


async def test_markup_from_customers_stores_and_shoppers_renders_as_text(
    page: Page, redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key, departments=("sales",))
    await make_agent(redis, site, f"{site_key}-amy")
    await allow_pushes(redis, site)
    await push(
        server,
        site,
        {
            "customers": [{"id": "c-eve", "name": NAME, "updated_at": 1}],
            "orders": [order("c-eve", NUMBER, placed=1, items=[{"name": ITEM, "quantity": 1}])],
        },
    )
    await sign_in(page, server, f"{site_key}-amy")
    await go_online(page)

    eve = Client(f"{server.ws_url}/ws/v1/shopper?site={site_key}")
    await eve.connect()
    await eve.send({"type": "hello", "customer": claim(site, "c-eve")})
    await eve.wait_for("welcome", scaled(10))
    await eve.send({"type": "start", "text": MESSAGE, "client_msg_id": "m1"})
    conv = (await eve.wait_for("ack", scaled(10), client_msg_id="m1"))["conversation_id"]
    await eve.send(
        {
            "type": "context",
            "conversation_id": conv,
            "page": {"title": PAGE_TITLE, "url": "javascript:alert(1)"},
            "cart": {"items": [{"name": ITEM, "quantity": 2}], "total": "<b>9</b>"},
        }
    )

    mallory = Client(f"{server.ws_url}/ws/v1/shopper?site={site_key}")
    await mallory.connect()
    await mallory.send({"type": "hello"})
    await mallory.wait_for("welcome", scaled(10))
    await mallory.send({"type": "start", "name": CONTACT, "text": "hi", "client_msg_id": "m1"})
    other = (await mallory.wait_for("ack", scaled(10), client_msg_id="m1"))["conversation_id"]

    await expect(chat(page, other)).to_contain_text(CONTACT)
    await open_chat(page, conv)
    await expect(chat(page, conv).locator(".label")).to_have_text(NAME)
    await expect(page.locator("#transcript .message.shopper .text")).to_have_text(MESSAGE)
    panel = page.locator("#panel")
    await expect(panel.locator(".name")).to_have_text(NAME)
    await expect(panel.locator(".page .title")).to_have_text(PAGE_TITLE)
    await expect(panel.locator(".cart li")).to_have_text([f"{ITEM} × 2"])
    await panel.locator(".order summary").click()
    await expect(panel.locator(".order .number")).to_have_text(NUMBER)
    await expect(panel.locator(".order .item")).to_have_text([f"{ITEM} × 1"])
    await expect(page.locator("#conversation-title")).to_have_text(NAME)

    markup = "img, script:not([src]), svg, b, i, #transcript a, #panel .page a"
    await expect(page.locator("main").locator(markup)).to_have_count(0)
    await expect(page).not_to_have_title("pwned")
    for client in (eve, mallory):
        await client.close()
