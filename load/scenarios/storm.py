"""storm: a share of the connected shoppers and agents drop at once (20%, later all of them)
and come back with jittered backoff, resume and resend their outbox, while messages keep
flowing.

Figures per drop: how many dropped, seconds until 50% / 99% / all were back (reconnected and
every conversation synced again); over the run: lost, duplicated and out-of-order messages
(all must be 0) and latency (which includes the time senders were away: their messages wait
in the outbox).
"""

from __future__ import annotations

import asyncio
import functools
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

BACK_TARGET_SECONDS = 10.0


def add_options(p: ArgumentParser) -> None:
    p.add_argument("--shoppers", type=int, default=150)
    p.add_argument("--agents", type=int, default=0, help="default: shoppers / 3, rounded up")
    p.add_argument("--rate", type=float, default=100.0, help="messages per second in total")
    p.add_argument(
        "--idle-shoppers",
        type=int,
        default=0,
        help="extra shoppers connected without a conversation (they drop too)",
    )
    p.add_argument("--drops", default="0.2,1.0", help="shares dropped, one drop after another")
    p.add_argument("--first-drop", type=float, default=3.0, help="seconds into the traffic")
    p.add_argument("--drop-every", type=float, default=12.0, help="seconds between drops")


def _schedule(opts: Namespace) -> list[tuple[float, float]]:
    shares = [float(s) for s in opts.drops.split(",") if s]
    return [(opts.first_drop + i * opts.drop_every, share) for i, share in enumerate(shares)]


async def control(ctl: Controller, opts: Namespace) -> dict[str, Any]:
    drops = _schedule(opts)
    duration = drops[-1][0] + opts.drop_every
    extra = {"drops": drops, "idle_shoppers": opts.idle_shoppers // opts.processes}
    run = await chat_control(ctl, opts, "storm", [(0.0, opts.rate)], duration, extra)
    counts = merge_counts(run.results)
    figures, cost = step_figures(run, 0, opts.rate, opts.lag_limit_ms)
    figures["latency_ms"] = {k: h.summary_ms() for k, h in latency(run.results).items()}
    connections = sum(s["connections"] for s in run.setup)
    figures.update(connections=connections, drops=_drops(run.results, drops), **counts)
    issues = problems(counts)
    for drop in figures["drops"]:
        if drop["not_back"]:
            issues.append(f"{drop['not_back']} of {drop['dropped']} never came back")
    first = figures["drops"][0]
    target = Target(
        "storm: 99% back after dropping 20%",
        BACK_TARGET_SECONDS,
        first["seconds_to_99pct_back"],
        "s",
        connections >= 10_000 and first["share"] >= 0.2,
    )
    return {"figures": figures, "cost": cost, "targets": [target.to_dict()], "problems": issues}


def _drops(results: list[dict[str, Any]], drops: list[tuple[float, float]]) -> list[dict[str, Any]]:
    out = []
    for i, (at, share) in enumerate(drops):
        delays = sorted(d for r in results for d in r["drops"][i]["delays"])
        dropped = sum(r["drops"][i]["dropped"] for r in results)
        out.append(
            {
                "at_second": at,
                "share": share,
                "dropped": dropped,
                "back": len(delays),
                "not_back": dropped - len(delays),
                "seconds_to_50pct_back": _rank(delays, dropped, 0.50),
                "seconds_to_99pct_back": _rank(delays, dropped, 0.99),
                "seconds_to_all_back": _rank(delays, dropped, 1.0),
            }
        )
    return out


def _rank(delays: list[float], dropped: int, share: float) -> float | None:
    """Seconds until `share` of the dropped peers were back (None: they never were)."""
    need = max(1, -(-int(dropped * share * 1000) // 1000))
    return round(delays[need - 1], 3) if need <= len(delays) else None


async def act(
    drops: list[tuple[float, float]],
    world: ChatWorld,
    agents: list[Peer],
    shoppers: list[Peer],
    t0: float,
) -> dict[str, Any]:
    """Drop the planned shares at their times; report how long each dropped peer took.

    A drop's figures are taken just before the next drop (which starts every clock again), and
    for the last one once all are back or 30 s have passed: a peer of an earlier drop that is
    not back by the next drop counts as not back."""
    peers = agents + shoppers
    chosen: list[list[Peer]] = []
    delays: list[list[float]] = []
    for at, share in drops:
        await asyncio.sleep(max(0.0, t0 + at - time.monotonic()))
        if chosen:
            delays.append(_delays(chosen[-1]))
        chosen.append(world.rng.sample(peers, round(share * len(peers))))
        for peer in chosen[-1]:
            peer.back_delays.clear()
            peer.drop()
    await _until_back(chosen[-1], timeout=30.0)
    delays.append(_delays(chosen[-1]))
    pairs = zip(chosen, delays, strict=True)
    return {"drops": [{"dropped": len(gone), "delays": back} for gone, back in pairs]}


def _delays(peers: list[Peer]) -> list[float]:
    """Seconds each peer took to come back from its latest drop (peers not back: left out)."""
    return [p.back_delays[0] for p in peers if p.back_delays]


async def _until_back(peers: list[Peer], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while any(p.dropped_at for p in peers) and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)  # reconnections finish on many sockets: poll them


async def work(spec: dict[str, Any], link: Link) -> None:
    drops = [(float(at), float(share)) for at, share in spec["drops"]]
    await chat_work(spec, link, act=functools.partial(act, drops))
