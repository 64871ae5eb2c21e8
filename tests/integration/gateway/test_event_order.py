"""Each socket hears its events in the order they happened (issue: one ordered event path).

docs/protocol.md section 6.11 tells an agent's client to compute its load from `conversation`
frames; that is only right if a frame caused by a later event never overtakes the frame of an
earlier one."""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio import Redis

from chatserver.client import Client
from tests.conftest import scaled
from tests.integration.servers import ServerProcess
from tests.integration.world import agent_client, make_agent, make_site, shopper_client

AGENTS, CAPACITY, ROUNDS = 10, 3, 5


def loads_seen(frames: list[dict[str, Any]], me: str) -> list[int]:
    """The load a client computes after each `conversation` frame, as section 6.11 says."""
    states: dict[str, tuple[str, str]] = {}
    loads = []
    for frame in frames:
        if frame.get("type") != "conversation":
            continue
        agent = (frame.get("agent") or {}).get("id", "")
        states[frame["conversation_id"]] = (frame["state"], agent)
        loads.append(sum(1 for state, who in states.values() if state == "assigned" and who == me))
    return loads


async def test_ten_agents_closing_three_chats_at_once_never_see_four(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key, departments=("sales",))
    logins = [f"{site_key}-o{i}" for i in range(AGENTS)]
    agents: list[Client] = []
    for login in logins:
        await make_agent(redis, site, login, capacity=CAPACITY)
        agents.append(await agent_client(server, login))
    arrivals = (ROUNDS + 1) * AGENTS * CAPACITY
    opened = await asyncio.gather(*(shopper_client(server, site) for _ in range(arrivals)))
    shoppers = [client for client, _ in opened]

    async def start(client: Client, i: int) -> str:
        await client.send({"type": "start", "text": f"q{i}", "client_msg_id": "q"})
        return str((await client.wait_for("ack", scaled(30), client_msg_id="q"))["conversation_id"])

    for i, client in enumerate(shoppers):  # in order: the first 30 are assigned at once
        await start(client, i)

    async def mine(agent: Client, login: str, count: int) -> list[str]:
        taken: list[str] = []
        while len(taken) < count:
            frame = await agent.wait_for(
                "conversation", scaled(30),
                where=lambda f: f["state"] == "assigned" and f["conversation_id"] not in taken,
            )  # fmt: skip
            if (frame.get("agent") or {}).get("id") == login:
                taken.append(str(frame["conversation_id"]))
        return taken

    for _round in range(ROUNDS):  # every agent closes its three at once, the queue refills
        chats = await asyncio.gather(
            *(mine(a, login, CAPACITY) for a, login in zip(agents, logins, strict=True))
        )
        await asyncio.gather(*(
            a.send({"type": "close", "conversation_id": c})
            for a, convs in zip(agents, chats, strict=True) for c in convs))  # fmt: skip
    await asyncio.gather(
        *(mine(a, login, CAPACITY) for a, login in zip(agents, logins, strict=True))
    )
    for agent, login in zip(agents, logins, strict=True):
        loads = loads_seen(agent.received, login)
        assert max(loads) <= CAPACITY, f"{login} computed {max(loads)} from its frames"
    for client in [*agents, *shoppers]:
        await client.close()
