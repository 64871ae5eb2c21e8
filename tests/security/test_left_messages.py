"""Finding: messages left while nobody was online stayed in the live queue forever (never
abandoned): 30 of them put the next real shopper at position 31, and took the agents' slots
ahead of live shoppers. Now a left message waits in its department's offline inbox, out of
the live queue, until an agent takes it by hand (docs/security.md, "Left messages")."""

from __future__ import annotations

import asyncio

import httpx
from redis.asyncio import Redis

from chatserver.client import Client
from chatserver.core.model import Role, Site
from chatserver.store import keys
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

LEFT_MESSAGES = 30


async def test_left_messages_wait_in_the_inbox_not_ahead_of_live_shoppers(
    servers: StartServer, redis: Redis, site_key: str
) -> None:
    server = await servers(CHAT_QUEUE_HOLD_SECONDS=1, CHAT_SWEEP_SECONDS=0.2)
    site = await make_site(redis, site_key)
    agent = await make_agent(redis, site, f"{site_key}-ann", ("sales",), capacity=2)
    rival = await make_agent(redis, site, f"{site_key}-sup", role=Role.SUPERVISOR)

    # Nobody is online: 30 shoppers leave a message, half of them from the queue.
    left: list[str] = []
    for i in range(LEFT_MESSAGES):
        shopper, cid = await _leave_a_message(server, site, i)
        left.append(cid)
        await shopper.close()  # and go away: their messages are never abandoned
        _assert_no_position_after_leaving(shopper, cid)
    assert await redis.zcard(keys.queue(site_key, "sales")) == 0
    await asyncio.sleep(scaled(1.5))  # past the queue hold, with sweeps every 0.2 s
    for cid in left:
        assert await redis.hget(keys.conversation(site_key, cid), "state") == "left"

    # A live shopper is next in line, whatever was left before.
    live, _ = await shopper_client(server, site)
    live_id = await start_chat(live, "Is the silk scarf in stock?")
    queue = await live.wait_for("queue", scaled(10), conversation_id=live_id)
    assert queue["position"] == 1

    # The agent who comes online gets the live shopper, not a left message.
    ann = await agent_client(server, agent.login)
    await ann.wait_for("conversation", scaled(10), conversation_id=live_id, state="assigned")
    await live.wait_for("conversation", scaled(10), conversation_id=live_id, state="assigned")
    assert await redis.zrange(keys.agent_convs(site_key), 0, -1) == [f"{agent.login}\t{live_id}"]

    # Then the agent takes the oldest left message from the inbox, and has it on their socket.
    async with _api(server, await login(server, agent.login)) as api:
        inbox = (await api.get("/api/v1/inbox")).json()["messages"]
        assert [m["conversation_id"] for m in inbox] == left
        assert inbox[0]["email"] == "s0@example.com" and inbox[0]["text"] == "question 0"
        taken = await api.post(f"/api/v1/inbox/{left[0]}/take")
        assert taken.status_code == 200 and taken.json()["state"] == "assigned"
        await ann.wait_for("conversation", scaled(10), conversation_id=left[0], state="assigned")
        await ann.wait_for("message", scaled(10), conversation_id=left[0], text="question 0")
        # Full now (capacity 2): no third chat, from the inbox either.
        full = await api.post(f"/api/v1/inbox/{left[1]}/take")
        assert (full.status_code, full.json()["error"]) == (409, "no_room")

    # Taken once: another agent racing for it gets 404.
    sup = await agent_client(server, rival.login)
    async with _api(server, await login(server, rival.login)) as api:
        again = await api.post(f"/api/v1/inbox/{left[0]}/take")
        assert again.status_code == 404
        assert len((await api.get("/api/v1/inbox")).json()["messages"]) == LEFT_MESSAGES - 1
    for client in (ann, sup, live):
        await client.close()


async def test_leaving_a_message_moves_the_shoppers_behind_up_at_once(
    server: ServerProcess, redis: Redis, site_key: str
) -> None:
    site = await make_site(redis, site_key)
    first, _ = await shopper_client(server, site)
    first_id = await start_chat(first, "hello?")
    await first.wait_for("queue", scaled(10), conversation_id=first_id, position=1)
    second, _ = await shopper_client(server, site)
    second_id = await start_chat(second, "anyone?")
    await second.wait_for("queue", scaled(10), conversation_id=second_id, position=2)

    await first.send({"type": "leave_message", "conversation_id": first_id,
                      "email": "li@example.com"})  # fmt: skip
    await first.wait_for("conversation", scaled(10), conversation_id=first_id, state="left")
    await second.wait_for("queue", scaled(10), conversation_id=second_id, position=1)
    await first.close()
    await second.close()


async def test_two_agents_taking_the_same_left_message_at_once_one_wins(
    servers: StartServer, redis: Redis, site_key: str
) -> None:
    server = await servers()
    site = await make_site(redis, site_key)
    shopper, cid = await _leave_a_message(server, site, 0)
    logins = [(await make_agent(redis, site, f"{site_key}-{n}")).login for n in ("a", "b")]
    sockets = [await agent_client(server, name) for name in logins]
    tokens = [await login(server, name) for name in logins]

    async def take(token: str) -> int:
        async with _api(server, token) as api:
            return (await api.post(f"/api/v1/inbox/{cid}/take")).status_code

    assert sorted(await asyncio.gather(*(take(t) for t in tokens))) == [200, 404]
    await shopper.wait_for("conversation", scaled(10), conversation_id=cid, state="assigned")
    for sock in sockets:
        await sock.close()
    await shopper.close()


async def _leave_a_message(server: ServerProcess, site: Site, i: int) -> tuple[Client, str]:
    """A shopper leaves message `question {i}`: odd ones from the queue with a leave_message
    frame, even ones with a start that says leave_message."""
    shopper, _ = await shopper_client(server, site)
    email, text = f"s{i}@example.com", f"question {i}"
    if i % 2:
        cid = await start_chat(shopper, text, cmid=f"m{i}")
        await shopper.wait_for("queue", scaled(10), conversation_id=cid)
        await shopper.send({"type": "leave_message", "conversation_id": cid, "email": email})
    else:
        await shopper.send({"type": "start", "text": text, "client_msg_id": f"m{i}",
                            "email": email, "leave_message": True})  # fmt: skip
        cid = str((await shopper.wait_for("ack", scaled(10), client_msg_id=f"m{i}"))[
            "conversation_id"])  # fmt: skip
    await shopper.wait_for("conversation", scaled(10), conversation_id=cid, state="left")
    await shopper.wait_for("event", scaled(10), event="contact", left_message=True)
    return shopper, cid


def _assert_no_position_after_leaving(shopper: Client, cid: str) -> None:
    frames = [f for f in shopper.received if f.get("conversation_id") == cid]
    left_at = next(i for i, f in enumerate(frames)
                   if f["type"] == "conversation" and f["state"] == "left")  # fmt: skip
    assert not [f for f in frames[left_at:] if f["type"] == "queue"]


def _api(server: ServerProcess, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=server.base_url, trust_env=False, timeout=scaled(10),
        headers={"Authorization": f"Bearer {token}"},
    )  # fmt: skip
