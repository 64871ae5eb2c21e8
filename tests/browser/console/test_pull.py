"""A store whose order endpoint hangs for 30 s: the chat stays responsive, and the panel shows
the cached orders with their age."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.async_api import Page, expect
from redis.asyncio import Redis

from chatserver.core.model import Role
from tests.browser.console.conftest import go_online, open_chat, sign_in
from tests.conftest import scaled
from tests.integration.conftest import StartServer
from tests.integration.servers import ServerProcess
from tests.integration.web.shop import api_client, customer_chat, order
from tests.integration.web.store_endpoint import ALLOW_LOCAL_STORE, store_endpoint
from tests.integration.web.test_pull import until
from tests.integration.world import make_agent, make_site


@pytest.fixture
async def server(servers: StartServer) -> ServerProcess:
    """A server whose operator lets it pull from the test's store endpoint on 127.0.0.1."""
    return await servers(CHAT_OUTBOUND_ALLOW=ALLOW_LOCAL_STORE)


async def test_a_hanging_store_leaves_the_chat_responsive_and_shows_cached_orders_with_age(
    page: Page, redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key, departments=("sales",))
    await make_agent(redis, site, f"{site_key}-boss", role=Role.ADMIN)
    async with store_endpoint() as store, await api_client(server, f"{site_key}-boss") as api:
        store.orders["c-1"] = [order("c-1", "P-1", placed=1000), order("c-1", "P-2", placed=2000)]
        source = await api.put(
            f"/api/v1/sites/{site_key}/order-source",
            json={"pull_url": store.url_template, "pull_ttl_seconds": 1, "pull_timeout_seconds": 5},
        )
        assert source.status_code == 200
        await sign_in(page, server, f"{site_key}-boss")
        await go_online(page)
        shopper, conv = await customer_chat(server, site, "c-1", "where are my orders?")
        await open_chat(page, conv)
        numbers = page.locator("#panel .order .number")
        await expect(numbers).to_have_text(["P-2", "P-1"])  # pulled, then cached

        store.mode = "hang"
        panel_url = f"/api/v1/conversations/{conv}/customer"

        async def stale() -> dict[str, Any] | None:  # the 1 s TTL ran out: a pull hangs now
            view = (await api.get(panel_url)).json()["orders"]
            return view if view["state"] == "stale" and store.hanging.is_set() else None

        await until(stale, scaled(10))
        await open_chat(page, conv)
        await expect(page.locator("#panel .orders-age")).to_have_text(
            re.compile(r"^Cached \d+:\d\d ago · refreshing…$")
        )
        await expect(numbers).to_have_text(["P-2", "P-1"])

        await page.fill("#composer", "One moment, I am checking.")
        await page.keyboard.press("Enter")
        reply = await shopper.wait_for(
            "message", scaled(5), conversation_id=conv, where=lambda f: f["from"]["role"] == "agent"
        )
        assert reply["text"] == "One moment, I am checking."
        await shopper.send(
            {
                "type": "message",
                "conversation_id": conv,
                "client_msg_id": "s2",
                "text": "Thank you!",
            }
        )
        await expect(page.locator("#transcript")).to_contain_text("Thank you!", timeout=5000)
        assert store.hanging.is_set() and store.mode == "hang", "the store still hangs"
        await shopper.close()
