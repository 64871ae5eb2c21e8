"""What the controller reads from Redis directly (read-only) to check the server from
outside: agents' loads against their capacity, and when conversations were assigned."""

from __future__ import annotations

import asyncio

import orjson
from redis.asyncio import Redis

from chatserver.store import keys

SAMPLE_EVERY = 0.05


async def sample_capacity(redis: Redis, site: str, stop: asyncio.Event) -> tuple[int, int]:
    """Sample every agent's load and capacity until `stop`; returns (samples, violations):
    a violation is one agent above capacity in one sample."""
    samples = violations = 0
    while not stop.is_set():
        async with redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(keys.agent_load(site))
            pipe.hgetall(keys.agent_capacity(site))
            loads, caps = await pipe.execute()
        samples += 1
        violations += sum(1 for a, load in loads.items() if int(load) > int(caps.get(a, 3)))
        try:
            await asyncio.wait_for(stop.wait(), SAMPLE_EVERY)
        except TimeoutError:
            continue
    return samples, violations


async def assigned_times(
    redis: Redis, site: str, conv_ids: list[str]
) -> dict[str, tuple[int, int]]:
    """conversation id -> (created_ms, assigned_ms) as the server recorded them."""
    out: dict[str, tuple[int, int]] = {}
    for start in range(0, len(conv_ids), 500):
        chunk = conv_ids[start : start + 500]
        async with redis.pipeline(transaction=False) as pipe:
            for cid in chunk:
                pipe.hmget(keys.conversation(site, cid), "created_ms", "assigned_ms")
            rows = await pipe.execute()
        for cid, (created, assigned) in zip(chunk, rows, strict=True):
            out[cid] = (int(created or 0), int(assigned or 0))
    return out


async def record_assignments(redis: Redis, site: str, stop: asyncio.Event) -> dict[str, int]:
    """conversation id -> rank in the order Redis really assigned them: the order of the
    'assigned' events the assign script publishes (the servers' clocks are read before they
    wait for Redis, so recorded times can disagree with that order under load)."""
    order: dict[str, int] = {}
    pubsub = redis.pubsub()
    await pubsub.subscribe(keys.site_channel(site))
    try:
        while not stop.is_set():
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
            if message is None:
                continue
            event = orjson.loads(message["data"])
            if event.get("t") == "assigned" and event.get("conv") not in order:
                order[event["conv"]] = len(order)
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]
    return order
