"""The demo's mailbox (`chatserver demo`: a local SMTP sink and /demo/mailbox): the
acknowledgement of a left message shows there, and a reply written there reaches the agent's
console through the inbound path, marked as come by email."""

from __future__ import annotations

import asyncio

from playwright.async_api import Page, expect
from redis.asyncio import Redis

from tests.browser.console.conftest import go_online, sign_in
from tests.browser.console.test_inbox import leave_message
from tests.conftest import scaled
from tests.integration.conftest import StartServer
from tests.integration.world import make_agent, make_site


async def test_the_demo_mailbox_shows_the_acknowledgement_and_its_reply_reaches_the_console(
    page: Page, second_page: Page, redis: Redis, site_key: str, servers: StartServer
) -> None:
    server = await servers(demo=True)
    site = await make_site(redis, site_key, departments=("sales",))
    await make_agent(redis, site, f"{site_key}-amy")
    name = f"Li{site_key[-6:]}"  # the demo mailbox is shared by every test of the session
    shopper, conv = await leave_message(server, site, name, "Do you ship to Shanghai?")
    await shopper.close()

    await page.goto(f"{server.base_url}/demo/mailbox")
    ack = page.locator("article.mail", has_text=f"{name.lower()}@example.com").filter(
        has_text="We received your message"
    )
    async with asyncio.timeout(scaled(20)):  # the page shows what the sink got so far
        while not await ack.count():
            await page.reload()
    await expect(ack).to_contain_text(f"Hello {name}")

    await sign_in(second_page, server, f"{site_key}-amy")
    await go_online(second_page)
    await (
        second_page.locator("#inbox-list .left-message").get_by_role("button", name="Take").click()
    )
    transcript = second_page.locator("#transcript")
    await expect(transcript).to_contain_text("Do you ship to Shanghai?")

    await ack.locator("textarea").fill("Also: can you gift-wrap it?")
    await ack.get_by_role("button", name="Send reply").click()
    await expect(page.locator("#result")).to_have_text("Reply appended")
    line = transcript.locator(".entry.shopper", has_text="Also: can you gift-wrap it?")
    await expect(line).to_be_visible()
    await expect(line.locator(".via-email")).to_have_text("by email")
    assert "wrote:" not in await line.locator(".text").inner_text()  # the quote was cut
    assert "Do you ship" not in await line.locator(".text").inner_text()
    assert conv in (await second_page.locator("#panel").get_attribute("data-conversation-id") or "")
