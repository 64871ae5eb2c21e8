"""Building blocks for the console and API tests: a store's push, verified shoppers, orders,
and API clients logged in as an agent."""

from __future__ import annotations

import time
from typing import Any

import httpx
import orjson
from redis.asyncio import Redis

from chatserver.client import Client
from chatserver.core.model import Site
from chatserver.core.orders import OrderSource
from chatserver.core.tokens import sign_customer
from chatserver.orders import push as push_
from chatserver.store.orders import Orders
from tests.conftest import scaled
from tests.integration.servers import ServerProcess
from tests.integration.world import login

PUSH_SECRET = "push-s3cret"


async def allow_pushes(redis: Redis, site: Site, secret: str = PUSH_SECRET) -> None:
    """Give the site a push secret (what an admin does with POST .../push-secret)."""
    store = Orders(redis)
    current = await store.source(site.key)
    await store.save_source(site.key, OrderSource(push_secret=secret, pull_url=current.pull_url))


def order(
    customer: str, number: str, placed: int, updated: int = 1, **fields: Any
) -> dict[str, Any]:
    """An order in the push format (times in ms)."""
    return {
        "id": f"o-{number}",
        "number": number,
        "customer_id": customer,
        "placed_at": placed,
        "updated_at": updated,
        "status": "shipped",
        "currency": "EUR",
        "items": [{"name": f"Item of {number}", "quantity": 1, "price": "10.00"}],
        "totals": {"total": "10.00"},
        **fields,
    }


async def push(
    server: ServerProcess, site: Site, payload: dict[str, Any], secret: str = PUSH_SECRET
) -> httpx.Response:
    """POST a signed push, as a store's backend does."""
    body = orjson.dumps(payload)
    headers = {"Content-Type": "application/json", "X-Chat-Signature": push_.sign(secret, body)}
    async with httpx.AsyncClient(base_url=server.base_url, trust_env=False) as http:
        return await http.post(f"/api/v1/sites/{site.key}/push", content=body, headers=headers)


def claim(site: Site, customer: str, secret: str | None = None) -> dict[str, Any]:
    """A customer identity claim signed by the store (`secret` to forge a bad one)."""
    expires = int(time.time()) + 600
    key = secret if secret is not None else site.identity_secret
    return {"id": customer, "expires": expires, "signature": sign_customer(key, customer, expires)}


async def customer_chat(
    server: ServerProcess, site: Site, customer: str | None, text: str, forged: bool = False
) -> tuple[Client, str]:
    """A shopper (identified as `customer` if given; with a forged claim if `forged`) who
    started a chat; returns the client and the conversation id."""
    client = Client(f"{server.ws_url}/ws/v1/shopper?site={site.key}")
    await client.connect()
    hello: dict[str, Any] = {"type": "hello"}
    if customer:
        hello["customer"] = claim(site, customer, "not the secret" if forged else None)
    await client.send(hello)
    welcome = await client.wait_for("welcome", scaled(10))
    assert welcome["customer_verified"] is (bool(customer) and not forged)
    await client.send({"type": "start", "text": text, "client_msg_id": "first"})
    ack = await client.wait_for("ack", scaled(10), client_msg_id="first")
    return client, str(ack["conversation_id"])


async def api_client(server: ServerProcess, agent: str) -> httpx.AsyncClient:
    """An HTTP client of the REST API, logged in as `agent` (Bearer token); close it."""
    token = await login(server, agent)
    return httpx.AsyncClient(
        base_url=server.base_url,
        trust_env=False,
        headers={"Authorization": f"Bearer {token}"},
        timeout=scaled(10),
    )
