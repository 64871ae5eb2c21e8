"""Nothing is promised that no server would deliver (docs/email.md): with an SMTP server the
left message's acknowledgement promises a reply by email; without one (widget-config says
`"mail": false`) the widget says the team answers here in the chat, in English and Chinese."""

from __future__ import annotations

import httpx
from playwright.async_api import Page, expect
from redis.asyncio import Redis

from chatserver.core.widget_settings import WidgetSettings
from tests.browser.widget.shop import (
    STORE_ORIGIN,
    embed,
    make_shop,
    open_chat,
    serve_store_page,
    wait_message,
)
from tests.integration.conftest import StartServer


async def _leave_message(page: Page, email: str, text: str) -> None:
    form = page.locator("chat-widget form.f:not([hidden])")
    await form.locator("input[name=email]").fill(email)
    await form.locator("textarea").fill(text)
    await form.locator("button[type=submit]").click()
    await wait_message(page, text)


async def test_with_a_mail_server_the_acknowledgement_promises_a_reply_by_email(
    store_page: Page, servers: StartServer, redis: Redis, site_key: str
) -> None:
    page = store_page
    server = await servers()  # `chatserver demo`: its local SMTP sink is the mail server
    shop = await make_shop(server, redis, site_key)
    async with httpx.AsyncClient(base_url=server.base_url, trust_env=False) as http:
        config = (await http.get(f"/api/v1/sites/{site_key}/widget-config")).json()
    assert config["mail"] is True
    await page.goto(shop.url())
    await open_chat(page)
    form = page.locator("chat-widget form.f:not([hidden])")
    await expect(form).to_contain_text("Leave your email and a message, and we will get back")
    email = f"li-{site_key}@example.com"  # the demo's mailbox is shared by the session's tests
    await _leave_message(page, email, "Is the blue teapot back in stock?")
    ack = page.locator("chat-widget .y.ak")
    await expect(ack).to_have_text(
        f"Thank you! We have your message and will reply to {email} within 24 hours. "
        "The answer will also appear here."
    )


async def test_without_a_mail_server_nothing_promises_an_email_reply(
    store_page: Page, servers: StartServer, redis: Redis, site_key: str
) -> None:
    page = store_page
    server = await servers(demo=False)  # `chatserver serve` without --smtp-url: no mail
    shop = await make_shop(server, redis, site_key, origins=(STORE_ORIGIN,))
    async with httpx.AsyncClient(base_url=server.base_url, trust_env=False) as http:
        config = (await http.get(f"/api/v1/sites/{site_key}/widget-config")).json()
    assert config["mail"] is False
    await page.goto(await serve_store_page(page, embed(shop)))
    await open_chat(page)
    form = page.locator("chat-widget form.f:not([hidden])")
    await expect(form).to_contain_text("the team will answer here in the chat")
    await _leave_message(page, "li@example.com", "Is the blue teapot back in stock?")
    ack = page.locator("chat-widget .y.ak")
    await expect(ack).to_have_text(
        "Thank you! We have your message. The team will answer here in the chat within 24 "
        "hours: come back to this page to read it."
    )
    assert "li@example.com" not in (await ack.text_content() or "")

    # The same in Chinese (a site whose widget speaks zh-CN).
    zh_key = f"{site_key}zh"
    zh = await make_shop(server, redis, zh_key, WidgetSettings(language="zh-CN"),
                         origins=(STORE_ORIGIN,))  # fmt: skip
    zh_page = await page.context.new_page()
    await zh_page.goto(await serve_store_page(zh_page, embed(zh)))
    await open_chat(zh_page)
    zh_form = zh_page.locator("chat-widget form.f:not([hidden])")
    await expect(zh_form).to_contain_text("客服会在这里的对话中回复您")
    await _leave_message(zh_page, "li@example.com", "蓝色茶壶有货吗？")
    zh_ack = zh_page.locator("chat-widget .y.ak")
    await expect(zh_ack).to_have_text(
        "谢谢！我们已收到您的留言。客服将在 24 小时内在这里的对话中回复您，请稍后回到本页面查看。"
    )
    await zh_page.close()
