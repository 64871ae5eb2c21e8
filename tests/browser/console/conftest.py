"""The agent console in real Chromium against real server processes: helpers to sign in, go
online and find things on the page. Shoppers are protocol clients (chatserver.client)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import BrowserContext, Locator, Page, expect

from tests.conftest import scaled
from tests.integration.servers import ServerProcess
from tests.integration.world import PASSWORD


@pytest.fixture(autouse=True)
def _patient_expectations() -> None:
    """Every expect() waits as long as the slowest machine needs (CHAT_TEST_TIMEOUT_SCALE)."""
    expect.set_options(timeout=scaled(10) * 1000)


@pytest.fixture
async def second_page(context: BrowserContext) -> AsyncIterator[Page]:
    """Another browser profile (another agent signs in there)."""
    assert context.browser is not None
    other = await context.browser.new_context()
    yield await other.new_page()
    await other.close()


async def sign_in(page: Page, server: ServerProcess, login: str) -> None:
    """Sign in through the login form and wait until the console's socket is up."""
    page.set_default_timeout(scaled(10) * 1000)
    await page.goto(f"{server.base_url}/console/login")
    await page.fill("#login", login)
    await page.fill("#password", PASSWORD)
    await page.click("#login-submit")
    await expect(page.locator("#link-state")).to_have_class(re.compile(r"\bup\b"))


async def go_online(page: Page, capacity: int | None = None) -> None:
    """Set the capacity (if given) and the status, as the agent does with the two selects."""
    if capacity is not None:
        await page.select_option("#capacity", str(capacity))
        await expect(page.locator("#load")).to_have_text(re.compile(rf"/ {capacity}$"))
    await page.select_option("#status", "online")
    await expect(page.locator("body")).to_have_attribute("data-status", "online")


def chat(page: Page, conversation_id: str) -> Locator:
    """The conversation's entry in the list of my chats."""
    return page.locator(f'#chat-list .chat[data-conversation-id="{conversation_id}"]')


async def open_chat(page: Page, conversation_id: str) -> None:
    """Select a chat and wait until the panel beside it is that conversation's."""
    await chat(page, conversation_id).click()
    await expect(page.locator("#panel")).to_have_attribute("data-conversation-id", conversation_id)
