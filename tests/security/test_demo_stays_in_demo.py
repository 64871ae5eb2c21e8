"""Finding 1: the demo store's sign-in signed customer claims for any site under `serve`.

The demo store exists only under `chatserver demo`, signs claims only for the demo's site, and
`serve` accepts none of the demo's published secrets."""

from __future__ import annotations

import time

import httpx
from redis.asyncio import Redis

from chatserver import demo
from chatserver.client import Client
from chatserver.core import tokens
from chatserver.core.model import Site
from chatserver.core.orders import OrderSource
from chatserver.orders import push
from chatserver.orders.demo import DEMO_PUSH_SECRET
from chatserver.store import keys, sites
from chatserver.store.orders import Orders
from tests.conftest import scaled
from tests.integration.conftest import StartServer
from tests.integration.world import make_site


async def test_serve_has_no_demo_store(servers: StartServer, redis: Redis, site_key: str) -> None:
    await make_site(redis, site_key)
    server = await servers()
    async with httpx.AsyncClient(
        base_url=server.base_url, trust_env=False, cookies={"demo_customer": "c-1001"}
    ) as http:
        for path in ("/demo", "/demo/en", f"/demo/en?site={site_key}", "/demo/zh/cart"):
            assert (await http.get(path)).status_code == 404, path
        signed_in = await http.post(f"/demo/en/signin?site={site_key}")
        assert signed_in.status_code in (404, 405)
        page = await http.get(f"/demo/en?site={site_key}")
        assert "signature" not in page.text


async def test_demo_signs_claims_for_its_own_site_only(
    servers: StartServer, redis: Redis, site_key: str
) -> None:
    await make_site(redis, site_key)  # a real store's site, with its own identity secret
    await sites.save_site(redis, demo.DEMO_SITE)  # the demo's own site (no agents: not seeded)
    server = await servers(demo=True)
    async with httpx.AsyncClient(
        base_url=server.base_url, trust_env=False, cookies={"demo_customer": "c-1001"}
    ) as http:
        page = await http.get(f"/demo/en?site={site_key}")
        own = await http.get("/demo/en")
    assert page.status_code == 200
    assert f'data-site="{site_key}"' in page.text, "the page shows that site's widget"
    assert 'ChatWidget("identify"' not in page.text, "no claim is signed for another site"
    assert 'ChatWidget("identify"' in own.text, "the demo's own site is signed in"


async def test_claims_signed_with_the_demo_secret_count_only_in_the_demo(
    servers: StartServer, redis: Redis, site_key: str
) -> None:
    site = Site(site_key, "Copied demo", ("sales",), (), demo.DEMO_SITE.identity_secret)
    await sites.save_site(redis, site)
    expires = int(time.time()) + 600
    signature = tokens.sign_customer(site.identity_secret, "c-1001", expires)
    claim = {"id": "c-1001", "expires": expires, "signature": signature}
    for run_demo, verified in ((False, False), (True, True)):
        server = await servers(demo=run_demo)
        shopper = Client(f"{server.ws_url}/ws/v1/shopper?site={site_key}")
        await shopper.connect()
        await shopper.send({"type": "hello", "customer": claim})
        welcome = await shopper.wait_for("welcome", scaled(10))
        assert welcome["customer_verified"] is verified
        await shopper.close()
        await server.stop()


async def test_serve_refuses_the_demo_push_secret(
    servers: StartServer, redis: Redis, site_key: str
) -> None:
    await make_site(redis, site_key)
    await Orders(redis).save_source(site_key, OrderSource(push_secret=DEMO_PUSH_SECRET))
    body = b'{"customers": []}'
    headers = {push.SIGNATURE_HEADER: push.sign(DEMO_PUSH_SECRET, body)}
    for run_demo, status in ((False, 401), (True, 200)):
        server = await servers(demo=run_demo)
        async with httpx.AsyncClient(base_url=server.base_url, trust_env=False) as http:
            answer = await http.post(f"/api/v1/sites/{site_key}/push", content=body,
                                     headers=headers)  # fmt: skip
        assert answer.status_code == status, answer.text
        await server.stop()


async def test_serve_will_not_start_while_agents_have_the_demo_password(
    servers: StartServer, redis: Redis, site_key: str
) -> None:
    login = f"demo-{site_key}"
    await redis.sadd(keys.DEMO_PASSWORDS, login)
    try:
        try:
            await servers()
            raise AssertionError("serve started with a demo password left")
        except Exception as error:  # ServerProcessError, with the log
            assert login in str(error) and "demo password" in str(error)
        allowed = await servers(CHAT_ALLOW_DEMO_PASSWORDS="true")
        assert allowed.running
    finally:
        await redis.srem(keys.DEMO_PASSWORDS, login)
