"""Internal notes never reach the shopper; a transfer with a note gives the next agent the
whole conversation and the note, and tells the shopper, who repeats nothing."""

from __future__ import annotations

from playwright.async_api import Page, expect
from redis.asyncio import Redis

from tests.browser.console.conftest import chat, go_online, open_chat, sign_in
from tests.conftest import scaled
from tests.integration.servers import ServerProcess
from tests.integration.web.shop import customer_chat
from tests.integration.world import make_agent, make_site


async def test_an_internal_note_never_reaches_the_shoppers_socket_or_transcript(
    page: Page, redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key, departments=("sales",))
    await make_agent(redis, site, f"{site_key}-amy")
    await sign_in(page, server, f"{site_key}-amy")
    await go_online(page)
    shopper, conv = await customer_chat(server, site, None, "can I get a discount?")
    await open_chat(page, conv)

    await page.keyboard.press("Alt+n")
    await expect(page.locator("#note-mode")).to_be_checked()
    await page.fill("#composer", "Regular customer: offer 10% at most")
    await page.click("#send")
    note = page.locator("#transcript .entry.note")
    await expect(note).to_contain_text("Regular customer: offer 10% at most")
    await expect(note).not_to_have_class("pending")
    await page.locator("#note-mode").uncheck()
    await page.fill("#composer", "I can offer you 5%.")
    await page.keyboard.press("Enter")
    reply = await shopper.wait_for(
        "message", scaled(10), conversation_id=conv, where=lambda f: f["from"]["role"] == "agent"
    )
    assert reply["text"] == "I can offer you 5%."

    await shopper.send({"type": "resume", "conversation_id": conv, "epoch": 1, "after": "0-0"})
    await shopper.send({"type": "ping"})
    await shopper.wait_for("pong", scaled(10))  # the whole replay is in before the pong
    assert "offer 10%" not in str(shopper.received)
    assert not [f for f in shopper.received if f.get("type") == "note"]
    await shopper.close()


async def test_a_transfer_with_a_note_gives_the_next_agent_everything(
    page: Page, second_page: Page, redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key, departments=("sales", "after-sales"))
    await make_agent(redis, site, f"{site_key}-amy", departments=("sales",))
    await make_agent(redis, site, f"{site_key}-bob", departments=("after-sales",))
    await sign_in(page, server, f"{site_key}-amy")
    await go_online(page)
    bob = second_page
    await sign_in(bob, server, f"{site_key}-bob")
    await go_online(bob)

    shopper, conv = await customer_chat(server, site, None, "My parcel arrived broken.")
    await shopper.send(
        {
            "type": "message",
            "conversation_id": conv,
            "client_msg_id": "s2",
            "text": "Order 1001, the blue vase.",
        }
    )
    await open_chat(page, conv)
    await expect(page.locator("#transcript")).to_contain_text("the blue vase")

    await page.click("#transfer")
    agent_choice = page.locator(f'#transfer-agent option[value="{site_key}-bob"]')
    await expect(agent_choice).to_be_enabled()
    await page.select_option("#transfer-agent", f"{site_key}-bob")
    await page.fill("#transfer-note", "Broken vase, order 1001: refund or replace")
    await page.click("#transfer-submit")
    await expect(chat(page, conv)).to_have_count(0)

    await open_chat(bob, conv)
    transcript = bob.locator("#transcript")
    await expect(transcript).to_contain_text("My parcel arrived broken.")
    await expect(transcript).to_contain_text("Order 1001, the blue vase.")
    await expect(transcript.locator(".entry.note")).to_contain_text(
        "Broken vase, order 1001: refund or replace"
    )
    await expect(transcript.locator('.entry.event[data-event="transferred"]')).to_be_visible()

    told = await shopper.wait_for("event", scaled(10), conversation_id=conv, event="transferred")
    assert told["to"] == {"name": f"{site_key}-bob".title()}
    bob_name = f"{site_key}-bob".title()
    now = await shopper.wait_for(
        "conversation",
        scaled(10),
        conversation_id=conv,
        where=lambda f: (f["agent"] or {}).get("name") == bob_name,
    )
    assert now["state"] == "assigned"
    await bob.fill("#composer", "I am sorry about the vase: a new one is on its way.")
    await bob.keyboard.press("Enter")
    await shopper.wait_for(
        "message",
        scaled(10),
        conversation_id=conv,
        where=lambda f: f["text"].startswith("I am sorry"),
    )
    assert "refund or replace" not in str(shopper.received)
    await shopper.close()
