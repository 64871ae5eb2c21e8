"""The controller: one run's stack, its workers, and the measurements taken from outside them.

Scenarios drive the run through a `Controller`: seed the site, start workers, snapshot the
cost of the server processes, Redis and the generator at the edges of each measured window,
and sample server memory along the way.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from argparse import Namespace
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis

from load import procstat, redisinfo
from load.seed import Seeded, new_run_id, seed
from load.stack import Stack
from load.workers import Workers

START_SLACK = 0.5  # seconds between `go` and the first scheduled send


@dataclass
class Snapshot:
    t: float
    server_cpu: float
    server_rss: int
    redis: redisinfo.RedisSnapshot
    gen_cpu: dict[int, float] = field(default_factory=dict)


class Controller:
    def __init__(self, opts: Namespace, stack: Stack, redis: Redis) -> None:
        self.opts = opts
        self.stack = stack
        self.redis = redis
        self.run_id = new_run_id()
        self.workers: Workers | None = None
        self.deadline = time.monotonic() + opts.max_seconds
        self.server_pids: list[int] = stack.server_pids
        self.notes: list[str] = []

    # --- setup ----------------------------------------------------------------------------
    async def seed(self, agents_per_worker: list[int]) -> Seeded:
        return await seed(self.redis, len(agents_per_worker), agents_per_worker, self.run_id)

    def start_workers(self, scenario: str, specs: list[dict[str, Any]]) -> Workers:
        if self.workers is not None:
            self.workers.close()
        cpus = sorted(self.opts.load_cpus) if self.opts.load_cpus else None
        for i, spec in enumerate(specs):
            spec.update(
                scenario=scenario,
                cpus=cpus,
                deadline=self.deadline,
                binary=self.opts.binary,
                seed=self.opts.seed * 1000 + i,
                connect_slots=self.opts.connect_slots,
            )
        self.workers = Workers(specs)
        return self.workers

    def go(self) -> float:
        """Tell every worker to start at a common monotonic time; returns it."""
        assert self.workers is not None
        t0 = time.monotonic() + START_SLACK
        self.workers.broadcast("go", t0)
        return t0

    def remaining(self) -> float:
        return max(1.0, float(self.deadline) - time.monotonic())

    # --- measuring ------------------------------------------------------------------------
    async def snapshot(self) -> Snapshot:
        self.server_pids = self.stack.server_pids or self.server_pids
        gen = {
            pid: procstat.cpu_seconds(pid) for pid in (self.workers.pids if self.workers else [])
        }
        return Snapshot(
            time.monotonic(),
            procstat.total_cpu(self.server_pids),
            procstat.total_rss(self.server_pids),
            await redisinfo.snapshot(self.redis),
            gen,
        )

    async def snapshot_at(self, t: float) -> Snapshot:
        await asyncio.sleep(max(0.0, t - time.monotonic()))
        return await self.snapshot()

    def server_rss(self) -> int:
        return procstat.total_rss(self.server_pids)

    @contextlib.asynccontextmanager
    async def rss_sampler(self, every: float = 0.25) -> AsyncIterator[list[tuple[float, int]]]:
        """Sample the servers' resident memory while the block runs."""
        samples: list[tuple[float, int]] = []

        async def sample() -> None:
            while True:
                samples.append((time.monotonic(), self.server_rss()))
                await asyncio.sleep(every)

        task = asyncio.create_task(sample())
        try:
            yield samples
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def window(before: Snapshot, after: Snapshot) -> dict[str, Any]:
    """The cost of one measured window: server CPU and memory, Redis, the generator."""
    seconds = max(1e-9, after.t - before.t)
    server_cpu = after.server_cpu - before.server_cpu
    gen = {
        pid: (after.gen_cpu.get(pid, 0.0) - cpu) / seconds for pid, cpu in before.gen_cpu.items()
    }
    return {
        "seconds": round(seconds, 3),
        "server": {
            "cpu_seconds": round(server_cpu, 3),
            "cpu_percent": round(100 * server_cpu / seconds, 1),
            "rss_mb_start": round(before.server_rss / 2**20, 1),
            "rss_mb_end": round(after.server_rss / 2**20, 1),
        },
        "redis": redisinfo.window(before.redis, after.redis),
        "generator_cpu_percent": [round(100 * v, 1) for v in gen.values()],
    }
