"""The customer panel beside each conversation: the right customer's orders (pushed through
the signed endpoint), switching with the chat; nothing for an unverified claim; orders into a
reply; earlier conversations a click away."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect
from redis.asyncio import Redis

from tests.browser.console.conftest import chat, go_online, open_chat, sign_in
from tests.conftest import scaled
from tests.integration.servers import ServerProcess
from tests.integration.web.shop import allow_pushes, customer_chat, order, push
from tests.integration.world import make_agent, make_site


async def test_the_panel_shows_the_orders_of_the_selected_chats_customer(
    page: Page, redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key, departments=("sales",))
    await make_agent(redis, site, f"{site_key}-amy")
    await allow_pushes(redis, site)
    pushed = await push(
        server,
        site,
        {
            "customers": [
                {
                    "id": "c-emma",
                    "name": "Emma Wilson",
                    "email": "emma@example.com",
                    "updated_at": 1,
                },
                {"id": "c-li", "name": "李娜", "updated_at": 1},
            ],
            "orders": [
                order("c-emma", "E-100", placed=1_700_000_000_000),
                order(
                    "c-emma",
                    "E-200",
                    placed=1_710_000_000_000,
                    status="delivered",
                    tracking_url="https://track.example/E-200",
                ),
                order("c-li", "L-900", placed=1_705_000_000_000),
            ],
        },
    )
    assert pushed.status_code == 200
    await sign_in(page, server, f"{site_key}-amy")
    await go_online(page)
    emma, emma_conv = await customer_chat(server, site, "c-emma", "where is my sweater?")
    li, li_conv = await customer_chat(server, site, "c-li", "你好")
    await expect(chat(page, li_conv)).to_contain_text("李娜")

    panel = page.locator("#panel")
    orders = panel.locator(".order .number")
    await open_chat(page, emma_conv)
    await expect(panel.locator(".name")).to_have_text("Emma Wilson")
    await expect(panel.locator(".badge.verified")).to_be_visible()
    await expect(orders).to_have_text(["E-200", "E-100"])  # newest first
    await open_chat(page, li_conv)
    await expect(panel.locator(".name")).to_have_text("李娜")
    await expect(orders).to_have_text(["L-900"])
    await page.keyboard.press("Alt+1")
    await expect(panel).to_have_attribute("data-conversation-id", emma_conv)
    await expect(orders).to_have_text(["E-200", "E-100"])

    latest = panel.locator('.order[data-number="E-200"]')
    await latest.locator("summary").click()
    await expect(latest.locator(".item")).to_have_text(["Item of E-200 × 1 · 10.00"])
    await expect(latest.locator("a.tracking")).to_have_attribute(
        "href", "https://track.example/E-200"
    )
    await latest.locator(".insert-order").click()
    summary = r"^Order E-200 of .+: delivered\. Item of E-200 × 1\. Total 10\.00 EUR\. "
    await expect(page.locator("#composer")).to_have_value(
        re.compile(summary + r"Tracking: https://track\.example/E-200$")
    )
    for client in (emma, li):
        await client.close()


async def test_an_unverified_claim_shows_no_orders_and_no_earlier_conversations(
    page: Page, redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key, departments=("sales",))
    await make_agent(redis, site, f"{site_key}-amy")
    await allow_pushes(redis, site)
    await push(
        server,
        site,
        {
            "customers": [{"id": "c-9", "name": "Real Nine", "updated_at": 1}],
            "orders": [order("c-9", "N-1", placed=1)],
        },
    )
    await sign_in(page, server, f"{site_key}-amy")
    await go_online(page)
    real, earlier = await customer_chat(server, site, "c-9", "my earlier question")
    await open_chat(page, earlier)
    await expect(page.locator("#panel .order .number")).to_have_text(["N-1"])
    await page.click("#close")
    await page.click("#close-submit")
    await real.wait_for("conversation", scaled(10), conversation_id=earlier, state="closed")

    again, verified = await customer_chat(server, site, "c-9", "back again")
    await open_chat(page, verified)
    past = page.locator("#panel .past-conversation")
    await expect(past).to_have_count(1)
    await past.click()
    await expect(page.locator("#past-transcript")).to_contain_text("my earlier question")
    await page.locator("#past-dialog [data-dismiss]").click()

    forger, forged = await customer_chat(server, site, "c-9", "I am c-9", forged=True)
    await open_chat(page, forged)
    panel = page.locator("#panel")
    await expect(panel.locator(".badge.unverified")).to_be_visible()
    await expect(panel.locator(".claim")).to_contain_text("c-9")  # marked as a claim, no more
    await expect(panel.locator(".orders .unknown")).to_be_visible()
    await expect(panel.locator(".order")).to_have_count(0)
    await expect(panel.locator(".past-conversation")).to_have_count(0)
    await expect(panel).not_to_contain_text("Real Nine")
    await expect(panel).not_to_contain_text("N-1")
    for client in (real, again, forger):
        await client.close()
