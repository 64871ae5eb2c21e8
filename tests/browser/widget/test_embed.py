"""Embedding: one script tag on a store's own origin; the command queue works before the script
loads; two tags or an SPA's navigation still give one widget; nothing ever throws."""

from __future__ import annotations

from playwright.async_api import ConsoleMessage, Page, expect
from redis.asyncio import Redis

from tests.browser.widget.shop import (
    SNIPPET,
    STORE_ORIGIN,
    Shop,
    embed,
    launcher,
    make_shop,
    panel,
    serve_store_page,
    wait_message,
    write,
)
from tests.integration.servers import ServerProcess


async def _cross_origin_shop(server: ServerProcess, redis: Redis, site_key: str) -> Shop:
    return await make_shop(server, redis, site_key, origins=(STORE_ORIGIN,))


async def test_two_tags_give_one_widget_and_queued_commands_run_in_order(
    store_page: Page, server: ServerProcess, redis: Redis, site_key: str
) -> None:
    page = store_page
    shop = await _cross_origin_shop(server, redis, site_key)
    agent = await shop.agent()  # online: the widget offers a live chat
    queued = f"""<script>{SNIPPET}
      window.seen = [];
      for (const name of ["ready", "open", "close"]) ChatWidget("on", name, () => seen.push(name));
      ChatWidget("setLanguage", "zh-CN");
      ChatWidget("setLanguage", "en");
      ChatWidget("open"); ChatWidget("close"); ChatWidget("open");
    </script>"""
    url = await serve_store_page(page, "<h1>Store</h1>", queued + embed(shop) + embed(shop))
    await page.goto(url)
    await page.wait_for_function("window.seen.length >= 4")
    assert await page.evaluate("window.seen") == ["ready", "open", "close", "open"]
    await expect(panel(page)).to_be_visible()
    await expect(launcher(page)).to_have_attribute("aria-label", "Chat with us")  # the last one
    assert await page.evaluate("document.querySelectorAll('chat-widget').length") == 1
    assert await page.evaluate("document.querySelectorAll('script[data-site]').length") == 2

    await write(page, "from a store's own origin")  # the socket is cross-origin and allowed
    await wait_message(page, "from a store's own origin")
    await page.evaluate("ChatWidget('close')")
    assert await page.evaluate("window.seen") == ["ready", "open", "close", "open", "close"]
    await agent.close()


async def test_spa_navigation_keeps_exactly_one_widget_and_its_conversation(
    store_page: Page, shop: Shop
) -> None:
    page = store_page
    agent = await shop.agent()
    url = await serve_store_page(page, "<div id=app><h1>Home</h1></div>",
                                 f"<script>{SNIPPET}</script>" + embed(shop))  # fmt: skip
    await page.goto(url)
    await launcher(page).click()
    await write(page, "before navigating")
    await wait_message(page, "before navigating")

    # A router replaces the content, then the whole body, and re-inserts the widget's tag.
    await page.evaluate("""() => {
        history.pushState({}, "", "/product/1");
        document.body.innerHTML = "<div id=app><h1>Product</h1></div>";
    }""")
    await page.wait_for_function("document.querySelectorAll('chat-widget').length === 1")
    await page.evaluate(f"""() => {{
        history.pushState({{}}, "", "/cart");
        const body = document.createElement("body");
        body.innerHTML = `<div id=app><h1>Cart</h1></div>{embed(shop)}`;
        document.documentElement.replaceChild(body, document.body);
        const again = document.createElement("script");
        again.src = "{shop.server.base_url}/widget.js"; again.dataset.site = "{shop.site.key}";
        document.head.appendChild(again);
        window.reloaded = new Promise(done => again.onload = done);
    }}""")
    await page.evaluate("window.reloaded")
    await page.wait_for_function("document.querySelectorAll('chat-widget').length === 1")
    await expect(page.locator("h1")).to_have_text("Cart")
    await wait_message(page, "before navigating")  # the same widget, conversation and all
    await expect(panel(page)).to_be_visible()
    await agent.close()


async def test_an_unknown_site_or_bad_calls_never_throw_into_the_page(
    store_page: Page, shop: Shop
) -> None:
    page = store_page
    calls = """<script>
      ChatWidget("bogus"); ChatWidget("on", "ready", 42); ChatWidget("identify", null);
      ChatWidget("page", "not an object"); ChatWidget(); ChatWidget("open");
    </script>"""
    url = await serve_store_page(page, "<h1>Store</h1>", f"<script>{SNIPPET}</script>" + calls
                                 + embed(shop, "no-such-site"))  # fmt: skip
    async with page.expect_console_message(_widget_warning) as warning:
        await page.goto(url)
    assert "404" in (await warning.value).text
    assert await page.evaluate("typeof window.ChatWidget") == "function"
    await page.evaluate("ChatWidget('open'); ChatWidget('nonsense', 1, 2)")
    assert await page.evaluate("document.querySelectorAll('chat-widget').length") == 0
    # store_page fails the test if anything was thrown into the page


def _widget_warning(message: ConsoleMessage) -> bool:
    return message.type == "warning" and "widget-config" in message.text
