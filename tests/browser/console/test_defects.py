"""What a real browser found wrong in the console (issue 15), each checked where it showed:
drafts lost on switching chats, stretched radio buttons, a misplaced unread pill, "Connected"
while offline, URLs that were not links, a red timer at 0:00, no <h1>, a plain sign-in button."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from playwright.async_api import Page, expect
from redis.asyncio import Redis

from chatserver.client import Client
from tests.browser.console.conftest import chat, go_online, open_chat, sign_in
from tests.conftest import scaled
from tests.integration.servers import ServerProcess
from tests.integration.web.shop import customer_chat
from tests.integration.world import make_agent, make_site

RED = "rgb(180, 35, 24)"  # --danger of the light theme


async def _two_chats(
    page: Page, redis: Redis, site_key: str, server: ServerProcess
) -> tuple[Client, str, Client, str]:
    site = await make_site(redis, site_key, departments=("sales",))
    await make_agent(redis, site, f"{site_key}-amy")
    await sign_in(page, server, f"{site_key}-amy")
    await go_online(page)
    first, one = await customer_chat(server, site, None, "hello one")
    await expect(chat(page, one)).to_be_visible()
    second, two = await customer_chat(server, site, None, "see https://shop.example/p/1, thanks")
    await expect(chat(page, two)).to_be_visible()
    return first, one, second, two


async def test_a_draft_stays_with_its_chat_when_switching_and_reloading(
    page: Page, redis: Redis, site_key: str, server: ServerProcess
) -> None:
    first, one, second, two = await _two_chats(page, redis, site_key, server)
    await page.keyboard.press("Alt+1")
    await expect(chat(page, one)).to_have_attribute("aria-current", "true")
    await page.fill("#composer", "Half-written answer for one")
    await page.keyboard.press("Alt+2")
    await expect(chat(page, two)).to_have_attribute("aria-current", "true")
    await expect(page.locator("#composer")).to_have_value("")
    await page.fill("#composer", "Draft for two")
    await page.keyboard.press("Alt+1")
    await expect(page.locator("#composer")).to_have_value("Half-written answer for one")
    await page.reload()  # the selected chat and both drafts come back
    await expect(chat(page, one)).to_have_attribute("aria-current", "true")
    await expect(page.locator("#composer")).to_have_value("Half-written answer for one")
    await open_chat(page, two)
    await expect(page.locator("#composer")).to_have_value("Draft for two")
    await page.keyboard.press("Enter")  # sent: the draft is gone
    await second.wait_for("message", scaled(10), text="Draft for two")
    await open_chat(page, one)
    await open_chat(page, two)
    await expect(page.locator("#composer")).to_have_value("")
    for client in (first, second):
        await client.close()


async def test_the_unread_pill_sits_at_the_right_of_the_name_and_urls_are_links(
    page: Page, redis: Redis, site_key: str, server: ServerProcess
) -> None:
    first, _one, second, two = await _two_chats(page, redis, site_key, server)
    entry = chat(page, two)
    pill = entry.locator(".unread")
    await expect(pill).to_have_text("1")

    async def boxes() -> tuple[Any, Any, Any]:
        return (await pill.bounding_box(), await entry.locator(".label").bounding_box(),
                await entry.bounding_box())  # fmt: skip

    box, name, button = await boxes()
    async with asyncio.timeout(scaled(5)):  # the list redraws (its timers): an element may go
        while not (box and name and button):
            box, name, button = await boxes()
    assert box["width"] <= box["height"] + 6 and box["height"] <= 24, box  # a round badge
    assert abs((box["y"] + box["height"] / 2) - (name["y"] + name["height"] / 2)) <= 4
    assert box["x"] >= name["x"] + name["width"]  # after the name
    assert box["x"] >= button["x"] + button["width"] / 2  # in the right half, not top-left
    waiting = entry.locator(".waiting")
    await expect(waiting).to_have_text(re.compile(r"^0:\d\d$"))
    assert await waiting.evaluate("el => getComputedStyle(el).color") != RED  # not red at 0:00
    await page.keyboard.press("Alt+2")
    link = page.locator("#transcript .message a[href='https://shop.example/p/1']")
    await expect(link).to_have_text("https://shop.example/p/1")
    assert await link.get_attribute("rel") == "noopener noreferrer nofollow"
    await expect(page.locator("#transcript .message", has_text="see ")).to_contain_text(", thanks")
    for client in (first, second):
        await client.close()


async def test_the_transfer_dialogs_radio_buttons_sit_beside_their_labels(
    page: Page, redis: Redis, site_key: str, server: ServerProcess
) -> None:
    first, _one, second, _two = await _two_chats(page, redis, site_key, server)
    await page.click("#transfer")
    for value in ("agent", "department"):
        radio = page.locator(f"#transfer-dialog input[type=radio][value={value}]")
        label = page.locator("#transfer-dialog label", has=page.locator(f"[value={value}]"))
        box, text = await radio.bounding_box(), await label.bounding_box()
        assert box and text
        assert box["width"] <= 24, box  # not stretched over the dialog
        assert abs(box["y"] - text["y"]) <= text["height"], (box, text)  # on the label's row
    for client in (first, second):
        await client.close()


async def test_going_offline_shows_at_once_and_coming_back_reconnects(
    page: Page, redis: Redis, site_key: str, server: ServerProcess
) -> None:
    first, _one, second, _two = await _two_chats(page, redis, site_key, server)
    link = page.locator("#link-state")
    await expect(link).to_have_text("Connected")
    await page.context.set_offline(True)
    await expect(link).not_to_have_text("Connected", timeout=2000)  # not after 13 s
    await expect(link).to_have_class(re.compile(r"\bdown\b"))
    await page.context.set_offline(False)
    await expect(link).to_have_text("Connected")
    await page.keyboard.press("Alt+1")
    await page.fill("#composer", "Back online")
    await page.keyboard.press("Enter")
    await first.wait_for("message", scaled(10), text="Back online")
    for client in (first, second):
        await client.close()


async def test_the_console_has_one_h1_and_the_sign_in_button_is_the_main_action(
    page: Page, redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key, departments=("sales",))
    await make_agent(redis, site, f"{site_key}-amy")
    await page.goto(f"{server.base_url}/console/login")
    submit = page.locator("#login-submit")
    assert "primary" in (await submit.get_attribute("class") or "")
    accent = await submit.evaluate("el => getComputedStyle(el).backgroundColor")
    plain = await page.locator("#login").evaluate("el => getComputedStyle(el).backgroundColor")
    assert accent != plain, "the main action stands out from the fields"
    await sign_in(page, server, f"{site_key}-amy")
    await expect(page.locator("h1")).to_have_count(1)
