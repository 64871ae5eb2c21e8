"""Routing through real server processes: capacity under concurrency, queue order."""

from __future__ import annotations

import asyncio
import time

from redis.asyncio import Redis

from chatserver.client import Client
from chatserver.core import tokens
from chatserver.store import keys
from tests.conftest import scaled
from tests.integration.servers import ServerProcess
from tests.integration.world import agent_client, make_agent, make_site, shopper_client


async def test_200_concurrent_chats_through_2_processes_with_10_agents_at_capacity_3(
    redis: Redis, site_key: str, two_servers: tuple[ServerProcess, ServerProcess]
) -> None:
    site = await make_site(redis, site_key, departments=("sales",))
    agents: list[Client] = []
    for i in range(10):
        login = f"{site_key}-a{i}"
        await make_agent(redis, site, login, capacity=3)
        agents.append(await agent_client(two_servers[i % 2], login))

    peak = 0
    done = asyncio.Event()

    async def sample_loads() -> int:
        """Every agent's load and chat count, read over and over while chats arrive."""
        nonlocal peak
        while not done.is_set():
            loads = await redis.hgetall(keys.agent_load(site_key))
            members = await redis.zrange(keys.agent_convs(site_key), 0, -1)
            per_agent: dict[str, int] = {}
            for m in members:
                login = m.split("\t", 1)[0]
                per_agent[login] = per_agent.get(login, 0) + 1
            peak = max([peak, *map(int, loads.values()), *per_agent.values()])
        return peak

    sampler = asyncio.create_task(sample_loads())
    shoppers = await asyncio.gather(*(shopper_client(two_servers[i % 2], site) for i in range(200)))

    async def start(client: Client, i: int) -> str:
        await client.send({"type": "start", "text": f"question {i}", "client_msg_id": "q"})
        return str((await client.wait_for("ack", scaled(30), client_msg_id="q"))["conversation_id"])

    conv_ids = await asyncio.gather(*(start(c, i) for i, (c, _) in enumerate(shoppers)))
    done.set()
    assert await sampler <= 3

    convs = {c: await redis.hgetall(keys.conversation(site_key, c)) for c in conv_ids}
    assigned = [c for c, h in convs.items() if h["state"] == "assigned"]
    queued = await redis.zrange(keys.queue(site_key, "sales"), 0, -1)
    assert len(assigned) == 30
    assert len(queued) == 170
    by_arrival = sorted(conv_ids, key=lambda c: int(convs[c]["arrival"]))
    assert set(assigned) == set(by_arrival[:30]), "the first 30 to arrive were served"
    assert queued == by_arrival[30:], "the rest wait in arrival order"
    loads = await redis.hgetall(keys.agent_load(site_key))
    assert sorted(map(int, loads.values())) == [3] * 10

    # Closing one chat brings in the oldest queued one, to the agent who freed the slot.
    closer = agents[0]
    mine = await closer.wait_for("conversation", scaled(10), state="assigned")
    await closer.send({"type": "close", "conversation_id": mine["conversation_id"]})
    oldest = queued[0]
    taken = await closer.wait_for("conversation", scaled(10), conversation_id=oldest,
                                  state="assigned")  # fmt: skip
    assert taken["agent"]["id"] == f"{site_key}-a0"
    assert await redis.zrange(keys.queue(site_key, "sales"), 0, 0) == [queued[1]]
    for client in [*agents, *(c for c, _ in shoppers)]:
        await client.close()


async def test_returning_customer_gets_previous_agent_when_free(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key, departments=("sales",))
    await make_agent(redis, site, f"{site_key}-x")
    await make_agent(redis, site, f"{site_key}-y")
    x = await agent_client(server, f"{site_key}-x")
    y = await agent_client(server, f"{site_key}-y")
    shopper, welcome = await shopper_client(server, site)
    await shopper.send({"type": "start", "text": "first visit", "client_msg_id": "1"})
    first = await shopper.wait_for("conversation", scaled(10), state="assigned")
    served_by = first["agent"]["name"]
    await shopper.send({"type": "close", "conversation_id": first["conversation_id"]})
    await shopper.wait_for("conversation", scaled(10), state="closed")
    # The other agent is now the idle-longest, least-loaded one: only the rule brings it back.
    back, _ = await shopper_client(server, site, token=str(welcome["token"]))
    await back.send({"type": "start", "text": "me again", "client_msg_id": "2"})
    second = await back.wait_for("conversation", scaled(10), state="assigned")
    assert second["conversation_id"] != first["conversation_id"]
    assert second["agent"]["name"] == served_by
    for client in (x, y, shopper, back):
        await client.close()


async def test_transfer_with_note_reaches_next_agent_and_never_the_shopper(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key, departments=("pre", "after"))
    await make_agent(redis, site, f"{site_key}-pre", departments=("pre",))
    await make_agent(redis, site, f"{site_key}-after", departments=("after",))
    pre = await agent_client(server, f"{site_key}-pre")
    after = await agent_client(server, f"{site_key}-after")
    shopper, _ = await shopper_client(server, site)
    await shopper.send({"type": "start", "department": "pre", "text": "my parcel is broken",
                        "client_msg_id": "1"})  # fmt: skip
    conv = (await pre.wait_for("conversation", scaled(10), state="assigned"))["conversation_id"]
    await pre.send({"type": "transfer", "conversation_id": conv, "to_department": "after",
                    "note": "order 1042, wants a refund"})  # fmt: skip
    taken = await after.wait_for("conversation", scaled(10), conversation_id=conv,
                                 state="assigned")  # fmt: skip
    assert taken["department"] == "after"
    note = await after.wait_for("note", scaled(10), conversation_id=conv)
    assert note["text"] == "order 1042, wants a refund"
    first = await after.wait_for("message", scaled(10), conversation_id=conv)
    assert first["text"] == "my parcel is broken", "the next agent sees the whole transcript"
    moved = await shopper.wait_for("event", scaled(10), event="transferred")
    assert moved["to"] == {"department": "after"}
    next_name = f"{site_key}-after".title()
    await shopper.wait_for(
        "conversation", scaled(10), conversation_id=conv, state="assigned",
        where=lambda f: f["agent"]["name"] == next_name,
    )  # fmt: skip
    assert "refund" not in str(shopper.received), "internal notes never reach the shopper"
    for client in (pre, after, shopper):
        await client.close()


async def test_transfer_to_a_department_never_bounces_back_to_the_same_agent(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key, departments=("sales",))
    await make_agent(redis, site, f"{site_key}-solo")
    solo = await agent_client(server, f"{site_key}-solo")
    shopper, _ = await shopper_client(server, site)
    await shopper.send({"type": "start", "text": "hello", "client_msg_id": "1"})
    conv = (await solo.wait_for("conversation", scaled(10), state="assigned"))["conversation_id"]
    await solo.send({"type": "transfer", "conversation_id": conv, "to_department": "sales"})
    await shopper.wait_for("event", scaled(10), event="transferred")
    queue = await shopper.wait_for("queue", scaled(10), conversation_id=conv)
    assert queue["position"] == 1
    assert await redis.hget(keys.conversation(site_key, conv), "state") == "queued"
    await make_agent(redis, site, f"{site_key}-next")
    other = await agent_client(server, f"{site_key}-next")
    taken = await other.wait_for("conversation", scaled(10), conversation_id=conv,
                                 state="assigned")  # fmt: skip
    assert taken["agent"]["id"] == f"{site_key}-next"
    for client in (solo, other, shopper):
        await client.close()


async def test_verified_customer_chat_joins_their_history_before_any_agent_sees_it(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    await make_site(redis, site_key)
    expires = int(time.time()) + 600
    claim = {"id": "cust-77", "expires": expires,
             "signature": tokens.sign_customer("s3cret", "cust-77", expires)}  # fmt: skip
    shopper = Client(f"{server.ws_url}/ws/v1/shopper?site={site_key}")
    await shopper.connect()
    await shopper.send({"type": "hello", "customer": claim})
    assert (await shopper.wait_for("welcome", scaled(10)))["customer_verified"] is True
    await shopper.send({"type": "start", "text": "where is my order?", "client_msg_id": "1"})
    conv = (await shopper.wait_for("ack", scaled(10)))["conversation_id"]
    assert await redis.zscore(keys.customer_convs(site_key, "cust-77"), conv) is not None
    assert await redis.hget(keys.conversation(site_key, conv), "state") == "queued"
    await shopper.close()
