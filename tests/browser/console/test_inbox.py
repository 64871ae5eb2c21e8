"""The console's inbox: messages left while nobody was online wait there, out of the queue;
"Take" makes one my chat (within my capacity) and opens it."""

from __future__ import annotations

from playwright.async_api import Page, expect
from redis.asyncio import Redis

from chatserver.client import Client
from chatserver.core.model import Site
from tests.browser.console.conftest import chat, go_online, sign_in
from tests.conftest import scaled
from tests.integration.servers import ServerProcess
from tests.integration.world import make_agent, make_site, shopper_client


async def leave_message(
    server: ServerProcess, site: Site, name: str, text: str
) -> tuple[Client, str]:
    shopper, _ = await shopper_client(server, site)
    await shopper.send({"type": "start", "text": text, "client_msg_id": "m1", "name": name,
                        "email": f"{name.lower()}@example.com", "leave_message": True})  # fmt: skip
    ack = await shopper.wait_for("ack", scaled(10), client_msg_id="m1")
    return shopper, str(ack["conversation_id"])


async def test_an_agent_takes_a_left_message_from_the_inbox_within_capacity(
    page: Page, redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key, departments=("sales",))
    await make_agent(redis, site, f"{site_key}-amy", capacity=3)
    li, first = await leave_message(server, site, "Li", "Do you ship to Shanghai?")
    wang, second = await leave_message(server, site, "Wang", "Is the scarf silk?")

    await sign_in(page, server, f"{site_key}-amy")
    await go_online(page, capacity=1)
    items = page.locator("#inbox-list .left-message")
    await expect(items).to_have_count(2)  # oldest first, and nobody was given either
    await expect(items.first).to_contain_text("Li")
    await expect(items.first).to_contain_text("Do you ship to Shanghai?")
    await expect(page.locator("#inbox-count")).to_have_text("2")
    await expect(page.locator("#chat-list .chat")).to_have_count(0)

    await items.first.get_by_role("button", name="Take").click()
    await expect(chat(page, first)).to_have_attribute("aria-current", "true")
    await expect(page.locator("#transcript")).to_contain_text("Do you ship to Shanghai?")
    await expect(items).to_have_count(1)
    await li.wait_for("conversation", scaled(10), conversation_id=first, state="assigned")

    # Full (one chat at once): the second stays in the inbox, and the console says why.
    await items.first.get_by_role("button", name="Take").click()
    await expect(page.locator("#toasts")).to_contain_text("No free slot")
    await expect(items).to_have_count(1)
    await expect(page.locator(f'#inbox-list [data-conversation-id="{second}"]')).to_be_visible()
    for client in (li, wang):
        await client.close()
