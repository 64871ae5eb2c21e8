"""Orders pulled from the store's endpoint: fetched in the background with a time limit,
cached with their age; a store that hangs or fails never holds up the panel or the chat."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from chatserver.core.model import Role
from chatserver.orders.pull import UNREACHABLE
from tests.conftest import scaled
from tests.integration.conftest import StartServer
from tests.integration.servers import ServerProcess
from tests.integration.web.shop import api_client, customer_chat, order
from tests.integration.web.store_endpoint import ALLOW_LOCAL_STORE, store_endpoint
from tests.integration.world import agent_client, make_agent, make_site

HANG_BOUND = 25.0  # well under the store's 30 s hang: nothing waited for it


@pytest.fixture
async def server(servers: StartServer) -> ServerProcess:
    """A server whose operator lets it pull from the test's store endpoint on 127.0.0.1."""
    return await servers(CHAT_OUTBOUND_ALLOW=ALLOW_LOCAL_STORE)


async def until(check: Callable[[], Awaitable[Any]], timeout: float) -> Any:
    """Ask `check` again and again until it returns something true (the server's background
    pull has no event a test can wait on)."""
    async with asyncio.timeout(timeout):
        while not (result := await check()):  # noqa: ASYNC110 (nothing to await but time)
            await asyncio.sleep(0.05)
        return result


async def _configure(api: httpx.AsyncClient, site: str, url: str, ttl: int) -> None:
    response = await api.put(
        f"/api/v1/sites/{site}/order-source",
        json={
            "pull_url": url,
            "pull_auth_header": "Authorization: Bearer store-key",
            "pull_ttl_seconds": ttl,
            "pull_timeout_seconds": 5,
        },
    )
    assert response.status_code == 200, response.text


async def test_a_hanging_store_leaves_the_panel_fast_with_cached_orders_and_their_age(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key, departments=("sales",))
    await make_agent(redis, site, f"{site_key}-boss", role=Role.ADMIN)
    agent = await agent_client(server, f"{site_key}-boss")
    async with store_endpoint() as store, await api_client(server, f"{site_key}-boss") as api:
        store.orders["c 1/é"] = [order("c 1/é", "5001", placed=1000)]
        await _configure(api, site_key, store.url_template, ttl=1)
        shopper, conv = await customer_chat(server, site, "c 1/é", "where is my parcel?")
        panel_url = f"/api/v1/conversations/{conv}/customer"

        async def fresh() -> dict[str, Any] | None:
            orders = (await api.get(panel_url)).json()["orders"]
            return orders if orders["state"] == "fresh" else None

        first = await until(fresh, scaled(10))
        assert [o["number"] for o in first["orders"]] == ["5001"]
        path, headers = store.requests[0]
        assert path == "/customers/c%201%2F%C3%A9/orders"
        assert headers["authorization"] == "Bearer store-key"

        store.mode = "hang"
        started = time.monotonic()

        async def stale() -> dict[str, Any] | None:  # once the 1 s TTL has run out
            orders = (await api.get(panel_url)).json()["orders"]
            return orders if orders["state"] == "stale" else None

        cached = await until(stale, scaled(10))
        await asyncio.wait_for(store.hanging.wait(), scaled(10))
        again = time.monotonic()
        during = (await api.get(panel_url)).json()["orders"]
        assert time.monotonic() - again < scaled(2), "the panel does not wait for the store"
        for view in (cached, during):
            assert [o["number"] for o in view["orders"]] == ["5001"]
            assert view["age_seconds"] >= 1 and view["as_of"] is not None
            assert view["refreshing"] is True
        # The chat goes on while the store hangs.
        await agent.send(
            {
                "type": "message",
                "conversation_id": conv,
                "client_msg_id": "a1",
                "text": "Let me check.",
            }
        )
        await shopper.wait_for("message", scaled(5), client_msg_id="a1")
        await shopper.send(
            {"type": "message", "conversation_id": conv, "client_msg_id": "s1", "text": "thanks"}
        )
        await agent.wait_for("message", scaled(5), client_msg_id="s1")
        assert time.monotonic() - started < HANG_BOUND
        await shopper.close()
    await agent.close()


async def test_a_failing_store_with_nothing_cached_is_reported_unavailable(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key, departments=("sales",))
    await make_agent(redis, site, f"{site_key}-boss", role=Role.ADMIN)
    agent = await agent_client(server, f"{site_key}-boss")
    async with store_endpoint() as store, await api_client(server, f"{site_key}-boss") as api:
        store.mode = "fail"
        await _configure(api, site_key, store.url_template, ttl=60)
        shopper, conv = await customer_chat(server, site, "c-2", "hello")
        first = (await api.get(f"/api/v1/conversations/{conv}/customer")).json()["orders"]
        assert first["state"] == "loading" and first["orders"] == []

        async def unavailable() -> dict[str, Any] | None:
            orders = (await api.get(f"/api/v1/conversations/{conv}/customer")).json()["orders"]
            return orders if orders["state"] == "unavailable" else None

        view = await until(unavailable, scaled(10))
        assert view["error"] == UNREACHABLE and view["refreshing"] is False
        assert len(store.requests) == 1, "after a failure, no pull for a while"
        source = (await api.get(f"/api/v1/sites/{site_key}/order-source")).json()
        assert "HTTP 500" in source["last_pull_error"]["message"], "the admin sees why"
        await shopper.close()
    await agent.close()
