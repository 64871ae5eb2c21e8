"""A shopper chats with an agent from the demo store; the conversation follows them across
page loads and pages, with its history, queue position, typing, read receipts and rating."""

from __future__ import annotations

from playwright.async_api import Page, expect
from redis.asyncio import Redis

from chatserver import demo
from chatserver.core.widget_settings import WidgetSettings
from chatserver.store import sites
from tests.browser.widget.shop import (
    Shop,
    conversation_id,
    make_shop,
    open_chat,
    panel,
    transcript,
    wait_message,
    write,
)
from tests.conftest import scaled
from tests.integration.servers import ServerProcess


async def test_agent_answers_and_the_chat_survives_reload_and_another_page(
    store_page: Page, shop: Shop
) -> None:
    page = store_page
    agent = await shop.agent()
    await page.goto(shop.url())
    await open_chat(page)
    await write(page, "Is the Longjing tea in stock?")
    conv = await agent.wait_for("conversation", scaled(10), state="assigned")
    cid = conversation_id(conv)
    asked = await agent.wait_for("message", scaled(10), text="Is the Longjing tea in stock?")
    name = conv["agent"]["name"]
    await expect(page.locator("chat-widget .h p")).to_have_text(f"Chatting with {name}")

    await agent.send({"type": "typing", "conversation_id": cid, "typing": True})
    await expect(page.locator("chat-widget .k")).to_have_text(f"{name} is typing…")
    await agent.send({"type": "message", "conversation_id": cid, "client_msg_id": "a1",
                      "text": "Yes, 40 boxes left."})  # fmt: skip
    await wait_message(page, "Yes, 40 boxes left.")
    await expect(page.locator("chat-widget .k")).to_have_text("")
    await agent.wait_for("read", scaled(10), role="shopper")  # the open panel reads it
    await agent.send({"type": "read", "conversation_id": cid, "up_to": asked["id"]})
    mine = page.locator(f'chat-widget .me[data-id="{asked["id"]}"] .s')
    await expect(mine).to_contain_text("Read")

    history = await transcript(page)
    assert history == await shop.messages(cid)
    assert [text for _, text in history] == ["Is the Longjing tea in stock?", "Yes, 40 boxes left."]

    await page.reload()
    await wait_message(page, "Yes, 40 boxes left.")
    await expect(panel(page)).to_be_visible()  # it was open in this tab
    assert await transcript(page) == history

    times = page.locator("chat-widget .m[data-id] time")
    assert await times.count() == 2 and await times.first.get_attribute("datetime")

    other_tab = await page.context.new_page()  # the same shopper in a second tab
    await other_tab.goto(shop.url("/demo/en/cart"))
    await expect(panel(other_tab)).to_be_hidden()  # the panel's state is per tab
    await other_tab.locator("chat-widget .l").click()
    await wait_message(other_tab, "Yes, 40 boxes left.")
    await write(other_tab, "Written in another tab")
    await wait_message(page, "Written in another tab")  # live in the first tab
    await other_tab.close()

    await page.goto(shop.url("/demo/en/product/tea-longjing"))
    await wait_message(page, "Yes, 40 boxes left.")
    context = await agent.wait_for(
        "context", scaled(10), where=lambda f: "product/tea-longjing" in f["page"]["url"]
    )
    assert context["conversation_id"] == cid
    await write(page, "Great, two boxes please.")
    await agent.wait_for("message", scaled(10), text="Great, two boxes please.")
    await wait_message(page, "Great, two boxes please.")
    assert await transcript(page) == await shop.messages(cid)
    assert len(await shop.messages(cid)) == 4
    await agent.close()


async def test_queue_position_then_the_agent_then_rating_and_transcript_request(
    store_page: Page, shop: Shop
) -> None:
    page = store_page
    busy = await shop.agent()  # online: the queue has an agent, but no free slot for now
    await busy.send({"type": "capacity", "capacity": 1})
    other, _ = await _occupy(shop, busy)
    await page.goto(shop.url())
    await open_chat(page)
    await write(page, "Hello?")
    await expect(page.locator("chat-widget .n")).to_contain_text("You are number 1 in line")
    await expect(page.locator("chat-widget .h p")).to_have_text("Waiting for an agent…")

    await busy.send({"type": "close", "conversation_id": other, "outcome": "resolved"})
    conv = await busy.wait_for("conversation", scaled(10), state="assigned",
                               where=lambda f: f["conversation_id"] != other)  # fmt: skip
    cid = conversation_id(conv)
    await expect(page.locator("chat-widget .n")).to_be_hidden()
    await expect(page.locator("chat-widget .y", has_text="joined the chat")).to_be_visible()
    await busy.send({"type": "close", "conversation_id": cid, "outcome": "resolved"})
    await expect(page.locator("chat-widget .h p")).to_have_text("The chat has ended.")

    await page.locator("chat-widget button", has_text="Good").click()
    await expect(
        page.locator("chat-widget .y", has_text="Thank you for your feedback")
    ).to_be_visible()
    await page.locator("chat-widget button", has_text="Email me the transcript").click()
    await page.locator("chat-widget input[name=notify-email]:visible").fill("li@example.com")
    await page.locator("chat-widget button", has_text="Send").last.click()
    await expect(page.locator("chat-widget .y", has_text="li@example.com")).to_be_visible()
    stored = await shop.conversation(cid)
    assert stored["rating"] == "good"
    assert stored["transcript_email"] == "li@example.com"
    await busy.close()


async def _occupy(shop: Shop, agent: object) -> tuple[str, object]:
    """Give the agent's only slot to another shopper (a protocol client)."""
    from tests.integration.world import shopper_client, start_chat

    client, _ = await shopper_client(shop.server, shop.site)
    return await start_chat(client, "first in line"), client


async def test_a_signed_in_customer_is_verified_and_logout_forgets_the_chat(
    store_page: Page, server: ServerProcess, redis: Redis
) -> None:
    page = store_page
    await sites.save_site(redis, demo.DEMO_SITE)  # the demo signs claims for its own site only
    shop = Shop(server, demo.DEMO_SITE, redis)
    agent = await shop.agent()
    await page.goto(shop.url())
    await page.get_by_role("button", name="Sign in as Emma Wilson (demo customer)").click()
    await open_chat(page)
    await write(page, "Where is my order?")
    conv = await agent.wait_for("conversation", scaled(10), state="assigned")
    assert conv["customer"] == "c-1001"  # the store's signature was checked by the server
    contact = await agent.wait_for("event", scaled(10), event="contact")
    assert contact["contact"] == {"name": "Emma Wilson", "email": "emma.wilson@example.com"}
    await wait_message(page, "Where is my order?")

    await page.get_by_role("button", name="Sign out").click()  # the store calls reset
    await expect(
        page.get_by_role("button", name="Sign in as Emma Wilson (demo customer)")
    ).to_be_visible()
    await open_chat(page)
    await expect(page.locator("chat-widget .c textarea")).to_be_visible()
    assert await transcript(page) == []  # a new visitor: the customer's chat stays private
    await agent.close()


async def test_pre_chat_fields_of_the_site_go_with_the_first_message(
    store_page: Page, server: ServerProcess, redis: Redis, site_key: str
) -> None:
    page = store_page
    settings = WidgetSettings(prechat=("name", "email", "department"))
    shop = await make_shop(server, redis, site_key, settings)
    agent = await shop.agent(("support",))
    await page.goto(shop.url())
    await open_chat(page)
    await page.locator("chat-widget .c input[name=name]").fill("Wang Wei")
    await page.locator("chat-widget .c input[name=email]").fill("wang@example.cn")
    await page.locator("chat-widget .c select[name=department]").select_option("support")
    await write(page, "My parcel is late")
    conv = await agent.wait_for("conversation", scaled(10), state="assigned")
    assert conv["department"] == "support"
    contact = await agent.wait_for("event", scaled(10), event="contact")
    assert contact["contact"] == {"name": "Wang Wei", "email": "wang@example.cn"}
    await wait_message(page, "My parcel is late")
    await expect(page.locator("chat-widget .c input[name=name]")).to_have_count(0)  # asked once
    await agent.close()
