"""Nobody online, or outside business hours: the shopper leaves a message with their email,
is told when to expect the answer, the message waits in the inbox (out of the live queue) for
the agents however long the shopper is away, and the answer reaches the shopper on their next
visit."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
from playwright.async_api import BrowserContext, Page, expect
from redis.asyncio import Redis

from chatserver.core.model import Role
from chatserver.core.widget_settings import DAYS, WidgetSettings
from chatserver.store import keys
from tests.browser.widget.shop import launcher, make_shop, open_chat, wait_message
from tests.conftest import scaled
from tests.integration.conftest import StartServer
from tests.integration.world import agent_client, login, make_agent, shopper_client, start_chat


async def test_a_message_left_while_nobody_is_online_is_answered_on_the_next_visit(
    store_page: Page, context: BrowserContext, servers: StartServer, redis: Redis, site_key: str
) -> None:
    page = store_page
    server = await servers(CHAT_QUEUE_HOLD_SECONDS=1, CHAT_SWEEP_SECONDS=0.2)
    shop = await make_shop(server, redis, site_key)
    await page.goto(shop.url())
    await open_chat(page)
    form = page.locator("chat-widget form.f:not([hidden])")
    await expect(form).to_contain_text("No one is available right now")
    await form.locator("input[name=email]").fill("li@example.com")
    await form.locator("textarea").fill("Do you ship the silk scarf to Shanghai?")
    await form.locator("button[type=submit]").click()
    ack = page.locator("chat-widget .y", has_text="We have your message")
    await expect(ack).to_contain_text("reply to li@example.com within 24 hours")
    await wait_message(page, "Do you ship the silk scarf to Shanghai?")

    # A control chat of another shopper is abandoned after the queue hold; ours is not.
    supervisor = await make_agent(redis, shop.site, f"{site_key}-sup", role=Role.SUPERVISOR)
    watcher = await agent_client(server, supervisor.login, online=False)
    other, _ = await shopper_client(server, shop.site)
    control = await start_chat(other, "anyone?")
    await watcher.send({"type": "resume", "conversation_id": control, "epoch": 1, "after": "0"})
    await page.close()  # the shopper leaves
    await other.close()
    await watcher.wait_for("event", scaled(15), event="abandoned", conversation_id=control)
    convs = await redis.zrange(keys.inbox(site_key, "sales"), 0, -1)
    assert len(convs) == 1, "the left message waits in the inbox"
    assert await redis.zcard(keys.queue(site_key, "sales")) == 0, "out of the live queue"
    cid = str(convs[0])
    stored = await shop.conversation(cid)
    assert stored["state"] == "left" and stored["x:email"] == "li@example.com"

    # Later an agent comes online and takes it from the inbox: it is theirs, with the email.
    await make_agent(redis, shop.site, f"{site_key}-amy")
    agent = await agent_client(server, f"{site_key}-amy")
    async with httpx.AsyncClient(base_url=server.base_url, trust_env=False) as http:
        token = await login(server, f"{site_key}-amy")
        taken = await http.post(f"/api/v1/inbox/{cid}/take",
                                headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert taken.status_code == 200
    await agent.wait_for("conversation", scaled(10), conversation_id=cid, state="assigned")
    await agent.wait_for("message", scaled(10), text="Do you ship the silk scarf to Shanghai?")
    contact = await agent.wait_for("event", scaled(10), event="contact")
    assert contact["contact"]["email"] == "li@example.com" and contact["left_message"]
    await agent.send({"type": "message", "conversation_id": cid, "client_msg_id": "r1",
                      "text": "Yes, in 2 days, free of charge."})  # fmt: skip
    await agent.wait_for("ack", scaled(10), client_msg_id="r1")

    # The next visit: the widget loads by itself and shows the answer as unread.
    page = await context.new_page()
    await page.goto(shop.url("/demo/en/cart"))
    await expect(launcher(page)).to_have_attribute("aria-label", "Chat with us (1 unread)")
    await launcher(page).click()
    await wait_message(page, "Yes, in 2 days, free of charge.")
    await expect(launcher(page)).to_have_attribute("aria-label", "Chat with us")
    await agent.wait_for("read", scaled(10), role="shopper")
    await agent.close()
    await watcher.close()


async def test_outside_business_hours_the_widget_says_when_the_store_opens(
    store_page: Page, servers: StartServer, redis: Redis, site_key: str
) -> None:
    page = store_page
    in_three_days = datetime.now(UTC) + timedelta(days=3)
    hours = WidgetSettings(timezone="UTC", hours={DAYS[in_three_days.weekday()]: "09:00-17:00"})
    server = await servers()
    shop = await make_shop(server, redis, site_key, hours)
    agent = await shop.agent()  # online, but the store is closed
    await page.goto(shop.url())
    await open_chat(page)
    form = page.locator("chat-widget form.f:not([hidden])")
    await expect(form).to_contain_text("We are closed now and back")
    await form.locator("input[name=email]").fill("not-an-email")
    await form.locator("textarea").fill("Hello")
    await form.locator("button[type=submit]").click()
    await expect(form.locator("[role=alert]")).to_have_text("Please enter a valid email address.")
    await form.locator("input[name=email]").fill("li@example.com")
    await form.locator("button[type=submit]").click()
    ack = page.locator("chat-widget .y", has_text="We have your message")
    await expect(ack).to_contain_text("after we open")
    assert hours.next_open_ms(int(time.time() * 1000)) is not None
    await agent.close()
