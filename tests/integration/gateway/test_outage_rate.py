"""A client that keeps to its rate is never flood-closed because the server made it wait:
frames that piled up while Redis was down are credited, not counted as a flood."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest
from redis.asyncio import Redis

from chatserver.client import Client
from chatserver.store.embedded import EmbeddedRedis
from tests.conftest import scaled
from tests.integration.conftest import StartServer
from tests.integration.world import make_site, shopper_client, start_chat

RATE = 20  # the server's frames per second per socket (CHAT_RATE_PER_SECOND, the default)
OUTAGE_SECONDS = 20.0


@pytest.mark.slow
async def test_half_the_rate_through_a_20_s_redis_outage_is_neither_refused_nor_closed(
    site_key: str, servers: StartServer, tmp_path: Path
) -> None:
    own = EmbeddedRedis(tmp_path / "redis", appendfsync="always")
    own.start()
    redis = Redis.from_url(own.url, decode_responses=True)
    sent = 0
    try:
        # The shopper's message bucket (per visitor, in Redis) is not what this is about.
        server = await servers(redis_url=own.url, CHAT_VISITOR_RATE_PER_SECOND=100,
                               CHAT_VISITOR_RATE_BURST=1000)  # fmt: skip
        site = await make_site(redis, site_key)
        shopper, _ = await shopper_client(server, site)
        conv = await start_chat(shopper, "hello")

        async def keep_sending(client: Client) -> None:
            nonlocal sent
            while True:  # half the rate: one message every 2/RATE s (a pace, not a wait)
                sent += 1
                frame = {"type": "message", "conversation_id": conv,
                         "client_msg_id": f"m{sent}", "text": f"line {sent}"}  # fmt: skip
                await client.send(frame)
                await asyncio.sleep(2 / RATE)

        sender = asyncio.create_task(keep_sending(shopper))
        await shopper.wait_for("ack", scaled(10), client_msg_id="m5")
        own.kill()
        await shopper.wait_for("service", scaled(15), state="reconnecting")
        await asyncio.sleep(OUTAGE_SECONDS)  # the outage itself: its length is the scenario
        own.start()  # same port, same data
        await shopper.wait_for("service", scaled(30), state="ok")
        after = sent + 10
        await shopper.wait_for("ack", scaled(60), client_msg_id=f"m{after}")
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender
        await shopper.send({"type": "ping"})
        await shopper.wait_for("pong", scaled(30))
        refused = [f for f in shopper.received
                   if f.get("type") == "error" and f.get("code") == "rate_limited"]  # fmt: skip
        assert refused == [], f"{len(refused)} frames refused as too fast"
        assert shopper.close_code is None, "the socket stayed open"
        await shopper.close()
    finally:
        await redis.aclose()
        own.stop()
