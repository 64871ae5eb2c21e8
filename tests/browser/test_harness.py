"""The browser harness itself: Debian's chromium starts and renders a page from our server."""

from __future__ import annotations

from playwright.async_api import Page

from tests.integration.servers import ServerProcess


async def test_chromium_renders_a_page_served_by_chatserver(
    page: Page, server: ServerProcess
) -> None:
    response = await page.goto(f"{server.base_url}/livez")
    assert response is not None and response.status == 200
    assert '"status":"ok"' in (await page.content()).replace(" ", "")
