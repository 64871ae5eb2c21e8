"""The per-process caches of the welcome and the handshake, against a real Redis and the real
event bus: which departments have an agent online (one computation however many hellos ask at
once, none kept across an agent's change), and the sites (none kept across an edit)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import orjson
import pytest
from redis.asyncio import Redis

from chatserver.core import site_events
from chatserver.core.model import Site
from chatserver.core.site_events import Kind, SiteEvent
from chatserver.gateway.cache import AvailabilityCache, SiteCache
from chatserver.store import clients, keys
from chatserver.store.bus import Bus
from chatserver.store.embedded import EmbeddedRedis
from tests.conftest import scaled


@pytest.fixture
async def bus(redis_server: EmbeddedRedis) -> AsyncIterator[Bus]:
    client = clients.bus_client(redis_server.url)
    bus = Bus(client)
    up = asyncio.Event()
    bus.on_state(lambda state: up.set() if state else None)
    await bus.start()
    await asyncio.wait_for(up.wait(), scaled(5))
    yield bus
    await bus.stop()
    await client.aclose()


class Counting:
    """A computation that takes until released, counting its calls."""

    def __init__(self) -> None:
        self.calls = 0
        self.started = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self) -> dict[str, bool]:
        self.calls += 1
        self.started.set()
        await self.release.wait()
        return {"sales": self.calls % 2 == 1}


async def agent_changed(redis: Redis, site: str) -> None:
    event = site_events.encode(SiteEvent(Kind.AGENT, agent="ann"))
    await redis.publish(keys.site_channel(site), orjson.dumps(event))


async def test_hellos_arriving_together_share_one_computation(
    bus: Bus, redis: Redis, site_key: str
) -> None:
    cache, compute = AvailabilityCache(bus), Counting()
    waiters = [asyncio.create_task(cache.get(site_key, compute)) for _ in range(50)]
    await asyncio.wait_for(compute.started.wait(), scaled(5))
    compute.release.set()
    results = await asyncio.wait_for(asyncio.gather(*waiters), scaled(5))
    assert compute.calls == 1
    assert results == [{"sales": True}] * 50
    assert await cache.get(site_key, compute) == {"sales": True}  # kept
    assert compute.calls == 1


async def test_a_result_computed_across_an_agent_change_is_not_kept(
    bus: Bus, redis: Redis, site_key: str
) -> None:
    cache, compute = AvailabilityCache(bus), Counting()
    first = asyncio.create_task(cache.get(site_key, compute))
    await asyncio.wait_for(compute.started.wait(), scaled(5))
    seen = asyncio.Event()
    await bus.subscribe(keys.site_channel(site_key), lambda channel, payload: seen.set())
    await agent_changed(redis, site_key)
    await asyncio.wait_for(seen.wait(), scaled(5))  # the cache heard it too (same bus)
    compute.release.set()
    assert await asyncio.wait_for(first, scaled(5)) == {"sales": True}
    # The change may have come after the computation read Redis: ask again.
    assert await cache.get(site_key, compute) == {"sales": False}
    assert compute.calls == 2
    # And a change after a kept result drops it (both handlers run in the same dispatch).
    seen.clear()
    await agent_changed(redis, site_key)
    await asyncio.wait_for(seen.wait(), scaled(5))
    compute.release.set()
    assert await cache.get(site_key, compute) == {"sales": True}
    assert compute.calls == 3


async def test_a_site_read_overtaken_by_an_edit_is_not_kept(
    bus: Bus, redis: Redis, site_key: str
) -> None:
    old, new = (Site(site_key, name, ("sales",)) for name in ("Old", "New"))
    replies = [old, old, old, new]  # what Redis answered, read by read
    pending = asyncio.Event()
    release = asyncio.Event()

    async def read(key: str) -> Site | None:
        answer = replies.pop(0)
        if len(replies) == 1:  # the third read: its reply predates the edit below
            pending.set()
            await release.wait()
        return answer

    cache = SiteCache(read, bus)
    assert await cache.get(site_key) is old  # read, subscribe, read again: kept
    assert await cache.get(site_key) is old  # from the cache
    seen = asyncio.Event()
    await bus.subscribe(keys.site_channel(site_key), lambda channel, payload: seen.set())
    edited = orjson.dumps(site_events.encode(SiteEvent(Kind.SITE)))
    await redis.publish(keys.site_channel(site_key), edited)
    await asyncio.wait_for(seen.wait(), scaled(5))  # the cache dropped it
    reading = asyncio.create_task(cache.get(site_key))
    await asyncio.wait_for(pending.wait(), scaled(5))
    seen.clear()
    await redis.publish(keys.site_channel(site_key), edited)  # an edit while it reads
    await asyncio.wait_for(seen.wait(), scaled(5))
    release.set()
    assert await reading is old  # returned as read...
    assert await cache.get(site_key) is new  # ...but not kept: the next handshake reads again
