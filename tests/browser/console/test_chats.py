"""My chats: capacity, the queue moving by itself, new-chat signals, keyboard shortcuts,
typing and read receipts."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect
from redis.asyncio import Redis

from tests.browser.console.conftest import chat, go_online, open_chat, sign_in
from tests.conftest import scaled
from tests.integration.servers import ServerProcess
from tests.integration.web.shop import customer_chat
from tests.integration.world import make_agent, make_site


async def test_capacity_two_takes_two_chats_and_the_third_arrives_when_one_closes(
    page: Page, redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key, departments=("sales",))
    await make_agent(redis, site, f"{site_key}-amy", capacity=3)
    await sign_in(page, server, f"{site_key}-amy")
    await go_online(page, capacity=2)
    await page.click("#chats-heading")  # browsers allow sound after the first user gesture

    first, one = await customer_chat(server, site, None, "first question")
    await expect(chat(page, one)).to_be_visible()
    await expect(page.locator("body")).to_have_attribute("data-chimes", "1")
    second, two = await customer_chat(server, site, None, "second question")
    await expect(chat(page, two)).to_be_visible()
    await expect(page.locator("body")).to_have_attribute("data-chimes", "2")
    await expect(page).to_have_title(re.compile(r"^\(1\) "))  # the new chat waits for a look
    third, three = await customer_chat(server, site, None, "third question")
    queued = await third.wait_for("queue", scaled(10), conversation_id=three)
    assert queued["position"] == 1
    await expect(page.locator("#chat-list .chat")).to_have_count(2)
    await expect(page.locator("#load")).to_have_text("2 / 2")

    await open_chat(page, one)
    await page.click("#close")
    await page.select_option("#close-outcome", "resolved")
    await page.click("#close-submit")
    await expect(chat(page, three)).to_be_visible()
    await expect(chat(page, one)).to_have_count(0)
    await expect(page.locator("#chat-list .chat")).to_have_count(2)
    assigned = await third.wait_for(
        "conversation", scaled(10), conversation_id=three, state="assigned"
    )
    assert assigned["agent"]["name"] == f"{site_key}-amy".title()
    closed = await first.wait_for("event", scaled(10), conversation_id=one, event="closed")
    assert closed["outcome"] == "resolved"
    for client in (first, second, third):
        await client.close()


async def test_shortcuts_switch_chats_and_send_and_the_customer_sees_typing_and_read(
    page: Page, redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key, departments=("sales",))
    await make_agent(redis, site, f"{site_key}-amy")
    await sign_in(page, server, f"{site_key}-amy")
    await go_online(page)
    first, one = await customer_chat(server, site, None, "hello one")
    await expect(chat(page, one)).to_be_visible()
    second, two = await customer_chat(server, site, None, "hello two")
    await expect(chat(page, two)).to_be_visible()
    await expect(chat(page, two).locator(".unread")).to_have_text("1")
    await expect(chat(page, two).locator(".waiting")).to_have_text(re.compile(r"^\d+:\d\d$"))

    await page.keyboard.press("Alt+2")
    await expect(chat(page, two)).to_have_attribute("aria-current", "true")
    await expect(chat(page, two).locator(".unread")).to_have_count(0)
    await expect(page).not_to_have_title(re.compile(r"^\("))
    read = await second.wait_for("read", scaled(10), conversation_id=two)
    assert read["role"] == "agent"

    await second.send({"type": "typing", "conversation_id": two, "typing": True})
    await expect(page.locator("#typing")).to_be_visible()
    await page.fill("#composer", "Hello, how can I help?")
    typing = await second.wait_for("typing", scaled(10), conversation_id=two, typing=True)
    assert typing["role"] == "agent"
    await page.keyboard.press("Enter")
    sent = await second.wait_for(
        "message", scaled(10), conversation_id=two, where=lambda f: f["from"]["role"] == "agent"
    )
    assert sent["text"] == "Hello, how can I help?"
    await second.send({"type": "read", "conversation_id": two, "up_to": sent["id"]})
    mine = page.locator(f'#transcript .message.agent[data-id="{sent["id"]}"]')
    await expect(mine.locator(".status.read")).to_be_visible()
    await expect(chat(page, two).locator(".waiting")).to_have_count(0)

    await page.keyboard.press("Alt+ArrowUp")
    await expect(chat(page, one)).to_have_attribute("aria-current", "true")
    await expect(page.locator("#transcript")).to_contain_text("hello one")
    for client in (first, second):
        await client.close()
