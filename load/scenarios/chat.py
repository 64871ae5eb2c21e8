"""What relay, storm and slow share: conversations with traffic flowing both ways.

Worker side: set the conversations up, send on schedule, let the scenario act meanwhile
(drop sockets, stop reading), drain, report the ledger. Controller side: split the shoppers
and agents among the workers, start them together, snapshot the cost at every step boundary
and merge what the workers measured.
"""

from __future__ import annotations

import asyncio
import gc
import random
import time
from argparse import Namespace
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from load.controller import Controller, Snapshot, window
from load.hist import Hist, merged
from load.pairs import ChatWorld, add_streams, setup_pairs
from load.peers import RESEND_AFTER, Peer, connect_all
from load.report import generator_check
from load.traffic import DIRECTIONS, Ledger, Step, drain, open_loop, resend_loop
from load.workers import Link

Act = Callable[[ChatWorld, list[Peer], list[Peer], float], Coroutine[Any, Any, dict[str, Any]]]
Choose = Callable[[list[Peer], random.Random], set[int]]
CAPACITY = 3


# --- worker side ---------------------------------------------------------------------------
async def chat_work(
    spec: dict[str, Any], link: Link, act: Act | None = None, choose_slow: Choose | None = None
) -> None:
    """Run one worker's conversations (see the module docstring)."""
    rng = random.Random(spec["seed"])
    ledger = Ledger(rng)
    world = ChatWorld(ledger, spec["binary"], spec["connect_slots"], spec["seed"])
    started = time.monotonic()
    agents, shoppers, pairs = await setup_pairs(world, spec, spec["shopper_url"], spec["agent_url"])
    slow = choose_slow(agents, rng) if choose_slow else set()
    add_streams(ledger, pairs, slow)
    gc.collect()
    gc.freeze()  # what setup built lives all run: keep it out of later collections
    idle = await _idle_shoppers(world, spec)
    shoppers = shoppers + idle
    link.send(
        "ready",
        {
            "conversations": len(pairs),
            "connections": len(agents) + len(shoppers),
            "setup_seconds": time.monotonic() - started,
        },
    )
    t0 = float(await link.recv("go"))
    t0_ns = int(t0 * 1e9)
    steps = [Step(t0_ns + int(offset * 1e9), rate) for offset, rate in spec["steps"]]
    world.spawn(resend_loop(agents + shoppers, 1.0, RESEND_AFTER))
    acting: asyncio.Task[dict[str, Any]] | None = None
    if act is not None:
        acting = asyncio.create_task(act(world, agents, shoppers, t0))
    await open_loop(ledger, steps, t0_ns + int(spec["duration"] * 1e9))
    await drain(ledger, spec["drain"])
    extra = await acting if acting else {}
    world.stopping = True
    for peer in agents + shoppers:
        peer.stop()
    result = ledger.results()
    result["send_lag"] = ledger.lag.to_dict()
    c = world.counters
    result.update(
        errors=dict(c.errors),
        closes={str(k): v for k, v in c.closes.items()},
        reconnects=c.reconnects,
        connect_failures=c.connect_failures,
        resets=c.resets,
        resent=c.resent,
        unacked=sum(len(p.outbox) for p in agents + shoppers),
        **extra,
    )
    link.send("result", result)


async def _idle_shoppers(world: ChatWorld, spec: dict[str, Any]) -> list[Peer]:
    """Shoppers connected without a conversation (storm: they count, drop and come back)."""
    url = f"{spec['shopper_url']}/ws/v1/shopper?site={spec['site']}"
    peers = [Peer(world, i, "shopper", url, {}) for i in range(spec.get("idle_shoppers", 0))]
    failures = await connect_all(peers)
    if failures:
        raise RuntimeError(f"{len(failures)} idle shoppers could not connect: {failures[0]!r}")
    return peers


# --- controller side -----------------------------------------------------------------------
@dataclass
class ChatRun:
    """What the controller learnt from one run of chat workers."""

    results: list[dict[str, Any]]
    snapshots: list[Snapshot]
    setup: list[dict[str, Any]]
    t0: float
    rss: list[tuple[float, int]] = field(default_factory=list)


def split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


async def chat_control(
    ctl: Controller,
    opts: Namespace,
    scenario: str,
    steps: list[tuple[float, float]],
    duration: float,
    extra: dict[str, Any] | None = None,
) -> ChatRun:
    """Seed, start the workers, run `steps` [(offset s, total rate)] for `duration` s."""
    n = opts.processes
    agents = opts.agents or -(-opts.shoppers // CAPACITY)
    if opts.shoppers > agents * CAPACITY:
        raise SystemExit(f"{opts.shoppers} shoppers need at least {-(-opts.shoppers // 3)} agents")
    shoppers_each = split(opts.shoppers, n)
    # Each worker's shoppers are served by its own agents: give each enough of them.
    pairs = zip(split(agents, n), shoppers_each, strict=True)
    agents_each = [max(a, -(-s // CAPACITY)) for a, s in pairs]
    seeded = await ctl.seed(agents_each)
    urls = ctl.stack.server_urls
    specs = []
    for w, shoppers in enumerate(shoppers_each):
        specs.append(
            {
                "site": seeded.site,
                "department": seeded.departments[w],
                "agents": seeded.agents[w],
                "shoppers": shoppers,
                "shopper_url": urls[0],
                "agent_url": urls[-1],
                "steps": [(offset, rate / n) for offset, rate in steps],
                "duration": duration,
                "drain": opts.drain_seconds,
                **(extra or {}),
            }
        )
    workers = ctl.start_workers(scenario, specs)
    setup = await workers.gather("ready", ctl.remaining())
    t0 = ctl.go()
    async with ctl.rss_sampler() as rss:
        snaps = [await ctl.snapshot_at(t0)]
        for offset, _ in steps[1:]:
            snaps.append(await ctl.snapshot_at(t0 + offset))
        snaps.append(await ctl.snapshot_at(t0 + duration))
        results = await workers.gather("result", ctl.remaining())
    return ChatRun(results, snaps, setup, t0, list(rss))


def merge_counts(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Sum the workers' correctness counters."""
    keys = (
        "sent",
        "delivered",
        "lost",
        "duplicated",
        "out_of_order",
        "unacked",
        "reconnects",
        "connect_failures",
        "resets",
        "resent",
    )
    out: dict[str, Any] = {k: sum(int(r.get(k, 0)) for r in results) for k in keys}
    errors: Counter[str] = Counter()
    closes: Counter[str] = Counter()
    for r in results:
        errors.update(r.get("errors", {}))
        closes.update(r.get("closes", {}))
    out["errors"] = dict(errors)
    out["closes"] = dict(closes)
    return out


def latency(
    results: list[dict[str, Any]], step: int | None = None, group: int = 0
) -> dict[str, Hist]:
    """Merged latency per direction (and both together) for a step (None: every step)."""
    out: dict[str, Hist] = {}
    for d, name in enumerate(DIRECTIONS):
        dicts = []
        for r in results:
            for key, data in r["hists"].items():
                s, dd, g = (int(x) for x in key.split("/"))
                if dd == d and g == group and (step is None or s == step):
                    dicts.append(data)
        out[name] = merged(dicts)
    out["both"] = Hist().merge(out[DIRECTIONS[0]]).merge(out[DIRECTIONS[1]])
    return out


def step_figures(
    run: ChatRun, step: int, rate: float, lag_limit_ms: float
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(figures, cost) of one step: latency, delivery rate, and what it cost."""
    lat = latency(run.results, step)
    cost = window(run.snapshots[step], run.snapshots[step + 1])
    seconds = cost["seconds"]
    delivered = lat["both"].count
    server_cpu = cost["server"]["cpu_seconds"]
    lag = merged(
        [
            r["send_lag_steps"][str(step)]
            for r in run.results
            if str(step) in r.get("send_lag_steps", {})
        ]
    )
    figures = {
        "rate_scheduled": rate,
        "delivered_per_second": round(delivered / seconds, 1),
        "latency_ms": {k: h.summary_ms() for k, h in lat.items()},
        "delivered_per_server_cpu_second": round(delivered / server_cpu, 1) if server_cpu else None,
    }
    cost["generator"] = generator_check(cost.pop("generator_cpu_percent"), lag, lag_limit_ms)
    return figures, cost


def problems(counts: dict[str, Any]) -> list[str]:
    """What makes a run incorrect, whatever its speed."""
    out = []
    for key in ("lost", "duplicated", "out_of_order"):
        if counts[key]:
            out.append(f"{counts[key]} messages {key.replace('_', ' ')}")
    return out
