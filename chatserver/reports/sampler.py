"""Each process's metrics sampler: every few seconds it reads the state shared in Redis into
the gauges (queues, open conversations, agents online), times a PING, and sends itself a
probe through the event bus to measure the bus's lag."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson

from chatserver.hub import Hub
from chatserver.reports import metrics
from chatserver.store import keys
from chatserver.store.bus import Bus
from chatserver.store.clients import StorageError


class Sampler:
    def __init__(self, hub: Hub, bus: Bus) -> None:
        self._hub = hub
        self._bus = bus
        self._probe = keys.metrics_probe(f"{os.getpid()}-{id(self)}")

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        await self._bus.subscribe(self._probe, self._on_probe)
        try:
            async with metrics.sampling(self.sample):
                yield
        finally:
            self._bus.unsubscribe(self._probe, self._on_probe)

    async def sample(self) -> None:
        """Refresh the gauges from Redis (also called before a scrape answers)."""
        began = time.perf_counter()
        try:
            await self._hub.ping()
        except (StorageError, OSError):
            metrics.REDIS_UP.set(0)
            return
        metrics.REDIS_SECONDS.labels("ping").observe(metrics.since(began))
        metrics.REDIS_UP.set(1)
        totals = {"queued": 0, "assigned": 0, "left": 0}
        for site in await self._hub.all_sites():
            state = await self._hub.rollups.live_state(site.key, site.departments)
            for dept, (length, head_ms) in state.queues.items():
                metrics.QUEUE_LENGTH.labels(site.key, dept).set(length)
                oldest = max(0, self._hub.now_ms() - head_ms) / 1000 if head_ms else 0
                metrics.QUEUE_OLDEST.labels(site.key, dept).set(oldest)
                totals["queued"] += length
            totals["assigned"] += state.assigned
            totals["left"] += state.left
            metrics.AGENTS_ONLINE.labels(site.key).set(state.online)
        for state_name, n in totals.items():
            metrics.CONVERSATIONS.labels(state_name).set(n)
        await self._hub.probe(self._probe, orjson.dumps({"sent": time.time()}))

    def _on_probe(self, channel: str, payload: dict[str, Any]) -> None:
        sent = payload.get("sent")
        if isinstance(sent, float | int):
            metrics.BUS_LAG.observe(max(0.0, time.time() - sent))
