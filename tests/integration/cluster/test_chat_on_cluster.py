"""The key chat flows on a 3-master / 3-replica Redis Cluster, through two server processes:
every script, transaction and event crosses shards the way production traffic does."""

from __future__ import annotations

import asyncio
import os
import sys

import orjson
from redis.asyncio import Redis

from chatserver.client import Client
from chatserver.store import keys
from tests.conftest import scaled
from tests.integration.cluster.redis_topologies import ClusterUnderTest, RedisNode
from tests.integration.conftest import StartServer
from tests.integration.world import agent_client, make_agent, make_site, shopper_client, start_chat


async def _texts(redis: Redis, conversation_id: str) -> list[tuple[str, str]]:
    rows = await redis.xrange(keys.transcript(conversation_id))
    entries = [(i, orjson.loads(f["e"])) for i, f in rows]
    return [(i, e["text"]) for i, e in entries if e["kind"] == "message"]


def _seen(client: Client, conv: str) -> list[tuple[str, str]]:
    return [(f["id"], f["text"]) for f in client.received
            if f.get("type") == "message" and f["conversation_id"] == conv]  # fmt: skip


async def test_shopper_and_agent_on_two_processes_chat_both_ways_and_resume(
    cluster: ClusterUnderTest, cluster_redis: Redis, site_key: str, servers: StartServer
) -> None:
    first = await servers(redis_url=cluster.url)
    second = await servers(redis_url=cluster.url)
    site = await make_site(cluster_redis, site_key)
    await make_agent(cluster_redis, site, f"{site_key}-ann")
    agent = await agent_client(second, f"{site_key}-ann")
    shopper, welcome = await shopper_client(first, site)

    conv = await start_chat(shopper, "do you ship to Lyon?")
    await agent.wait_for("conversation", scaled(10), conversation_id=conv, state="assigned")
    for i in range(5):
        await agent.send({"type": "message", "conversation_id": conv,
                          "client_msg_id": f"a{i}", "text": f"agent {i}"})  # fmt: skip
        await shopper.send({"type": "message", "conversation_id": conv,
                            "client_msg_id": f"s{i}", "text": f"shopper {i}"})  # fmt: skip
    await agent.wait_for("ack", scaled(10), client_msg_id="a4")
    await shopper.wait_for("ack", scaled(10), client_msg_id="s4")
    stored = await _texts(cluster_redis, conv)
    assert len(stored) == 11
    for client in (agent, shopper):
        await client.wait_for("message", scaled(10), id=stored[-1][0])
        assert _seen(client, conv) == stored

    # The shopper's network drops; the agent goes on; the shopper comes back on the other
    # process and resumes: everything once, in order.
    shopper.abort()
    sent = []
    for i in range(5, 10):
        await agent.send({"type": "message", "conversation_id": conv,
                          "client_msg_id": f"a{i}", "text": f"agent {i}"})  # fmt: skip
        sent.append((await agent.wait_for("ack", scaled(10), client_msg_id=f"a{i}"))["id"])
    again, _ = await shopper_client(second, site, token=str(welcome["token"]))
    await again.send({"type": "resume", "conversation_id": conv, "epoch": 1,
                      "after": stored[-1][0]})  # fmt: skip
    await again.wait_for("synced", scaled(10), conversation_id=conv)
    assert [i for i, _ in _seen(again, conv)] == sent
    await agent.close()
    await again.close()


async def test_capacity_race_and_transfer_across_processes(
    cluster: ClusterUnderTest, cluster_redis: Redis, site_key: str, servers: StartServer
) -> None:
    first = await servers(redis_url=cluster.url)
    second = await servers(redis_url=cluster.url)
    site = await make_site(cluster_redis, site_key, departments=("sales", "support"))
    await make_agent(cluster_redis, site, f"{site_key}-ann", ("sales",), capacity=1)
    await make_agent(cluster_redis, site, f"{site_key}-bob", ("support",), capacity=1)
    ann = await agent_client(first, f"{site_key}-ann")
    bob = await agent_client(second, f"{site_key}-bob")
    # Two shoppers on two processes ask sales at once: Ann (capacity 1) gets exactly one.
    shoppers = [(await shopper_client(s, site))[0] for s in (first, second)]
    for i, shopper in enumerate(shoppers):
        await shopper.send({"type": "start", "department": "sales", "text": f"hello {i}",
                            "client_msg_id": f"c{i}"})  # fmt: skip
    convs = [str((await s.wait_for("ack", scaled(10)))["conversation_id"]) for s in shoppers]
    mine = str((await ann.wait_for("conversation", scaled(10), state="assigned"))
               ["conversation_id"])  # fmt: skip
    other = next(c for c in convs if c != mine)
    assert await cluster_redis.hget(keys.agent_load(site.key), f"{site_key}-ann") == "1"
    assert await cluster_redis.zscore(keys.queue(site.key, "sales"), other) is not None
    # Ann transfers hers to support, with a note: Bob, on the other process, takes it ...
    await ann.send({"type": "transfer", "conversation_id": mine, "to_department": "support",
                    "note": "order 1042"})  # fmt: skip
    await bob.wait_for("conversation", scaled(10), conversation_id=mine, state="assigned")
    note = await bob.wait_for("note", scaled(10), conversation_id=mine)
    assert note["text"] == "order 1042"
    # ... and Ann, free again, gets the one that waited.
    await ann.wait_for("conversation", scaled(10), conversation_id=other, state="assigned")
    assert await cluster_redis.zscore(keys.queue(site.key, "sales"), other) is None
    for client in (ann, bob, *shoppers):
        await client.close()


async def _move_slot(cluster: ClusterUnderTest, key: str) -> RedisNode:
    """Move `key`'s slot, with its keys, to another master (CLUSTER SETSLOT + MIGRATE, as
    `redis-cli --cluster reshard` does); returns the new owner."""
    source = await cluster.master_of(key)
    src = source.client()
    try:
        slot = int(await src.execute_command("CLUSTER", "KEYSLOT", key))
        masters = [n for n in cluster.nodes if (await _role(n)) == "master"]
        target = next(n for n in masters if n is not source)
        dst = target.client()
        try:
            src_id = str(await src.execute_command("CLUSTER", "MYID"))
            dst_id = str(await dst.execute_command("CLUSTER", "MYID"))
            await dst.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", src_id)
            await src.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", dst_id)
            while moving := await src.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 100):
                await src.execute_command("MIGRATE", "127.0.0.1", target.port, "", 0, 5000,
                                          "KEYS", *moving)  # fmt: skip
            for node in masters:
                client = node.client()
                try:
                    await client.execute_command("CLUSTER", "SETSLOT", slot, "NODE", dst_id)
                finally:
                    await client.aclose()
        finally:
            await dst.aclose()
    finally:
        await src.aclose()
    return target


async def _role(node: RedisNode) -> str:
    client = node.client()
    try:
        return str((await client.info("replication"))["role"])
    finally:
        await client.aclose()


async def test_chat_goes_on_when_its_slot_moves_to_another_shard(
    cluster: ClusterUnderTest, cluster_redis: Redis, site_key: str, servers: StartServer
) -> None:
    """Redis ends the sharded subscriptions of a slot that leaves a node (SUNSUBSCRIBE): each
    process's bus subscribes again on the new owner and catches up; nothing is missed."""
    first = await servers(redis_url=cluster.url)
    second = await servers(redis_url=cluster.url)
    site = await make_site(cluster_redis, site_key)
    await make_agent(cluster_redis, site, f"{site_key}-ann")
    agent = await agent_client(second, f"{site_key}-ann")
    shopper, _ = await shopper_client(first, site)
    conv = await start_chat(shopper, "before the move")
    await agent.wait_for("conversation", scaled(10), conversation_id=conv, state="assigned")
    channel = keys.conversation_channel(conv)
    target = await _move_slot(cluster, channel)
    assert await cluster.master_of(channel) is target
    for i in range(5):
        await shopper.send({"type": "message", "conversation_id": conv,
                            "client_msg_id": f"s{i}", "text": f"after the move {i}"})  # fmt: skip
        await shopper.wait_for("ack", scaled(15), client_msg_id=f"s{i}")
    await agent.send({"type": "message", "conversation_id": conv, "client_msg_id": "a0",
                      "text": "the agent, after the move"})  # fmt: skip
    await agent.wait_for("ack", scaled(15), client_msg_id="a0")
    stored = await _texts(cluster_redis, conv)
    assert len(stored) == 7
    for side in (agent, shopper):  # each through its own process's bus, resubscribed
        await side.wait_for("message", scaled(15), id=stored[-1][0])
        assert _seen(side, conv) == stored
    owner = target.client()
    try:  # both processes follow the conversation on its new shard
        _, subscribers = await owner.execute_command("PUBSUB", "SHARDNUMSUB", channel)
        assert int(subscribers) == 2
    finally:
        await owner.aclose()
    await agent.close()
    await shopper.close()


async def test_the_cli_sets_a_site_and_an_agent_up_on_the_cluster(
    cluster: ClusterUnderTest, cluster_redis: Redis, site_key: str, servers: StartServer
) -> None:
    """What an operator does first, with a redis+cluster:// URL; the agent then logs in."""
    env = {**os.environ, "CHAT_REDIS_URL": cluster.url, "CHAT_AGENT_PASSWORD": "correct horse"}
    for args in (["site", "add", site_key, "--name", "Shop", "--departments", "sales"],
                 ["agent", "add", f"{site_key}-cli", "--name", "Cli", "--site", site_key,
                  "--departments", "sales"],
                 ["site", "list"]):  # fmt: skip
        done = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "chatserver", *args, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        out, _ = await done.communicate()
        assert done.returncode == 0, out.decode()
    assert site_key in out.decode()
    assert await cluster_redis.hget(keys.LOGINS, f"{site_key}-cli") == site_key
    server = await servers(redis_url=cluster.url)
    agent = await agent_client(server, f"{site_key}-cli")
    await agent.close()
