"""Measure what docs/scaling.md builds on: Redis commands per message and per assignment
(INFO commandstats), and what the replica wait costs a message's ack.

    .venv/bin/python -m tests.integration.cluster.bench_ops [--messages 300]

Starts its own master + replica (Debian's redis-server >= 7, free loopback ports) and one
`chatserver serve` per setting (replica wait off, then on); prints a JSON report.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from chatserver.client import Client
from tests.integration.cluster.redis_topologies import RedisNode
from tests.integration.servers import ServerProcess
from tests.integration.world import agent_client, make_agent, make_site, shopper_client, start_chat


async def _commands(redis: Redis) -> dict[str, int]:
    stats = await redis.info("commandstats")
    return {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in stats.items()}


def _delta(before: dict[str, int], after: dict[str, int], per: int) -> dict[str, float]:
    out = {k: round((v - before.get(k, 0)) / per, 2) for k, v in after.items()}
    out = {k: v for k, v in out.items() if v > 0 and k not in ("info", "ping")}
    out["total"] = round(sum(out.values()), 2)
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


async def _run(redis: Redis, server: ServerProcess, label: str, messages: int) -> dict[str, Any]:
    site = await make_site(redis, f"bench{label}", departments=("sales",))
    await make_agent(redis, site, f"bench{label}-ag", capacity=3)
    agent = await agent_client(server, f"bench{label}-ag")
    # Assignments: shoppers arrive one at a time, each assigned, then closed by the agent.
    before = await _commands(redis)
    for i in range(20):
        shopper, _ = await shopper_client(server, site)
        conv = await start_chat(shopper, f"hello {i}")
        await agent.wait_for("conversation", 10, conversation_id=conv, state="assigned")
        await agent.send({"type": "close", "conversation_id": conv})
        await agent.wait_for("conversation", 10, conversation_id=conv, state="closed")
        await shopper.close()
    per_chat = _delta(before, await _commands(redis), 20)
    # Messages: one conversation, the agent writes, the shopper reads; ack latency each.
    shopper, _ = await shopper_client(server, site)
    conv = await start_chat(shopper, "a long chat")
    await agent.wait_for("conversation", 10, conversation_id=conv, state="assigned")
    latencies = []
    before = await _commands(redis)
    for i in range(messages):
        began = time.perf_counter()
        await agent.send({"type": "message", "conversation_id": conv,
                          "client_msg_id": f"m{i}", "text": f"message {i}"})  # fmt: skip
        await agent.wait_for("ack", 10, client_msg_id=f"m{i}")
        latencies.append((time.perf_counter() - began) * 1000)
    await shopper.wait_for("message", 10, client_msg_id=f"m{messages - 1}")
    per_message = _delta(before, await _commands(redis), messages)
    for client in (agent, shopper):
        await Client.close(client)
    latencies.sort()
    return {
        "per_message": per_message,
        "per_chat_start_assign_close": per_chat,
        "ack_ms_p50": round(statistics.median(latencies), 3),
        "ack_ms_p99": round(latencies[int(len(latencies) * 0.99) - 1], 3),
    }


async def main(messages: int) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="bench-ops-"))
    master = RedisNode(work / "master")
    await master.start()
    replica = RedisNode(work / "replica", ["--replicaof", "127.0.0.1", str(master.port)])
    await replica.start()
    redis = master.client()
    report: dict[str, Any] = {}
    try:
        for wait in (0, 1):
            server = ServerProcess(
                redis_url=f"redis://127.0.0.1:{master.port}", workdir=work / f"server{wait}",
                env={"CHAT_REDIS_REPLICAS_ACK": str(wait), "CHAT_RATE_PER_SECOND": "100000",
                     "CHAT_RATE_BURST": "100000", "CHAT_MAX_ENTRIES": "100000"},
            )  # fmt: skip
            await server.start()
            try:
                report[f"replicas_ack={wait}"] = await _run(redis, server, str(wait), messages)
            finally:
                await server.stop()
    finally:
        await redis.aclose()
        await replica.kill()
        await master.kill()
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=300)
    print(json.dumps(asyncio.run(main(parser.parse_args().messages)), indent=1))
