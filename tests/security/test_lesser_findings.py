"""Finding 10, the lesser ones: claims that expire years ahead, sites with no allowed origins
accepting any origin (`null` included), and deep templates answered with a 500."""

from __future__ import annotations

import time

import httpx
import pytest
from redis.asyncio import Redis

from chatserver.client import Client
from chatserver.core import tokens
from tests.conftest import scaled
from tests.integration.conftest import StartServer
from tests.integration.servers import ServerProcess
from tests.integration.world import login, make_agent, make_site


async def _verified(server: ServerProcess, site_key: str, expires: int) -> bool:
    claim = {"id": "c-7", "expires": expires,
             "signature": tokens.sign_customer("s3cret", "c-7", expires)}  # fmt: skip
    shopper = Client(f"{server.ws_url}/ws/v1/shopper?site={site_key}")
    await shopper.connect()
    await shopper.send({"type": "hello", "customer": claim})
    welcome = await shopper.wait_for("welcome", scaled(10))
    await shopper.close()
    return bool(welcome["customer_verified"])


async def test_customer_claims_expire_at_most_the_configured_time_ahead(
    servers: StartServer, redis: Redis, site_key: str
) -> None:
    await make_site(redis, site_key)  # identity secret 's3cret'
    server = await servers(CHAT_CLAIM_MAX_HOURS=2)
    now = int(time.time())
    assert await _verified(server, site_key, now + 3600)
    assert not await _verified(server, site_key, now + 3 * 3600)
    assert not await _verified(server, site_key, now + 10 * 365 * 86400)


async def _handshake(server: ServerProcess, site_key: str, origin: str) -> str:
    shopper = Client(f"{server.ws_url}/ws/v1/shopper?site={site_key}", origin=origin)
    try:
        await shopper.connect()
    except Exception as refused:  # websockets' InvalidStatus: the handshake got HTTP 403
        return str(getattr(getattr(refused, "response", None), "status_code", refused))
    await shopper.close()
    return "accepted"


@pytest.mark.parametrize("demo", [False, True])
async def test_a_site_without_allowed_origins_accepts_no_foreign_origin_outside_the_demo(
    servers: StartServer, redis: Redis, site_key: str, demo: bool
) -> None:
    await make_site(redis, site_key)
    server = await servers(demo=demo)
    expected = "accepted" if demo else "403"
    assert await _handshake(server, site_key, "https://evil.example") == expected
    assert await _handshake(server, site_key, "null") == "403"
    assert await _handshake(server, site_key, server.base_url) == "accepted", "our own pages"


async def test_a_listed_origin_gets_in_and_null_never_does(
    servers: StartServer, redis: Redis, site_key: str
) -> None:
    await make_site(redis, site_key, origins=("https://shop.example",))
    server = await servers()
    assert await _handshake(server, site_key, "https://shop.example") == "accepted"
    assert await _handshake(server, site_key, "null") == "403"


async def test_a_deeply_nested_quick_reply_is_a_422_not_a_500(
    servers: StartServer, redis: Redis, site_key: str
) -> None:
    site = await make_site(redis, site_key)
    agent = await make_agent(redis, site, f"n{site_key}")
    server = await servers()
    token = await login(server, agent.login)
    deep = "{{ " + "(" * 1900 + "x" + ")" * 1900 + " }}"
    async with httpx.AsyncClient(
        base_url=server.base_url, trust_env=False, headers={"Authorization": f"Bearer {token}"}
    ) as http:
        reply = {"shortcut": "deep", "title": "Deep", "text": deep}
        answer = await http.post("/api/v1/quick-replies", json=reply)
    assert answer.status_code == 422
    assert answer.json()["error"] == "invalid_field" and "nest" in answer.json()["message"]
    assert "Traceback" not in server.log_tail(20_000)
