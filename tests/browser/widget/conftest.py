"""Fixtures of the widget's browser tests: a store on a real server, and pages that fail the
test on any uncaught error of the widget (it must never throw into the host page)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Error, Page, expect
from redis.asyncio import Redis

from tests.browser.widget.shop import WAIT_MS, Shop, make_shop
from tests.integration.conftest import StartServer
from tests.integration.servers import ServerProcess

expect.set_options(timeout=WAIT_MS)


@pytest.fixture
def servers(servers: StartServer) -> StartServer:
    """The widget's tests run `chatserver demo --no-seed`: its demo store is their store page
    (under `serve` it does not exist)."""

    async def start_demo(
        *, redis_url: str | None = None, demo: bool = True, **env: object
    ) -> ServerProcess:
        return await servers(redis_url=redis_url, demo=demo, **env)

    return start_demo


@pytest.fixture
async def shop(server: ServerProcess, redis: Redis, site_key: str) -> Shop:
    return await make_shop(server, redis, site_key)


@pytest.fixture
async def store_page(page: Page, servers: StartServer) -> AsyncIterator[Page]:
    """A page whose uncaught errors fail the test. It depends on `servers` so that it closes
    before the test's servers stop (a server stopping under live widgets takes longer)."""
    errors: list[Error] = []
    page.on("pageerror", lambda error: errors.append(error))
    page.set_default_timeout(WAIT_MS)
    yield page
    await page.close()
    assert not errors, f"errors thrown into the page: {errors}"
