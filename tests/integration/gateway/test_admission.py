"""Frames beyond what the process handles at once wait their turn (they are not refused
`unavailable`), and a ping is answered even while they wait."""

from __future__ import annotations

from pathlib import Path

from redis.asyncio import Redis

from chatserver.store.embedded import EmbeddedRedis
from tests.conftest import scaled
from tests.integration.conftest import StartServer
from tests.integration.world import make_site, shopper_client, start_chat

SLOTS = 4  # CHAT_REDIS_CONNECTIONS: also the frames handled at once
SENDERS = 3 * SLOTS


async def test_frames_over_the_limit_wait_and_a_ping_does_not(
    site_key: str, servers: StartServer, tmp_path: Path
) -> None:
    own = EmbeddedRedis(tmp_path / "redis")  # its own: this test stalls it
    own.start()
    redis = Redis.from_url(own.url, decode_responses=True)
    stall = Redis.from_url(own.url, decode_responses=True)
    try:
        server = await servers(redis_url=own.url, CHAT_REDIS_CONNECTIONS=SLOTS)
        site = await make_site(redis, site_key)
        senders = [(await shopper_client(server, site))[0] for _ in range(SENDERS)]
        convs = [await start_chat(s, "hello") for s in senders]
        idle, _ = await shopper_client(server, site)
        # Redis answers nobody for a while (it replies OK, then pauses every client): every
        # message's handler waits on it holding its admission, the others wait for admission.
        assert await stall.execute_command("CLIENT", "PAUSE", "3000", "ALL")
        for client, conv in zip(senders, convs, strict=True):
            await client.send({"type": "message", "conversation_id": conv,
                               "client_msg_id": "m1", "text": "are you there?"})  # fmt: skip
        await idle.send({"type": "ping"})
        await idle.wait_for("pong", scaled(10))
        acked = [f for c in senders for f in c.received if f.get("type") == "ack"
                 and f.get("client_msg_id") == "m1"]  # fmt: skip
        assert acked == [], "the pong came after Redis was back: it waited behind the messages"
        for client in senders:
            await client.wait_for("ack", scaled(20), client_msg_id="m1")
        refused = [f for c in senders for f in c.received if f.get("type") == "error"]
        assert refused == []
        for client in [*senders, idle]:
            await client.close()
    finally:
        await redis.aclose()
        await stall.aclose()
        own.stop()
