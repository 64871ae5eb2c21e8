"""Messages are text: HTML, scripts and javascript: links are shown as typed on both sides, no
script runs, and only http(s) URLs become links (rel=noopener)."""

from __future__ import annotations

from playwright.async_api import Page

from tests.browser.widget.shop import Shop, open_chat, transcript, wait_message, write
from tests.conftest import scaled

FROM_SHOPPER = [
    '<img src=x onerror="window.pwned = 1">',
    "<script>window.pwned = 2</script>",
    '<a href="javascript:window.pwned = 3">click me</a>',
]
FROM_AGENT = [
    "javascript:window.pwned = 4",
    '<svg onload="window.pwned = 5"></svg> [link](javascript:window.pwned=6)',
    "Track it at https://example.com/track?id=1&x=<b>2</b>. Or data:text/html,<script>x</script>",
]


async def test_html_scripts_and_javascript_links_are_shown_as_text(
    store_page: Page, shop: Shop
) -> None:
    page = store_page
    agent = await shop.agent()
    await page.goto(shop.url())
    await open_chat(page)
    for text in FROM_SHOPPER:
        await write(page, text)
        await wait_message(page, text)
    conv = await agent.wait_for("conversation", scaled(10), state="assigned")
    for i, text in enumerate(FROM_AGENT):
        await agent.send({"type": "message", "conversation_id": conv["conversation_id"],
                          "client_msg_id": f"x{i}", "text": text})  # fmt: skip
    await wait_message(page, "Track it at")

    shown = [text for _, text in await transcript(page)]
    assert shown == FROM_SHOPPER + FROM_AGENT  # exactly as typed, as text
    for text in FROM_SHOPPER:  # the agent's side receives the same text
        await agent.wait_for("message", scaled(10), text=text)
    log = page.locator("chat-widget [role=log]")
    assert await log.locator("img, script, svg, b, iframe, [onerror], [onload]").count() == 0
    links = await log.locator("a").evaluate_all(
        "links => links.map(a => [a.getAttribute('href'), a.rel, a.target, a.textContent])"
    )
    assert links == [["https://example.com/track?id=1&x=", "noopener noreferrer nofollow",
                      "_blank", "https://example.com/track?id=1&x="]]  # fmt: skip
    await page.locator("chat-widget .t", has_text="javascript:window.pwned = 4").click()
    assert await page.evaluate("window.pwned") is None
    await agent.close()
