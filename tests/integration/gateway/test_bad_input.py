"""Bad input gets its documented error or close code, and nothing else is affected."""

from __future__ import annotations

import asyncio

import pytest
import websockets
from redis.asyncio import Redis

from chatserver.client import Client
from chatserver.core import tokens
from chatserver.store import sites
from tests.conftest import scaled
from tests.integration.conftest import StartServer
from tests.integration.servers import ServerProcess
from tests.integration.world import make_site, shopper_client, start_chat


@pytest.fixture
async def bystander(redis: Redis, site_key: str, server: ServerProcess) -> Client:
    """A shopper chatting normally on the same server, checked after each abuse."""
    site = await make_site(redis, site_key)
    client, _ = await shopper_client(server, site)
    await start_chat(client, "I am a normal shopper")
    return client


async def _still_fine(client: Client) -> None:
    await client.send({"type": "ping"})
    await client.wait_for("pong", scaled(10))


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("{not json", "bad_frame"),
        ("[1, 2, 3]", "bad_frame"),
        ('{"type": "teleport"}', "unknown_type"),
        ('{"no_type": 1}', "missing_field"),
        ('{"type": "message", "conversation_id": "x", "client_msg_id": "1"}', "missing_field"),
        ('{"type": "typing", "conversation_id": "x", "typing": "yes"}', "invalid_field"),
        ('{"type": "message", "conversation_id": "x", "client_msg_id": "1", "text": "  "}',
         "invalid_field"),
        ('{"type": "resume", "conversation_id": "x", "epoch": true, "after": "0-0"}',
         "invalid_field"),
        ('{"type": "status", "status": "online"}', "unknown_type"),  # an agent-only frame
    ],
)  # fmt: skip
async def test_bad_frame_gets_error_code_and_connection_stays(
    redis: Redis, site_key: str, server: ServerProcess, bystander: Client, raw: str, code: str
) -> None:
    site = await sites.load_site(redis, site_key)
    assert site is not None
    client, _ = await shopper_client(server, site)
    await client.send_raw(raw)
    error = await client.wait_for("error", scaled(10))
    assert error["code"] == code
    await _still_fine(client)
    await _still_fine(bystander)
    await client.close()


async def test_oversize_frame_closes_1009(
    redis: Redis, site_key: str, server: ServerProcess, bystander: Client
) -> None:
    site = await sites.load_site(redis, site_key)
    assert site is not None
    client, _ = await shopper_client(server, site)
    await client.send_raw('{"type": "ping", "pad": "' + "x" * 70_000 + '"}')
    assert await client.wait_closed(scaled(10)) == 1009
    await _still_fine(bystander)


async def test_flood_gets_rate_limited_then_closed_1008(
    redis: Redis, site_key: str, servers: StartServer
) -> None:
    server = await servers(CHAT_RATE_PER_SECOND=5, CHAT_RATE_BURST=10)
    site = await make_site(redis, site_key)
    calm, _ = await shopper_client(server, site)
    flooder, _ = await shopper_client(server, site)
    for _ in range(200):
        try:
            await flooder.send({"type": "ping"})
        except websockets.ConnectionClosed:
            break
    assert await flooder.wait_closed(scaled(10)) == 1008
    limited = [f for f in flooder.received if f.get("code") == "rate_limited"]
    assert limited, "the flooder was warned before being closed"
    await _still_fine(calm)


async def test_first_frame_must_be_hello(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    await make_site(redis, site_key)
    client = Client(f"{server.ws_url}/ws/v1/shopper?site={site_key}")
    await client.connect()
    await client.send({"type": "ping"})
    assert (await client.wait_for("error", scaled(10)))["code"] == "not_authenticated"
    assert await client.wait_closed(scaled(10)) == 1008


async def test_wrong_agent_token_gets_bad_token_and_1008(server: ServerProcess) -> None:
    client = Client(f"{server.ws_url}/ws/v1/agent")
    await client.connect()
    await client.send({"type": "hello", "token": "not-a-session"})
    assert (await client.wait_for("error", scaled(10)))["code"] == "bad_token"
    assert await client.wait_closed(scaled(10)) == 1008


async def test_forged_and_expired_visitor_tokens_are_refused(
    redis: Redis, site_key: str, server: ServerProcess, bystander: Client
) -> None:
    secret = await sites.shared_secret(redis)
    expired = tokens.sign_visitor(secret, site_key, "someone", now_s=0)
    forged = tokens.sign_visitor(b"not the secret", site_key, "someone", now_s=2_000_000_000)
    for token in (expired, forged, "garbage"):
        client = Client(f"{server.ws_url}/ws/v1/shopper?site={site_key}")
        await client.connect()
        await client.send({"type": "hello", "token": token})
        assert (await client.wait_for("error", scaled(10)))["code"] == "bad_token"
        assert await client.wait_closed(scaled(10)) == 1008
    await _still_fine(bystander)


async def test_foreign_origin_is_refused_at_handshake(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    await make_site(redis, site_key, origins=("https://shop.example",))
    allowed = Client(
        f"{server.ws_url}/ws/v1/shopper?site={site_key}", origin="https://shop.example"
    )
    await allowed.connect()
    await allowed.close()
    for path in (f"/ws/v1/shopper?site={site_key}", "/ws/v1/agent"):
        foreign = Client(f"{server.ws_url}{path}", origin="https://evil.example")
        with pytest.raises(websockets.InvalidStatus) as refused:
            await foreign.connect()
        assert refused.value.response.status_code == 403


async def test_unknown_site_is_refused_at_handshake(server: ServerProcess) -> None:
    client = Client(f"{server.ws_url}/ws/v1/shopper?site=no-such-site")
    with pytest.raises(websockets.InvalidStatus) as refused:
        await client.connect()
    assert refused.value.response.status_code == 403


async def test_errors_about_a_conversation_name_it(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key)
    client, _ = await shopper_client(server, site)
    await client.send({"type": "typing", "conversation_id": "not-mine", "typing": True})
    error = await client.wait_for("error", scaled(10))
    assert (error["code"], error["conversation_id"]) == ("not_found", "not-mine")
    await client.close()


async def _refused(server: ServerProcess, site_key: str, origin: str) -> bool:
    client = Client(f"{server.ws_url}/ws/v1/shopper?site={site_key}", origin=origin)
    try:
        await client.connect()
    except websockets.InvalidStatus as refused:
        return refused.response.status_code == 403
    await client.close()
    return False


async def test_an_edited_site_is_read_again_by_every_process(
    redis: Redis, site_key: str, two_servers: tuple[ServerProcess, ServerProcess]
) -> None:
    """Processes keep the sites their handshakes read (gateway/cache.py SiteCache): an edit
    (here the allowed origins) reaches each of them through the site's channel."""
    await make_site(redis, site_key, origins=("https://shop.example",))
    for server in two_servers:  # each process has read and kept the site now
        assert not await _refused(server, site_key, "https://shop.example")
        assert await _refused(server, site_key, "https://new.example")
    await make_site(redis, site_key, origins=("https://new.example",))
    deadline = asyncio.get_running_loop().time() + scaled(5)
    for server in two_servers:
        while not await _refused(server, site_key, "https://shop.example"):
            assert asyncio.get_running_loop().time() < deadline, "the old site is still kept"
            await asyncio.sleep(0.05)  # the edit's event is on its way: ask again
        assert not await _refused(server, site_key, "https://new.example")
