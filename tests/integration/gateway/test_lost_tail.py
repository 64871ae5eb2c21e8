"""A socket that stays connected while Redis loses the tail of a transcript (a restart with
appendfsync everysec) is told, like a resuming client: `reset`, a new epoch, the history again."""

from __future__ import annotations

from redis.asyncio import Redis

from chatserver.store import keys
from tests.conftest import scaled
from tests.integration.servers import ServerProcess
from tests.integration.world import agent_client, make_agent, make_site, shopper_client, start_chat


def _index(frames: list[dict[str, object]], frame: dict[str, object]) -> int:
    return next(i for i, f in enumerate(frames) if f is frame)


async def test_passive_followers_get_reset_and_one_new_epoch_after_a_lost_tail(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key, departments=("sales",))
    await make_agent(redis, site, f"{site_key}-t")
    agent = await agent_client(server, f"{site_key}-t")
    shopper, _ = await shopper_client(server, site)
    conv = await start_chat(shopper, "kept")
    await shopper.send({"type": "message", "conversation_id": conv, "client_msg_id": "l",
                        "text": "lost"})  # fmt: skip
    lost = await shopper.wait_for("ack", scaled(10), client_msg_id="l")
    await agent.wait_for("message", scaled(10), conversation_id=conv, text="lost")

    await redis.xdel(keys.transcript(conv), lost["id"])  # as if never persisted
    await redis.execute_command("CLIENT", "KILL", "TYPE", "pubsub")  # the bus catches up
    for client in (agent, shopper):  # neither resumes: both only follow
        reset = await client.wait_for("reset", scaled(20), conversation_id=conv)
        assert reset == {"type": "reset", "conversation_id": conv, "epoch": 2,
                         "reason": "history_lost"}  # fmt: skip
        start = next(i for i, f in enumerate(client.received) if f is reset)
        synced = await client.wait_for(
            "synced", scaled(10), conversation_id=conv,
            where=lambda f, c=client, s=start: _index(c.received, f) > s,
        )  # fmt: skip
        end = next(i for i, f in enumerate(client.received) if f is synced)
        after = client.received[start:end]
        assert [f["text"] for f in after if f["type"] == "message"] == ["kept"]
    assert await redis.hget(keys.conversation(site_key, conv), "epoch") == "2", "bumped once"
    await agent.close()
    await shopper.close()
