"""Shoppers and agents talking through real server processes."""

from __future__ import annotations

import orjson
from redis.asyncio import Redis

from chatserver.client import Client
from chatserver.store import keys
from chatserver.store.scripts import Scripts
from chatserver.store.transcripts import Transcripts
from tests.conftest import scaled
from tests.integration.conftest import StartServer
from tests.integration.servers import ServerProcess
from tests.integration.world import (
    agent_client,
    make_agent,
    make_site,
    shopper_client,
    start_chat,
)


async def _stream_texts(redis: Redis, conversation_id: str) -> list[tuple[str, str]]:
    rows = await redis.xrange(keys.transcript(conversation_id))
    entries = [(i, orjson.loads(f["e"])) for i, f in rows]
    return [(i, e["text"]) for i, e in entries if e["kind"] == "message"]


async def test_shopper_and_agent_on_two_processes_chat_both_ways(
    redis: Redis, site_key: str, two_servers: tuple[ServerProcess, ServerProcess]
) -> None:
    first, second = two_servers
    site = await make_site(redis, site_key)
    await make_agent(redis, site, f"{site_key}-ann")
    agent = await agent_client(second, f"{site_key}-ann")
    shopper, _ = await shopper_client(first, site)

    conv = await start_chat(shopper, "你好, do you ship to Lyon?")
    await agent.wait_for("conversation", scaled(10), conversation_id=conv, state="assigned")
    for i in range(5):
        await agent.send({"type": "message", "conversation_id": conv,
                          "client_msg_id": f"a{i}", "text": f"agent {i} 好的"})  # fmt: skip
        await shopper.send({"type": "message", "conversation_id": conv,
                            "client_msg_id": f"s{i}", "text": f"shopper {i}"})  # fmt: skip
    await agent.wait_for("ack", scaled(10), client_msg_id="a4")
    await shopper.wait_for("ack", scaled(10), client_msg_id="s4")

    stored = await _stream_texts(redis, conv)
    assert len(stored) == 11

    def seen(client: Client) -> list[tuple[str, str]]:
        return [(f["id"], f["text"]) for f in client.received
                if f.get("type") == "message" and f["conversation_id"] == conv]  # fmt: skip

    for client in (agent, shopper):
        await client.wait_for("message", scaled(10), id=stored[-1][0])
        assert seen(client) == stored
    await agent.close()
    await shopper.close()


async def test_same_client_message_sent_three_times_is_stored_once(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key)
    shopper, _ = await shopper_client(server, site)
    conv = await start_chat(shopper, "hello")
    frame = {"type": "message", "conversation_id": conv, "client_msg_id": "dup-1", "text": "once"}
    acks = []
    for _ in range(3):
        await shopper.send(frame)
        acks.append(await shopper.wait_for("ack", scaled(10), client_msg_id="dup-1"))
    assert len({a["id"] for a in acks}) == 1
    assert [a["duplicate"] for a in acks] == [False, True, True]
    texts = [t for _, t in await _stream_texts(redis, conv)]
    assert texts.count("once") == 1
    await shopper.close()


async def test_msgpack_clients_get_the_same_frames(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key)
    shopper, welcome = await shopper_client(server, site, binary=True)
    assert welcome["role"] == "shopper"
    conv = await start_chat(shopper, "binary hello")
    message = await shopper.wait_for("message", scaled(10), conversation_id=conv)
    assert message["text"] == "binary hello"
    entries = await Transcripts(redis, Scripts(redis)).read(conv)
    assert entries[-1].id == message["id"]
    await shopper.close()


async def test_shopper_socket_drop_while_agent_sends_20_resumes_all_once_in_order(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key)
    await make_agent(redis, site, f"{site_key}-bo")
    agent = await agent_client(server, f"{site_key}-bo")
    shopper, welcome = await shopper_client(server, site)
    conv = await start_chat(shopper, "are you there?")
    await agent.wait_for("conversation", scaled(10), conversation_id=conv, state="assigned")
    first = await shopper.wait_for("message", scaled(10), conversation_id=conv)
    shopper.abort()  # the network drops: no close handshake

    sent = []
    for i in range(20):
        await agent.send({"type": "message", "conversation_id": conv,
                          "client_msg_id": f"m{i}", "text": f"reply {i}"})  # fmt: skip
        sent.append((await agent.wait_for("ack", scaled(10), client_msg_id=f"m{i}"))["id"])

    again, _ = await shopper_client(server, site, token=str(welcome["token"]))
    await again.send({"type": "resume", "conversation_id": conv, "epoch": 1,
                      "after": first["id"]})  # fmt: skip
    await again.wait_for("synced", scaled(10), conversation_id=conv)
    got = [f["id"] for f in again.received
           if f.get("type") == "message" and f["from"]["role"] == "agent"]  # fmt: skip
    assert got == sent
    await agent.close()
    await again.close()


async def test_visitor_token_opens_only_own_conversations(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key)
    owner, _ = await shopper_client(server, site)
    conv = await start_chat(owner, "private")
    stranger, _ = await shopper_client(server, site)
    await stranger.send({"type": "resume", "conversation_id": conv, "epoch": 1, "after": "0-0"})
    error = await stranger.wait_for("error", scaled(10))
    assert error["code"] == "forbidden"
    await stranger.send({"type": "message", "conversation_id": conv,
                         "client_msg_id": "x", "text": "sneaky"})  # fmt: skip
    assert (await stranger.wait_for("error", scaled(10)))["code"] == "forbidden"
    assert "sneaky" not in [t for _, t in await _stream_texts(redis, conv)]
    await owner.close()
    await stranger.close()


async def test_queued_shopper_sees_position_and_gets_agent_when_capacity_frees(
    redis: Redis, site_key: str, servers: StartServer
) -> None:
    server = await servers()
    site = await make_site(redis, site_key)
    await make_agent(redis, site, f"{site_key}-cy", capacity=1)
    agent = await agent_client(server, f"{site_key}-cy")
    first, _ = await shopper_client(server, site)
    conv1 = await start_chat(first, "one")
    await agent.wait_for("conversation", scaled(10), conversation_id=conv1, state="assigned")
    second, _ = await shopper_client(server, site)
    conv2 = await start_chat(second, "two")
    queue = await second.wait_for("queue", scaled(10), conversation_id=conv2)
    assert queue["position"] == 1
    assert queue["agents_online"] is True

    await agent.send({"type": "close", "conversation_id": conv1, "outcome": "resolved"})
    await first.wait_for("conversation", scaled(10), conversation_id=conv1, state="closed")
    assigned = await second.wait_for("conversation", scaled(10), conversation_id=conv2,
                                     state="assigned")  # fmt: skip
    assert assigned["agent"]["name"] == f"{site_key}-cy".title()
    for client in (agent, first, second):
        await client.close()


async def test_retry_of_a_message_stored_before_the_close_still_gets_its_ack(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key)
    shopper, _ = await shopper_client(server, site)
    conv = await start_chat(shopper, "bye", cmid="last")
    await shopper.send({"type": "close", "conversation_id": conv})
    await shopper.wait_for("conversation", scaled(10), conversation_id=conv, state="closed")
    first = next(f for f in shopper.received if f.get("type") == "ack")
    retry = {"type": "message", "conversation_id": conv, "client_msg_id": "last", "text": "bye"}
    await shopper.send(retry)
    ack = await shopper.wait_for("ack", scaled(10), client_msg_id="last")
    assert (ack["id"], ack["duplicate"]) == (first["id"], True)
    await shopper.send({**retry, "client_msg_id": "new"})
    refused = await shopper.wait_for("error", scaled(10))
    assert refused["code"] == "conversation_closed"
    await shopper.close()


async def test_shoppers_see_agents_by_name_not_login(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key)
    login = f"{site_key}-secret-login"
    await make_agent(redis, site, login)
    agent = await agent_client(server, login)
    shopper, _ = await shopper_client(server, site)
    conv = await start_chat(shopper, "hi")
    await agent.wait_for("conversation", scaled(10), conversation_id=conv, state="assigned")
    await agent.send({"type": "message", "conversation_id": conv, "client_msg_id": "1",
                      "text": "hello"})  # fmt: skip
    reply = await shopper.wait_for("message", scaled(10), where=lambda f: f["text"] == "hello")
    assert reply["from"] == {"role": "agent", "name": login.title()}
    assert login not in str(shopper.received)
    assert login in str(agent.received)
    await agent.close()
    await shopper.close()


async def test_live_messages_survive_a_dropped_event_bus_connection(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key)
    await make_agent(redis, site, f"{site_key}-bus")
    agent = await agent_client(server, f"{site_key}-bus")
    shopper, _ = await shopper_client(server, site)
    conv = await start_chat(shopper, "hi")
    await agent.wait_for("conversation", scaled(10), conversation_id=conv, state="assigned")
    await redis.execute_command("CLIENT", "KILL", "TYPE", "pubsub")  # the server's bus drops
    for i in range(5):
        await agent.send({"type": "message", "conversation_id": conv,
                          "client_msg_id": f"gap{i}", "text": f"in the gap {i}"})  # fmt: skip
    last = await agent.wait_for("ack", scaled(10), client_msg_id="gap4")
    await shopper.wait_for("message", scaled(20), id=last["id"])
    texts = [f["text"] for f in shopper.received if f.get("type") == "message"]
    assert texts == ["hi", *(f"in the gap {i}" for i in range(5))]
    await agent.close()
    await shopper.close()


async def test_typing_and_read_receipts_flow_to_the_other_side(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key)
    await make_agent(redis, site, f"{site_key}-ty")
    agent = await agent_client(server, f"{site_key}-ty")
    shopper, _ = await shopper_client(server, site)
    conv = await start_chat(shopper, "hello?")
    await agent.wait_for("conversation", scaled(10), conversation_id=conv, state="assigned")
    first = await agent.wait_for("message", scaled(10), conversation_id=conv)
    await agent.send({"type": "typing", "conversation_id": conv, "typing": True})
    typing = await shopper.wait_for("typing", scaled(10), conversation_id=conv)
    assert (typing["role"], typing["typing"]) == ("agent", True)
    await agent.send({"type": "read", "conversation_id": conv, "up_to": first["id"]})
    read = await shopper.wait_for("read", scaled(10), conversation_id=conv)
    assert (read["role"], read["up_to"]) == ("agent", first["id"])
    await shopper.send({"type": "typing", "conversation_id": conv, "typing": True})
    assert (await agent.wait_for("typing", scaled(10)))["role"] == "shopper"
    assert not [f for f in agent.received if f.get("type") == "typing" and f["role"] == "agent"]
    await agent.close()
    await shopper.close()


async def test_queue_positions_are_pushed_as_the_queue_moves(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key, departments=("sales",))
    shoppers = []
    for i in range(3):
        client, _ = await shopper_client(server, site)
        conv = await start_chat(client, f"waiting {i}")
        queue = await client.wait_for("queue", scaled(10), conversation_id=conv,
                                      position=i + 1)  # fmt: skip
        assert queue["agents_online"] is False and queue["eta_seconds"] is None
        shoppers.append((client, conv))
    await make_agent(redis, site, f"{site_key}-one", capacity=1)
    agent = await agent_client(server, f"{site_key}-one")
    first, first_conv = shoppers[0]
    await first.wait_for("conversation", scaled(10), conversation_id=first_conv,
                         state="assigned")  # fmt: skip
    for position, (client, conv) in enumerate(shoppers[1:], start=1):
        moved = await client.wait_for("queue", scaled(10), conversation_id=conv,
                                      position=position)  # fmt: skip
        assert moved["agents_online"] is True
        assert moved["eta_seconds"] is not None and moved["eta_seconds"] > 0
    await agent.close()
    for client, _ in shoppers:
        await client.close()


async def test_slow_reader_is_closed_1013_and_others_carry_on(
    redis: Redis, site_key: str, servers: StartServer
) -> None:
    server = await servers(CHAT_SEND_QUEUE=16, CHAT_RATE_PER_SECOND=5000, CHAT_RATE_BURST=5000,
                           CHAT_MAX_ENTRIES=10_000)  # fmt: skip
    site = await make_site(redis, site_key)
    await make_agent(redis, site, f"{site_key}-fast")
    agent = await agent_client(server, f"{site_key}-fast")
    slow, _ = await shopper_client(server, site)
    conv = await start_chat(slow, "I will stop reading now")
    await agent.wait_for("conversation", scaled(10), conversation_id=conv, state="assigned")
    assert slow.ws is not None
    slow.ws.transport.pause_reading()  # the shopper's tab freezes: nothing is read any more
    bystander, _ = await shopper_client(server, site)
    big = "x" * 3900
    for i in range(3000):  # ~12 MB: more than any socket buffer holds
        await agent.send({"type": "message", "conversation_id": conv,
                          "client_msg_id": f"b{i}", "text": big})  # fmt: skip
    await agent.wait_for("ack", scaled(60), client_msg_id="b2999")
    slow.ws.transport.resume_reading()
    assert await slow.wait_closed(scaled(20)) == 1013
    assert "closing slow reader" in server.log_tail()
    await bystander.send({"type": "ping"})
    await bystander.wait_for("pong", scaled(10))
    await agent.close()
    await bystander.close()


async def test_agent_gets_a_chat_assigned_while_the_event_bus_was_down(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key)
    await make_agent(redis, site, f"{site_key}-down")
    agent = await agent_client(server, f"{site_key}-down")
    shopper, _ = await shopper_client(server, site)
    await redis.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
    conv = await start_chat(shopper, "did anyone see this?")  # assigned while the bus reconnects
    await agent.wait_for("conversation", scaled(20), conversation_id=conv, state="assigned")
    first = await agent.wait_for("message", scaled(20), conversation_id=conv)
    assert first["text"] == "did anyone see this?"
    await agent.close()
    await shopper.close()


async def test_a_starts_text_is_stored_before_an_agent_is_given_the_chat(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    """The agent gets the question with the chat, and closing it at once cannot refuse it."""
    site = await make_site(redis, site_key)
    await make_agent(redis, site, f"{site_key}-ann")
    agent = await agent_client(server, f"{site_key}-ann")
    shopper, _ = await shopper_client(server, site)
    await shopper.send({"type": "start", "text": "is it waterproof?", "client_msg_id": "q1"})
    assigned = await agent.wait_for("conversation", scaled(10), state="assigned")
    conv = assigned["conversation_id"]
    await agent.send({"type": "close", "conversation_id": conv, "outcome": "resolved"})

    answer = await shopper.wait_for("ack", scaled(10), client_msg_id="q1")
    assert answer["duplicate"] is False
    assert not [f for f in shopper.received if f.get("type") == "error"]
    entries = [orjson.loads(f["e"]) for _, f in await redis.xrange(keys.transcript(conv))]
    kinds = [e.get("event") or e["kind"] for e in entries]
    assert kinds[:3] == ["created", "message", "assigned"], kinds
    assert entries[1]["text"] == "is it waterproof?"
    question = await agent.wait_for("message", scaled(10), conversation_id=conv)
    assert question["id"] == answer["id"]
    await agent.close()
    await shopper.close()
