"""Faults: a server process killed, Redis killed and restarted, history lost, grace periods."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import httpx
import orjson
from redis.asyncio import Redis

from chatserver.client import ResumingClient
from chatserver.store import keys
from chatserver.store.embedded import EmbeddedRedis
from tests.conftest import scaled
from tests.integration.conftest import StartServer
from tests.integration.servers import ServerProcess
from tests.integration.world import (
    agent_client,
    login,
    make_agent,
    make_site,
    shopper_client,
    start_chat,
)


async def _stream(redis: Redis, conversation_id: str) -> list[tuple[str, dict[str, object]]]:
    rows = await redis.xrange(keys.transcript(conversation_id))
    return [(i, orjson.loads(f["e"])) for i, f in rows]


def _mine(client: ResumingClient, login_: str) -> set[str]:
    """The conversations the server last said are assigned to agent `login_`."""
    state: dict[str, bool] = {}
    for f in client.events:
        if f.get("type") == "conversation":
            agent = f.get("agent") or {}
            state[f["conversation_id"]] = f["state"] == "assigned" and agent.get("id") == login_
    return {c for c, yes in state.items() if yes}


async def _check_transcripts(redis: Redis, clients: list[ResumingClient]) -> None:
    """Every acked message stored once; every client's view equals the stream, no dup/gap."""
    for client in clients:
        assert not client.outbox, "every message was acked in the end"
        for conv_id, log in client.logs.items():
            stream = await _stream(redis, conv_id)
            senders = Counter(
                (str(e["from"]), e["cmid"])  # type: ignore[index]
                for _, e in stream
                if e["kind"] == "message"
            )
            assert max(senders.values(), default=1) == 1, "no message stored twice"
            stored = {i for i, e in stream if e["kind"] == "message"}
            for ack in client.acks.values():
                if ack["conversation_id"] == conv_id:
                    assert ack["id"] in stored, "no acked message lost"
            assert log.duplicates == 0
            assert log.out_of_order == 0
            seen = {f["id"] for f in log.messages()}
            assert seen == stored, "the client saw exactly the stored messages"


async def test_kill_9_of_one_server_during_traffic_loses_and_duplicates_nothing(
    redis: Redis, site_key: str, two_servers: tuple[ServerProcess, ServerProcess]
) -> None:
    a, b = two_servers
    site = await make_site(redis, site_key, departments=("sales",))
    agents: dict[str, ResumingClient] = {}
    for i, first in enumerate((a, b)):
        name = f"{site_key}-ag{i}"
        await make_agent(redis, site, name)
        token = await login(first, name)
        other = b if first is a else a
        client = ResumingClient(
            [f"{first.ws_url}/ws/v1/agent", f"{other.ws_url}/ws/v1/agent"], {"token": token}
        )
        await client.start()
        await client.send({"type": "status", "status": "online"})
        agents[name] = client
    shoppers = []
    for i in range(4):
        first, other = (a, b) if i % 2 == 0 else (b, a)
        client = ResumingClient(
            [f"{s.ws_url}/ws/v1/shopper?site={site_key}" for s in (first, other)],
            {"site": site_key},
        )
        await client.start()
        await client.send({"type": "start"})
        await client.until(lambda c=client: any(f.get("state") == "assigned" for f in c.events),
                           scaled(10))  # fmt: skip
        shoppers.append(client)

    conv_of = {id(s): next(iter(s.logs)) for s in shoppers}
    for round_ in range(12):
        if round_ == 4:
            await a.kill()
        for s in shoppers:
            await s.send_message(conv_of[id(s)], f"shopper round {round_} 你好")
        for name, agent in agents.items():
            for conv in _mine(agent, name):
                await agent.send_message(conv, f"agent round {round_}")
        await asyncio.sleep(0.05)  # pacing of the traffic, not a synchronisation

    everyone = [*shoppers, *agents.values()]
    for client in everyone:
        await client.until(lambda c=client: not c.outbox, scaled(30))
    total = {c: len([e for _, e in await _stream(redis, c) if e["kind"] == "message"])
             for c in conv_of.values()}  # fmt: skip
    for s in shoppers:
        conv = conv_of[id(s)]
        await s.until(lambda s=s, conv=conv: len(s.logs[conv].messages()) == total[conv],
                      scaled(30))  # fmt: skip
    for name, agent in agents.items():
        for conv in _mine(agent, name):
            await agent.until(
                lambda agent=agent, conv=conv: len(agent.logs[conv].messages()) == total[conv],
                scaled(30),
            )
    assert all(c.reconnects >= 1 for c in everyone if c.urls[0].startswith(a.ws_url))
    await _check_transcripts(redis, everyone)
    for conv in conv_of.values():
        state = await redis.hget(keys.conversation(site_key, conv), "state")
        assert state in ("assigned", "queued")
    for client in everyone:
        await client.stop()


async def test_redis_killed_and_restarted_loses_no_acked_message(
    site_key: str, servers: StartServer, tmp_path: Path
) -> None:
    own = EmbeddedRedis(tmp_path / "redis", appendfsync="always")
    own.start()
    redis = Redis.from_url(own.url, decode_responses=True)
    try:
        server = await servers(redis_url=own.url)
        site = await make_site(redis, site_key, departments=("sales",))
        await make_agent(redis, site, f"{site_key}-r")
        token = await login(server, f"{site_key}-r")
        agent = ResumingClient([f"{server.ws_url}/ws/v1/agent"], {"token": token})
        await agent.start()
        await agent.send({"type": "status", "status": "online"})
        shopper = ResumingClient([f"{server.ws_url}/ws/v1/shopper?site={site_key}"],
                                 {"site": site_key})  # fmt: skip
        await shopper.start()
        await shopper.send({"type": "start"})
        await shopper.until(lambda: any(f.get("state") == "assigned" for f in shopper.events),
                            scaled(10))  # fmt: skip
        conv = next(iter(shopper.logs))
        for i in range(10):
            await shopper.send_message(conv, f"before {i}")
        await shopper.until(lambda: len(shopper.acks) == 10, scaled(10))
        acked = {a["id"] for a in shopper.acks.values()}

        own.kill()
        await shopper.until(
            lambda: any(f.get("type") == "service" and f["state"] == "reconnecting"
                        for f in shopper.events), scaled(15))  # fmt: skip
        async with httpx.AsyncClient(base_url=server.base_url, trust_env=False) as http:
            ready = await http.get("/readyz")
        assert ready.status_code == 503 and "redis" in ready.text
        for i in range(3):
            await shopper.send_message(conv, f"during {i}")  # refused: stays in the outbox
        own.start()  # same port, same append-only file
        await redis.aclose()
        redis = Redis.from_url(own.url, decode_responses=True)
        stored = {i for i, e in await _stream(redis, conv) if e["kind"] == "message"}
        assert acked <= stored, "every message acked before the crash survived it"

        await shopper.until(lambda: not shopper.outbox, scaled(30))
        await agent.until(lambda: any(f.get("type") == "service" and f["state"] == "ok"
                                      for f in agent.events), scaled(30))  # fmt: skip
        await agent.send_message(conv, "back to normal")
        await agent.until(lambda: not agent.outbox, scaled(15))
        total = len([e for _, e in await _stream(redis, conv) if e["kind"] == "message"])
        assert total == 14
        await shopper.until(lambda: len(shopper.logs[conv].messages()) == total, scaled(15))
        await agent.until(lambda: len(agent.logs[conv].messages()) == total, scaled(15))
        await _check_transcripts(redis, [shopper, agent])
        await shopper.stop()
        await agent.stop()
    finally:
        await redis.aclose()
        own.stop()


async def test_resume_after_lost_history_says_so_with_a_new_epoch(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    """What a client sees when Redis lost the end of a transcript (appendfsync everysec):
    its last id no longer exists, so it gets `reset` and the whole history of a new epoch."""
    site = await make_site(redis, site_key)
    shopper, welcome = await shopper_client(server, site)
    conv = await start_chat(shopper, "kept")
    await shopper.send({"type": "message", "conversation_id": conv, "client_msg_id": "l",
                        "text": "lost"})  # fmt: skip
    lost = await shopper.wait_for("ack", scaled(10), client_msg_id="l")
    await redis.xdel(keys.transcript(conv), lost["id"])  # as if never persisted
    again, _ = await shopper_client(server, site, token=str(welcome["token"]))
    await again.send({"type": "resume", "conversation_id": conv, "epoch": 1, "after": lost["id"]})
    reset = await again.wait_for("reset", scaled(10), conversation_id=conv)
    assert reset["reason"] == "history_lost"
    assert reset["epoch"] == 2
    await again.wait_for("synced", scaled(10), conversation_id=conv)
    texts = [f["text"] for f in again.received if f.get("type") == "message"]
    assert texts == ["kept"]
    await again.send({"type": "resume", "conversation_id": conv, "epoch": 1, "after": "0-0"})
    assert (await again.wait_for("reset", scaled(10)))["reason"] == "epoch_changed"
    await shopper.close()
    await again.close()


async def test_graceful_stop_closes_sockets_with_1012_so_clients_reconnect(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key)
    shopper, _ = await shopper_client(server, site)
    stopping = asyncio.create_task(server.stop())
    assert await shopper.wait_closed(scaled(10)) == 1012
    # uvicorn re-raises the SIGTERM it handled once shut down: -15 is its clean exit.
    assert await stopping in (0, -15)
    assert "Application shutdown complete" in server.log_tail()


async def test_agent_back_within_grace_keeps_chats_and_after_it_they_go_to_another(
    redis: Redis, site_key: str, servers: StartServer
) -> None:
    server = await servers(CHAT_GRACE_SECONDS=1.5, CHAT_SWEEP_SECONDS=0.2)
    site = await make_site(redis, site_key, departments=("sales",))
    await make_agent(redis, site, f"{site_key}-g1")
    await make_agent(redis, site, f"{site_key}-g2")
    first = await agent_client(server, f"{site_key}-g1")
    shopper, _ = await shopper_client(server, site)
    conv = await start_chat(shopper, "help")
    await first.wait_for("conversation", scaled(10), conversation_id=conv, state="assigned")

    first.abort()
    back = await agent_client(server, f"{site_key}-g1", online=False)
    welcome = back.received[0]
    assert [c["conversation_id"] for c in welcome["conversations"]] == [conv]
    assert await redis.zscore(keys.grace(site_key), f"{site_key}-g1") is None

    second = await agent_client(server, f"{site_key}-g2")
    back.abort()  # gone for good: after the grace period the chat moves on
    moved = await second.wait_for("conversation", scaled(15), conversation_id=conv,
                                  state="assigned")  # fmt: skip
    assert moved["agent"]["id"] == f"{site_key}-g2"
    await shopper.wait_for("event", scaled(10), conversation_id=conv, event="requeued")
    assert await redis.hget(keys.agent_status(site_key), f"{site_key}-g1") == "offline"
    await second.close()
    await shopper.close()


async def test_shopper_who_leaves_the_queue_too_long_is_abandoned(
    redis: Redis, site_key: str, servers: StartServer
) -> None:
    server = await servers(CHAT_QUEUE_HOLD_SECONDS=0.5, CHAT_SWEEP_SECONDS=0.2)
    site = await make_site(redis, site_key)
    events = redis.pubsub()
    await events.subscribe(keys.site_channel(site_key))
    shopper, _ = await shopper_client(server, site)
    conv = await start_chat(shopper, "anyone?")
    await shopper.wait_for("queue", scaled(10), conversation_id=conv)
    await shopper.close()
    async with asyncio.timeout(scaled(15)):
        while True:  # the routing events of the site, as every server process receives them
            message = await events.get_message(timeout=scaled(15))
            if message and message["type"] == "message":
                event = orjson.loads(message["data"])
                if event.get("t") == "abandoned" and event.get("conv") == conv:
                    break
    assert await redis.hget(keys.conversation(site_key, conv), "state") == "abandoned"
    assert await redis.zscore(keys.queue(site_key, "sales"), conv) is None
    await events.aclose()


async def test_the_reference_client_resends_what_the_visitor_rate_refused(
    redis: Redis, site_key: str, servers: StartServer
) -> None:
    """Messages over the visitor's rate are refused `rate_limited` (with their ref) and stay in
    the outbox: the client slows down and resends them, and every one is stored once, without
    a reconnect."""
    server = await servers(CHAT_VISITOR_RATE_PER_SECOND=2, CHAT_VISITOR_RATE_BURST=2)
    await make_site(redis, site_key, departments=("sales",))
    shopper = ResumingClient([f"{server.ws_url}/ws/v1/shopper?site={site_key}"],
                             {"site": site_key})  # fmt: skip
    await shopper.start()
    try:
        await shopper.send({"type": "start"})
        await shopper.until(lambda: bool(shopper.logs), scaled(10))
        conv = next(iter(shopper.logs))
        sent = [await shopper.send_message(conv, f"hurried {i}") for i in range(6)]
        await shopper.until(
            lambda: any(f.get("code") == "rate_limited" for f in shopper.events), scaled(10)
        )
        await shopper.until(lambda: not shopper.outbox, scaled(20))
        assert set(shopper.acks) == set(sent)
        assert shopper.reconnects == 0
        stored = [e["cmid"] for _, e in await _stream(redis, conv) if e["kind"] == "message"]
        assert sorted(stored) == sorted(sent), "each stored once"
    finally:
        await shopper.stop()
