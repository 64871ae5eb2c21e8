"""slow: 1% of the agents stop reading for a while as traffic flows.

The server must not buffer without bound for them: once a socket's send queue is full it
closes it with 1013 (the client reconnects and resumes). Figures: the servers' memory growth
during the slow window, the p99 of everyone else in the slow window against the same run's
baseline window before it (no slow readers), the number of 1013 closes, and lost /
duplicated / out-of-order counts over all conversations (the slow ones included).

A reader must fall behind by the socket buffers (a few hundred KB on loopback) plus the send
queue (CHAT_SEND_QUEUE frames) before the server notices; at chat rates that takes long, so the
documented run lowers the queue with --server-env CHAT_SEND_QUEUE=... and raises the rate.
"""

from __future__ import annotations

import asyncio
import functools
import random
import time
from argparse import ArgumentParser, Namespace
from typing import Any

from load.controller import Controller
from load.pairs import ChatWorld
from load.peers import Peer
from load.report import Target
from load.scenarios.chat import (
    chat_control,
    chat_work,
    latency,
    merge_counts,
    problems,
    step_figures,
)
from load.workers import Link

GROWTH_TARGET_MB = 50.0
P99_RATIO_TARGET = 1.2


def add_options(p: ArgumentParser) -> None:
    p.add_argument("--shoppers", type=int, default=300)
    p.add_argument("--agents", type=int, default=0, help="default: shoppers / 3, rounded up")
    p.add_argument("--rate", type=float, default=600.0, help="messages per second in total")
    p.add_argument("--slow-share", type=float, default=0.01, help="share of agents that stall")
    p.add_argument("--baseline-seconds", type=float, default=10.0)
    p.add_argument("--slow-seconds", type=float, default=10.0, help="how long they stop reading")
    p.add_argument("--recovery-seconds", type=float, default=5.0)


async def control(ctl: Controller, opts: Namespace) -> dict[str, Any]:
    start = opts.baseline_seconds
    duration = start + opts.slow_seconds + opts.recovery_seconds
    steps = [(0.0, opts.rate), (start, opts.rate)]
    extra = {"slow_share": opts.slow_share, "slow_at": start, "slow_seconds": opts.slow_seconds}
    run = await chat_control(ctl, opts, "slow", steps, duration, extra)
    counts = merge_counts(run.results)
    base, cost = step_figures(run, 0, opts.rate, opts.lag_limit_ms)
    during, cost_slow = step_figures(run, 1, opts.rate, opts.lag_limit_ms)
    slow_lat = latency(run.results, 1, group=1)["both"].summary_ms()
    t_slow = run.t0 + start
    rss_at = next((r for t, r in run.rss if t >= t_slow), 0)
    rss_max = max((r for t, r in run.rss if t >= t_slow), default=0)
    growth = round((rss_max - rss_at) / 2**20, 1)
    ratio = round(
        during["latency_ms"]["both"]["p99"] / max(1e-9, base["latency_ms"]["both"]["p99"]), 2
    )
    figures = {
        "slow_agents": sum(int(r.get("slow_agents", 0)) for r in run.results),
        "closes_1013": int(counts["closes"].get("1013", 0)),
        "server_memory_growth_mb": growth,
        "baseline_latency_ms": base["latency_ms"]["both"],
        "others_latency_ms_while_slow": during["latency_ms"]["both"],
        "others_p99_ratio": ratio,
        "slow_conversations_latency_ms": slow_lat,
        "rss_mb_max": round(max((r for _, r in run.rss), default=0) / 2**20, 1),
        **counts,
    }
    targets = [
        Target("slow: server memory growth", GROWTH_TARGET_MB, growth, "MB", True),
        Target("slow: others' p99 vs baseline", P99_RATIO_TARGET, ratio, "x", True),
    ]
    cost_all = {"baseline": cost, "slow_window": cost_slow}
    return {
        "figures": figures,
        "cost": cost_all,
        "targets": [t.to_dict() for t in targets],
        "problems": problems(counts),
    }


def choose(share: float, agents: list[Peer], rng: random.Random) -> set[int]:
    count = max(1, round(share * len(agents)))
    chosen = rng.sample(agents, count)
    for peer in chosen:
        peer.data["slow"] = True
    return {id(p) for p in chosen}


async def act(
    at: float,
    seconds: float,
    world: ChatWorld,
    agents: list[Peer],
    shoppers: list[Peer],
    t0: float,
) -> dict[str, Any]:
    """Stop reading on the slow agents' sockets for `seconds`, then read again."""
    slow = [a for a in agents if a.data.get("slow")]
    await asyncio.sleep(max(0.0, t0 + at - time.monotonic()))
    paused = [(a, a.conn) for a in slow if a.conn is not None]
    for _, conn in paused:
        assert conn is not None
        conn.pause_reading()
    await asyncio.sleep(seconds)
    for _, conn in paused:
        assert conn is not None
        conn.resume_reading()
    return {"slow_agents": len(slow)}


async def work(spec: dict[str, Any], link: Link) -> None:
    await chat_work(
        spec,
        link,
        act=functools.partial(act, spec["slow_at"], spec["slow_seconds"]),
        choose_slow=functools.partial(choose, spec["slow_share"]),
    )
