"""What a real browser found wrong in the widget (issue 15), each checked where it showed: a
second rating, a wiped email field, an invisible focus ring, no reaction to going offline,
actions dropped while disconnected, silence when the server is unreachable, the acknowledgement
above the message it acknowledges, and the demo's names."""

from __future__ import annotations

from playwright.async_api import Page, expect
from redis.asyncio import Redis

from chatserver import demo
from chatserver.store import sites
from tests.browser.widget.shop import (
    SNIPPET,
    Shop,
    conversation_id,
    embed,
    make_shop,
    open_chat,
    serve_store_page,
    wait_message,
    write,
)
from tests.conftest import scaled
from tests.integration.servers import ServerProcess


async def _ended_chat(page: Page, shop: Shop) -> tuple[object, str]:
    """A chat the agent answered and closed, with the shopper's panel open on it."""
    agent = await shop.agent()
    await page.goto(shop.url())
    await open_chat(page)
    await write(page, "Hello")
    conv = await agent.wait_for("conversation", scaled(10), state="assigned")
    cid = conversation_id(conv)
    await agent.send({"type": "close", "conversation_id": cid, "outcome": "resolved"})
    await expect(page.locator("chat-widget .h p")).to_have_text("The chat has ended.")
    return agent, cid


async def test_a_chat_is_rated_once_however_fast_the_shopper_clicks(
    store_page: Page, shop: Shop
) -> None:
    page = store_page
    agent, cid = await _ended_chat(page, shop)
    good = page.locator("chat-widget .rb.good")
    await expect(good).to_be_enabled()
    # Two clicks in the same task: the second must find the buttons already disabled.
    await page.evaluate("""() => { const root = document.querySelector('chat-widget').shadowRoot;
        root.querySelector('.rb.good').click(); root.querySelector('.rb.bad').click(); }""")
    await expect(page.locator("chat-widget .rb.bad")).to_be_disabled()
    thanks = page.locator("chat-widget .y", has_text="Thank you for your feedback")
    await expect(thanks).to_have_count(1)
    assert (await shop.conversation(cid))["rating"] == "good"
    await expect(page.locator("chat-widget .rt")).to_be_hidden()
    await agent.close()  # type: ignore[attr-defined]


async def test_the_transcript_email_being_typed_survives_the_rating_and_the_timer(
    store_page: Page, shop: Shop
) -> None:
    page = store_page
    await page.clock.install()
    agent, cid = await _ended_chat(page, shop)
    await page.locator("chat-widget button", has_text="Email me the transcript").click()
    box = page.locator("chat-widget input[name=notify-email]:visible")
    await box.press_sequentially("li@exa")
    await page.locator("chat-widget .rb.good").click()  # its echo redraws the after-chat area
    await expect(page.locator("chat-widget .y", has_text="Thank you")).to_be_visible()
    await page.clock.run_for(5000)  # the 2 s refresh, twice
    await expect(box).to_have_value("li@exa")
    await box.press_sequentially("mple.com")
    await box.press("Enter")
    await expect(page.locator("chat-widget .y", has_text="li@example.com")).to_be_visible()
    assert (await shop.conversation(cid))["transcript_email"] == "li@example.com"
    await agent.close()  # type: ignore[attr-defined]


def _contrast(a: str, b: str) -> float:
    def luminance(rgb: str) -> float:
        values = [int(v) / 255 for v in rgb[rgb.index("(") + 1 : rgb.index(")")].split(",")[:3]]
        linear = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in values]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


async def test_the_close_buttons_focus_ring_is_visible_on_the_header(
    store_page: Page, shop: Shop
) -> None:
    page = store_page
    await page.goto(shop.url())
    await open_chat(page)
    close = page.locator("chat-widget .h .x")
    for _ in range(12):  # the keyboard's way to it, so that :focus-visible applies
        if await close.evaluate("el => el.matches(':focus-visible')"):
            break
        await page.keyboard.press("Shift+Tab")
    assert await close.evaluate("el => el.matches(':focus-visible')")
    ring = await close.evaluate("el => getComputedStyle(el).outlineColor")
    header = await page.locator("chat-widget .h").evaluate(
        "el => getComputedStyle(el).backgroundColor"
    )
    assert _contrast(ring, header) >= 3, (ring, header)  # WCAG 2.2 non-text contrast


async def test_offline_shows_at_once_and_waiting_actions_are_sent_when_back(
    store_page: Page, shop: Shop
) -> None:
    page = store_page
    agent, cid = await _ended_chat(page, shop)
    await page.context.set_offline(True)
    notice = page.locator("chat-widget .n")
    await expect(notice).to_contain_text("You are offline", timeout=2000)
    await page.locator("chat-widget .rb.bad").click()
    await page.locator("chat-widget button", has_text="Email me the transcript").click()
    await page.locator("chat-widget input[name=notify-email]:visible").fill("li@example.com")
    await page.locator("chat-widget input[name=notify-email]:visible").press("Enter")
    await expect(page.locator("chat-widget .rt .wl")).to_contain_text("when the connection")
    await page.context.set_offline(False)
    await expect(notice).to_be_hidden()
    await expect(
        page.locator("chat-widget .y", has_text="Thank you for your feedback")
    ).to_be_visible()
    await expect(page.locator("chat-widget .y", has_text="li@example.com")).to_be_visible()
    stored = await shop.conversation(cid)
    assert stored["rating"] == "bad" and stored["transcript_email"] == "li@example.com"
    await agent.close()  # type: ignore[attr-defined]


async def test_a_widget_that_cannot_connect_says_so(
    store_page: Page, server: ServerProcess, redis: Redis, site_key: str
) -> None:
    page = store_page
    # The site allows another origin only: its socket refuses this store page, every time.
    shop = await make_shop(server, redis, site_key, origins=("https://elsewhere.example",))
    url = await serve_store_page(
        page, "<h1>Store</h1>", f"<script>{SNIPPET}</script>" + embed(shop)
    )
    await page.goto(url)
    await open_chat(page)
    await expect(page.locator("chat-widget .n")).to_contain_text("cannot reach the chat")


async def test_the_acknowledgement_comes_under_the_message_it_acknowledges(
    store_page: Page, shop: Shop
) -> None:
    page = store_page
    await page.goto(shop.url())  # nobody online: the form to leave a message
    await open_chat(page)
    form = page.locator("chat-widget form.f:not([hidden])")
    await form.locator("input[name=email]").fill("li@example.com")
    await form.locator("textarea").fill("Do you ship to Lyon?")
    await form.locator("button[type=submit]").click()
    await wait_message(page, "Do you ship to Lyon?")
    await expect(page.locator("chat-widget .y", has_text="We have your message")).to_be_visible()
    order = await page.evaluate("""() => [...document.querySelector('chat-widget').shadowRoot
        .querySelectorAll('.g > *:not([hidden])')].map(el => el.className)""")
    assert order.index("y ak") > order.index("m me"), order


async def test_the_demo_widget_uses_the_stores_names(
    store_page: Page, server: ServerProcess, redis: Redis
) -> None:
    page = store_page
    await sites.save_site(redis, demo.DEMO_SITE)
    await page.goto(f"{server.base_url}/demo/en")
    greeting = page.locator("chat-widget .gb .gt")
    await expect(greeting).to_contain_text("Questions about our teas")
    await greeting.click()  # the greeting opens the chat
    await expect(page.locator("chat-widget #cw-title")).to_have_text("Chat with Demo Tea & Crafts")
    assert "Demo Tea & Crafts" in await page.locator("body").inner_text()
    await page.locator("chat-widget form.f:not([hidden]) select[name=department]").wait_for()
    options = page.locator("chat-widget form.f:not([hidden]) select[name=department] option")
    assert await options.all_inner_texts() == ["Before you buy", "Orders & returns"]
