"""Accessibility, languages and small screens: axe finds no violation at all; the
chat works with the keyboard alone; names say "chat" and "send" in the shopper's language; a
site's own texts win; on a phone the panel fills the screen, keyboard or not."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Browser, Page, expect

from chatserver.core.widget_settings import WidgetSettings
from tests.browser.widget.shop import (
    SNIPPET,
    Shop,
    embed,
    launcher,
    make_shop,
    open_chat,
    panel,
    serve_store_page,
    wait_message,
)
from tests.conftest import scaled
from tests.integration.servers import ServerProcess

AXE = Path(__file__).resolve().parents[3] / "node_modules" / "axe-core" / "axe.min.js"


async def _axe_problems(page: Page) -> list[str]:
    await page.add_script_tag(path=str(AXE))
    violations = await page.evaluate(
        """async () => (await axe.run(document, { resultTypes: ["violations"] })).violations
            .map(v => v.id + ": " + v.nodes.map(n => n.target.join(" ")).join(", "))"""
    )
    return [str(v) for v in violations]


async def test_axe_finds_no_violation_closed_open_chatting_ended_or_in_chinese(
    store_page: Page, shop: Shop
) -> None:
    page = store_page
    agent = await shop.agent()
    await page.goto(shop.url("/demo/en"))
    assert await _axe_problems(page) == []  # the launcher on the store's page
    await open_chat(page)
    await page.locator("chat-widget .c textarea").fill("Hello")
    await page.locator("chat-widget .c textarea").press("Enter")
    await wait_message(page, "Hello")
    assert await _axe_problems(page) == []  # the open chat with a message
    conv = await agent.wait_for("conversation", scaled(10), state="assigned")
    reply = {"type": "message", "conversation_id": conv["conversation_id"],
             "client_msg_id": "a1", "text": "Hi! See https://shop.example/tea"}  # fmt: skip
    await agent.send(reply)
    await wait_message(page, "Hi! See")
    assert await _axe_problems(page) == []  # the agent's avatar and name, a link
    await page.goto(shop.url("/demo/zh"))
    await expect(panel(page)).to_be_visible()  # the chat goes on, open as it was in this tab
    await expect(page.get_by_role("button", name="发送消息")).to_be_visible()
    assert await _axe_problems(page) == []
    await agent.send({"type": "close", "conversation_id": conv["conversation_id"]})
    await expect(page.locator("chat-widget .rt")).to_be_visible()
    assert await _axe_problems(page) == []  # after the chat: rating, transcript, new chat
    await agent.close()


async def test_keyboard_alone_opens_writes_and_escape_returns_focus(
    store_page: Page, shop: Shop
) -> None:
    page = store_page
    agent = await shop.agent()
    await page.goto(shop.url())
    await expect(launcher(page)).to_be_visible()
    await page.keyboard.press("Shift+Tab")  # from the top of the page back to its last control
    await expect(launcher(page)).to_be_focused()
    await page.keyboard.press("Enter")
    box = page.locator("chat-widget .c textarea")
    await expect(box).to_be_focused()
    await page.keyboard.type("Typed with the keyboard")
    await page.keyboard.press("Enter")
    await wait_message(page, "Typed with the keyboard")
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("button", name="Send message")).to_be_focused()
    await page.keyboard.press("Escape")
    await expect(panel(page)).to_be_hidden()
    await expect(launcher(page)).to_be_focused()
    await expect(launcher(page)).to_have_attribute("aria-expanded", "false")
    await agent.close()


async def test_names_follow_the_language_and_the_site_texts_win(
    store_page: Page, browser: Browser, server: ServerProcess, shop: Shop
) -> None:
    page = store_page
    await page.goto(shop.url("/demo/zh"))  # the store's API call chooses zh-CN
    await expect(page.get_by_role("button", name="在线聊天")).to_be_visible()
    await open_chat(page)
    await expect(page.get_by_role("button", name="关闭聊天窗口")).to_be_visible()
    await expect(page.get_by_role("log")).to_contain_text("您好")

    custom = WidgetSettings(
        color="#8c2f39",
        texts={"en": {"launcher": "Chat with our tea experts", "welcome": "Ask us about tea!"}},
    )
    own = await make_shop(shop.server, shop.redis, shop.site.key + "x", custom)
    context = await browser.new_context(locale="zh-CN")  # the browser chooses, then the API
    try:
        zh_page = await context.new_page()
        url = await serve_store_page(zh_page, "<h1>店</h1>", f"<script>{SNIPPET}</script>"
                                     + embed(own))  # fmt: skip
        await zh_page.goto(url)
        await expect(zh_page.get_by_role("button", name="在线聊天")).to_be_visible()
        colour = await launcher(zh_page).evaluate("el => getComputedStyle(el).backgroundColor")
        assert colour == "rgb(140, 47, 57)"  # the site's colour
        await zh_page.evaluate("ChatWidget('setLanguage', 'en'); ChatWidget('open')")
        await expect(
            zh_page.get_by_role("button", name="Chat with our tea experts")
        ).to_be_visible()
        await expect(zh_page.get_by_role("log")).to_contain_text("Ask us about tea!")
    finally:
        await context.close()


async def test_on_a_phone_the_panel_fills_the_screen_and_stays_usable_with_the_keyboard(
    browser: Browser, shop: Shop
) -> None:
    agent = await shop.agent()
    context = await browser.new_context(
        viewport={"width": 375, "height": 667}, is_mobile=True, has_touch=True
    )
    try:
        page = await context.new_page()
        await page.goto(shop.url())
        await launcher(page).tap()
        await expect(panel(page)).to_be_visible()
        assert await panel(page).bounding_box() == {"x": 0, "y": 0, "width": 375, "height": 667}
        await expect(launcher(page)).to_be_hidden()
        await page.set_viewport_size({"width": 375, "height": 400})  # the on-screen keyboard
        box = page.locator("chat-widget .c textarea")
        await expect(panel(page)).to_have_js_property("offsetHeight", 400)
        bounds = await box.bounding_box()
        assert bounds is not None and bounds["y"] + bounds["height"] <= 400
        await box.fill("Sent from a phone")
        await page.get_by_role("button", name="Send message").tap()
        await wait_message(page, "Sent from a phone")
    finally:
        await context.close()
        await agent.close()


async def test_axe_finds_no_violation_in_the_offline_form(store_page: Page, shop: Shop) -> None:
    page = store_page
    await page.goto(shop.url())  # nobody online
    await open_chat(page)
    await expect(page.locator("chat-widget form.f:not([hidden]) textarea")).to_be_visible()
    assert await _axe_problems(page) == []
