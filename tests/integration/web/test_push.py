"""The store's push endpoint: signed by HMAC-SHA256 of the raw body, checked before anything
is stored, idempotent by order id and update time."""

from __future__ import annotations

import httpx
import orjson
from redis.asyncio import Redis

from chatserver.core.model import Role
from chatserver.orders import push as push_
from chatserver.store import keys
from tests.integration.servers import ServerProcess
from tests.integration.web.shop import PUSH_SECRET, allow_pushes, api_client, order, push
from tests.integration.world import make_agent, make_site


async def _orders_of(server: ServerProcess, admin: str, site: str, customer: str) -> list[dict]:
    async with await api_client(server, admin) as api:
        response = await api.get(f"/api/v1/sites/{site}/customers/{customer}")
    response.raise_for_status()
    return list(response.json()["orders"]["orders"])


async def test_signed_push_stores_customers_and_orders_newest_first(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key)
    await make_agent(redis, site, f"{site_key}-boss", role=Role.ADMIN)
    await allow_pushes(redis, site)
    response = await push(
        server,
        site,
        {
            "customers": [{"id": "c-1", "name": "李娜", "email": "li@example.cn", "updated_at": 1}],
            "orders": [
                order("c-1", "1001", placed=1000),
                order("c-1", "1002", placed=2000),
                order("c-2", "2001", placed=1500),
            ],
        },
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "customers": {"stored": 1, "unchanged": 0, "conflicts": []},
        "orders": {"stored": 3, "unchanged": 0, "conflicts": []},
    }
    orders = await _orders_of(server, f"{site_key}-boss", site_key, "c-1")
    assert [o["number"] for o in orders] == ["1002", "1001"]
    async with await api_client(server, f"{site_key}-boss") as api:
        found = (await api.get(f"/api/v1/sites/{site_key}/customers/c-1")).json()
    assert found["customer"]["name"] == "李娜"


async def test_a_bad_signature_gets_401_and_stores_nothing(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key)
    await allow_pushes(redis, site)
    payload = {"customers": [{"id": "c-9", "updated_at": 1}], "orders": [order("c-9", "9", 1)]}
    body = orjson.dumps(payload)
    attempts = {
        "wrong secret": push_.sign("not the secret", body),
        "no scheme": push_.sign(PUSH_SECRET, body)[len("sha256=") :],
        "other body": push_.sign(PUSH_SECRET, body + b" "),
        "none": "",
    }
    async with httpx.AsyncClient(base_url=server.base_url, trust_env=False) as http:
        for what, signature in attempts.items():
            response = await http.post(
                f"/api/v1/sites/{site_key}/push",
                content=body,
                headers={"X-Chat-Signature": signature},
            )
            assert response.status_code == 401, what
            assert response.json()["error"] == "bad_signature"
        unknown = await http.post(
            "/api/v1/sites/nosuchsite/push",
            content=body,
            headers={"X-Chat-Signature": push_.sign(PUSH_SECRET, body)},
        )
        assert unknown.status_code == 401
    assert not await redis.exists(
        keys.order(site_key, "o-9"),
        keys.customer(site_key, "c-9"),
        keys.customer_orders(site_key, "c-9"),
    )


async def test_a_site_without_a_push_secret_accepts_no_push(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key)
    response = await push(server, site, {"orders": [order("c-1", "1", 1)]}, secret="")
    assert response.status_code == 401
    assert not await redis.exists(keys.order(site_key, "o-1"))


async def test_pushes_are_idempotent_by_order_id_and_update_time(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key)
    await make_agent(redis, site, f"{site_key}-boss", role=Role.ADMIN)
    await allow_pushes(redis, site)
    first = order("c-1", "1001", placed=1000, updated=5000, status="paid")
    assert (await push(server, site, {"orders": [first]})).json()["orders"]["stored"] == 1
    again = await push(server, site, {"orders": [first]})
    assert again.json()["orders"] == {"stored": 0, "unchanged": 1, "conflicts": []}
    stale = await push(
        server, site, {"orders": [{**first, "status": "cancelled", "updated_at": 4000}]}
    )
    assert stale.json()["orders"]["unchanged"] == 1
    admin = f"{site_key}-boss"
    assert [o["status"] for o in await _orders_of(server, admin, site_key, "c-1")] == ["paid"]
    newer = await push(
        server, site, {"orders": [{**first, "status": "shipped", "updated_at": 6000}]}
    )
    assert newer.json()["orders"]["stored"] == 1
    assert [o["status"] for o in await _orders_of(server, admin, site_key, "c-1")] == ["shipped"]
    moved = await push(
        server, site, {"orders": [{**first, "customer_id": "c-2", "updated_at": 7000}]}
    )
    assert moved.json()["orders"]["conflicts"] == ["o-1001"]
    assert await _orders_of(server, admin, site_key, "c-2") == []


async def test_a_batch_with_one_bad_record_stores_nothing(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key)
    await allow_pushes(redis, site)
    bad = order("c-1", "2", placed=1, tracking_url="javascript:alert(1)")
    response = await push(server, site, {"orders": [order("c-1", "1", placed=1), bad]})
    assert response.status_code == 422
    assert "orders[1]: tracking_url" in response.json()["message"]
    assert not await redis.exists(keys.order(site_key, "o-1"))
