"""idle: C shopper connections that say hello and then stay silent.

Figures: how fast they connect (connections per second, handshake-to-welcome latency), the
servers' resident memory per connection (from /proc of the server processes, before the
first connection and once all are open), and the servers' CPU while they sit idle.
"""

from __future__ import annotations

import asyncio
import time
from argparse import ArgumentParser, Namespace
from typing import Any

from load.controller import Controller, window
from load.hist import Hist, merged
from load.peers import Peer, World
from load.report import Target
from load.scenarios.chat import split
from load.workers import Link

KB_PER_CONNECTION_TARGET = 30.0


def add_options(p: ArgumentParser) -> None:
    p.add_argument("--connections", type=int, default=500)
    p.add_argument("--idle-seconds", type=float, default=10.0)


async def control(ctl: Controller, opts: Namespace) -> dict[str, Any]:
    seeded = await ctl.seed([0] * opts.processes)
    url = f"{ctl.stack.server_urls[0]}/ws/v1/shopper?site={seeded.site}"
    specs = [{"url": url, "connections": c} for c in split(opts.connections, opts.processes)]
    workers = ctl.start_workers("idle", specs)
    await workers.gather("ready", ctl.remaining())
    await asyncio.sleep(1.0)  # let the server settle after the workers' start
    empty = await ctl.snapshot()
    ctl.go()
    connected = await workers.gather("connected", ctl.remaining())
    full = await ctl.snapshot()
    await asyncio.sleep(opts.idle_seconds)
    idle_end = await ctl.snapshot()
    workers.broadcast("stop")
    await workers.gather("result", ctl.remaining())
    open_count = sum(c["open"] for c in connected)
    seconds = max(c["seconds"] for c in connected)
    per_conn_kb = (full.server_rss - empty.server_rss) / max(1, open_count) / 1024
    idle = window(full, idle_end)
    figures = {
        "connections": opts.connections,
        "open": open_count,
        "failed": sum(c["failed"] for c in connected),
        "connect_seconds": round(seconds, 2),
        "connections_per_second": round(open_count / seconds, 1) if seconds else None,
        "hello_to_welcome_ms": merged([c["latency"] for c in connected]).summary_ms(),
        "server_rss_mb_empty": round(empty.server_rss / 2**20, 1),
        "server_rss_mb_full": round(full.server_rss / 2**20, 1),
        "server_kb_per_connection": round(per_conn_kb, 1),
        "server_cpu_percent_idle": idle["server"]["cpu_percent"],
        "redis_cpu_seconds_idle": idle["redis"]["cpu_seconds"],
    }
    connect_cost = window(empty, full)
    target = Target(
        "idle: server memory per connection",
        KB_PER_CONNECTION_TARGET,
        figures["server_kb_per_connection"],
        "KB",
        opts.connections >= 10_000,
    )
    issues = [f"{figures['failed']} connections failed"] if figures["failed"] else []
    return {
        "figures": figures,
        "cost": {"connecting": connect_cost, "idle": idle},
        "targets": [target.to_dict()],
        "problems": issues,
    }


async def work(spec: dict[str, Any], link: Link) -> None:
    world = World(spec["binary"], spec["connect_slots"], spec["seed"])
    world.reconnect = False
    peers = [Peer(world, i, "shopper", spec["url"], {}) for i in range(spec["connections"])]
    latency = Hist()

    async def connect(peer: Peer) -> None:
        started = time.monotonic()
        await peer.connect()
        latency.add(time.monotonic() - started)

    link.send("ready", {})
    t0 = float(await link.recv("go"))
    await asyncio.sleep(max(0.0, t0 - time.monotonic()))
    results = await asyncio.gather(*(connect(p) for p in peers), return_exceptions=True)
    failed = sum(1 for r in results if isinstance(r, BaseException))
    link.send(
        "connected",
        {
            "open": sum(1 for p in peers if p.up),
            "failed": failed,
            "seconds": time.monotonic() - t0,
            "latency": latency.to_dict(),
        },
    )
    await link.recv("stop")
    world.stopping = True
    for peer in peers:
        peer.stop()
    await asyncio.sleep(0.5)  # let the close frames go out before the process ends
    link.send("result", {})
