"""The console as a workspace: the queue beside my chats, conversation search, tags, quick-reply
previews filled for the customer, keyboard help, and axe finding no violation on its pages."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Browser, Page, expect
from redis.asyncio import Redis

from chatserver.core.model import Role
from tests.browser.console.conftest import chat, go_online, sign_in
from tests.conftest import scaled
from tests.integration.servers import ServerProcess
from tests.integration.web.shop import api_client, customer_chat
from tests.integration.world import make_agent, make_site, shopper_client

AXE = Path(__file__).resolve().parents[3] / "node_modules" / "axe-core" / "axe.min.js"


async def _axe(page: Page) -> list[str]:
    await page.add_script_tag(path=str(AXE))
    found = await page.evaluate(
        """async () => (await axe.run(document, { resultTypes: ["violations"] })).violations
            .map(v => v.id + ": " + v.nodes.map(n => n.target.join(" ")).join(", "))"""
    )
    return [str(v) for v in found]


async def test_the_queue_search_tags_previews_and_keyboard_help(
    page: Page, redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key, departments=("sales",))
    await make_agent(redis, site, f"{site_key}-amy", capacity=1)
    await sign_in(page, server, f"{site_key}-amy")
    await go_online(page, capacity=1)
    shopper, mine = await customer_chat(server, site, None, "Is the Longjing tea fresh?")
    await expect(chat(page, mine)).to_be_visible()
    waiting, queued = await customer_chat(server, site, None, "I am next in line")
    row = page.locator(f'#queue-list [data-conversation-id="{queued}"]')
    await expect(row).to_contain_text("I am next in line")
    await expect(row.locator(".next")).to_be_visible()

    await page.fill("#tag-input", "Freshness")
    await page.press("#tag-input", "Enter")
    await expect(page.locator("#tag-list .tag")).to_have_text(["freshness×"])

    async with await api_client(server, f"{site_key}-amy") as amy:
        text = "Hello {{ customer.name | default('there') }}!"
        reply = {"shortcut": "hi", "title": "Greeting", "text": text}
        made = await amy.post("/api/v1/quick-replies", json=reply)
        assert made.status_code == 201
    await page.reload()
    await expect(page.locator("#link-state")).to_have_text("Connected")
    await page.fill("#composer", "/hi")
    await expect(page.locator("#replies .preview.filled")).to_have_text("Hello there!")
    await page.keyboard.press("Escape")
    await page.fill("#composer", "")

    await page.keyboard.press("Alt+k")
    await expect(page.locator("#search")).to_be_focused()
    await page.keyboard.type("longjing")
    await page.keyboard.press("Enter")
    result = page.locator(f'#search-results [data-conversation-id="{mine}"]')
    await expect(result).to_contain_text("Longjing tea")
    await result.click()
    await expect(page.locator("#past-transcript")).to_contain_text("Is the Longjing tea fresh?")
    await page.keyboard.press("Escape")
    await page.keyboard.press("Escape")

    await page.click("#chats-heading")  # out of the text fields
    await page.keyboard.press("?")
    await expect(page.locator("#help-dialog")).to_be_visible()
    await expect(page.locator("#help-dialog")).to_contain_text("search conversations")
    for client in (shopper, waiting):
        await client.close()


async def test_axe_finds_no_violation_in_the_chat_view_the_supervisors_view_or_reports(
    browser: Browser, redis: Redis, site_key: str, server: ServerProcess
) -> None:
    context = await browser.new_context(bypass_csp=True)  # axe is injected as a script
    try:
        await _check_pages(await context.new_page(), redis, site_key, server)
    finally:
        await context.close()


async def _check_pages(page: Page, redis: Redis, site_key: str, server: ServerProcess) -> None:
    site = await make_site(redis, site_key, departments=("sales",))
    await make_agent(redis, site, f"{site_key}-sue", role=Role.SUPERVISOR)
    await page.goto(f"{server.base_url}/console/login")
    assert await _axe(page) == []
    await sign_in(page, server, f"{site_key}-sue")
    await go_online(page)
    shopper, conv = await customer_chat(server, site, None, "See https://shop.example/p/1")
    await expect(chat(page, conv)).to_be_visible()
    await chat(page, conv).click()
    await expect(page.locator("#transcript .message a")).to_be_visible()
    other, _ = await shopper_client(server, site)
    assert await _axe(page) == []  # three columns, a chat, the queue, tags
    await page.goto(f"{server.base_url}/console/supervisor")
    await expect(page.locator("#agents tr")).to_have_count(1, timeout=scaled(10) * 1000)
    assert await _axe(page) == []
    await page.goto(f"{server.base_url}/console/reports")
    await expect(page.locator("#chart-hours canvas")).to_have_count(1)
    await expect(page.locator("#agents-table tbody tr")).not_to_have_count(0)
    assert await _axe(page) == []  # charts, tables, filters
    for client in (shopper, other):
        await client.close()
