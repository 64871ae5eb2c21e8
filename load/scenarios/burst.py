"""burst: N shoppers arrive within W seconds while A agents (capacity 3) take the chats,
answer a few messages and close them.

Figures: assignment latency (the conversation's creation on the server to the agent being
told), queue wait (created to assigned, server clock), the shopper's wait (scheduled arrival
to being told "assigned"), time to drain (first arrival to the last assignment), FIFO
violations (a shopper who started after another was already queued, yet was assigned first)
and capacity violations (agent loads sampled from Redis throughout, and each agent's own count
of open chats: both must stay 0).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from argparse import ArgumentParser, Namespace
from typing import Any

from load.controller import Controller, window
from load.hist import Hist
from load.pairs import agents_online
from load.peers import Peer, World
from load.report import Target
from load.scenarios.chat import CAPACITY, split
from load.store_probe import assigned_times, record_assignments, sample_capacity
from load.texts import LINES
from load.wire import Frame
from load.workers import Link

ASSIGN_P99_TARGET_MS = 100.0


def add_options(p: ArgumentParser) -> None:
    p.add_argument("--shoppers", type=int, default=60, help="arrivals")
    p.add_argument("--agents", type=int, default=10)
    p.add_argument("--window", type=float, default=3.0, help="seconds over which they arrive")
    p.add_argument("--messages", type=int, default=2, help="agent messages before closing")
    p.add_argument("--gap", type=float, default=0.3, help="seconds between an agent's messages")
    p.add_argument("--timeout", type=float, default=60.0, help="give up waiting for the drain")


async def control(ctl: Controller, opts: Namespace) -> dict[str, Any]:
    n = opts.processes
    seeded = await ctl.seed(split(opts.agents, n))
    url = ctl.stack.server_urls
    specs = [
        {
            "site": seeded.site,
            "department": seeded.departments[w],
            "agents": seeded.agents[w],
            "shoppers": count,
            "window": opts.window,
            "messages": opts.messages,
            "gap": opts.gap,
            "timeout": opts.timeout,
            "shopper_url": url[0],
            "agent_url": url[-1],
        }
        for w, count in enumerate(split(opts.shoppers, n))
    ]
    workers = ctl.start_workers("burst", specs)
    await workers.gather("ready", ctl.remaining())
    stop = asyncio.Event()
    recorder = asyncio.create_task(record_assignments(ctl.redis, seeded.site, stop))
    t0 = ctl.go()
    before = await ctl.snapshot_at(t0)
    sampler = asyncio.create_task(sample_capacity(ctl.redis, seeded.site, stop))
    results = await workers.gather("result", ctl.remaining())
    after = await ctl.snapshot()
    stop.set()
    samples, violations = await sampler
    order = await recorder
    convs = [c for r in results for c in r["convs"]]
    server_ms = await assigned_times(ctl.redis, seeded.site, [c[0] for c in convs])
    figures = _figures(convs, server_ms, t0, opts)
    figures.update(
        capacity_samples=samples,
        capacity_violations_redis=violations,
        capacity_violations_client=sum(r["capacity_violations"] for r in results),
        fifo_violations=sum(_fifo(r["convs"], order) for r in results),
        errors=_sum_dicts(r["errors"] for r in results),
        closes=_sum_dicts(r["closes"] for r in results),
    )
    cost = window(before, after)
    at_scale = opts.shoppers >= 3000 and opts.window <= 5 and opts.agents <= 1000
    targets = [
        Target(
            "burst: assignment p99",
            ASSIGN_P99_TARGET_MS,
            figures["assignment_latency_ms"]["p99"],
            "ms",
            at_scale,
        ),
        Target("burst: shoppers never assigned", 0, figures["never_assigned"], "", at_scale),
    ]
    return {
        "figures": figures,
        "cost": cost,
        "targets": [t.to_dict() for t in targets],
        "problems": _problems(figures),
    }


def _figures(
    convs: list[list[Any]], server_ms: dict[str, tuple[int, int]], t0: float, opts: Namespace
) -> dict[str, Any]:
    assign, queue_wait, shopper_wait = Hist(), Hist(), Hist()
    last_assigned = t0
    for cid, arrival, _, _, created_ms, shopper_told, agent_told_ms, *_ in convs:  # see ID...
        if agent_told_ms and created_ms:
            assign.add(max(0, agent_told_ms - created_ms) / 1000)
        created, assigned = server_ms.get(cid, (0, 0))
        if assigned:
            queue_wait.add(max(0, assigned - created) / 1000)
        if shopper_told:
            shopper_wait.add(max(0.0, shopper_told - arrival))
            last_assigned = max(last_assigned, shopper_told)
    return {
        "arrivals": opts.shoppers,
        "window_seconds": opts.window,
        "agents": opts.agents,
        "slots": opts.agents * CAPACITY,
        "conversations": len(convs),
        "assigned": sum(1 for c in convs if c[AGENT_TOLD_MS]),
        "never_assigned": opts.shoppers - sum(1 for c in convs if c[AGENT_TOLD_MS]),
        "closed": sum(1 for c in convs if c[CLOSED]),
        "assignment_latency_ms": assign.summary_ms(),
        "queue_wait_ms": queue_wait.summary_ms(),
        "shopper_wait_ms": shopper_wait.summary_ms(),
        "seconds_to_drain": round(last_assigned - t0, 3),
    }


def _fifo(convs: list[list[Any]], order: dict[str, int]) -> int:
    """Conversations assigned before one whose shopper was already queued when they started
    (A's start was answered before B's was sent, yet Redis assigned B first)."""
    never = len(order) + len(convs)  # a conversation never assigned ranks after all others
    confirmed = sorted((c[CONFIRMED], order.get(c[ID], never)) for c in convs if c[CONFIRMED])
    starts = sorted((c[STARTED], order.get(c[ID], never)) for c in convs if c[STARTED])
    violations, i, latest = 0, 0, -1
    for started, rank in starts:
        while i < len(confirmed) and confirmed[i][0] < started:
            latest = max(latest, confirmed[i][1])
            i += 1
        if rank != never and latest > rank:
            violations += 1
    return violations


def _sum_dicts(dicts: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for d in dicts:
        for k, v in d.items():
            out[k] = out.get(k, 0) + v
    return out


def _problems(f: dict[str, Any]) -> list[str]:
    out = []
    for key in (
        "fifo_violations",
        "capacity_violations_redis",
        "capacity_violations_client",
        "never_assigned",
    ):
        if f[key]:
            out.append(f"{f[key]} {key.replace('_', ' ')}")
    return out


# --- worker side ---------------------------------------------------------------------------
# A conversation's row: [id, scheduled arrival, start sent, start answered (monotonic s),
#   created (server ms), shopper told assigned (monotonic s), agent told (wall ms),
#   agent told (monotonic s), closed (monotonic s)]
ID, ARRIVAL, STARTED, CONFIRMED, CREATED_MS, SHOPPER_TOLD, AGENT_TOLD_MS, AGENT_TOLD, CLOSED = (
    range(9)
)


class BurstWorld(World):
    """Shoppers arrive; agents take chats, write a few lines, close them."""

    def __init__(self, spec: dict[str, Any]) -> None:
        super().__init__(spec["binary"], spec["connect_slots"], spec["seed"])
        self.spec = spec
        self.reconnect = False
        self.convs: dict[str, list[Any]] = {}
        self.closed = 0
        self.served: set[str] = set()
        self.capacity_violations = 0
        self.done = asyncio.Event()

    def row(self, cid: str) -> list[Any]:
        row = self.convs.get(cid)
        if row is None:
            row = self.convs[cid] = [cid, 0.0, 0.0, 0.0, 0, 0.0, 0, 0.0, 0.0]
        return row

    def on_conversation(self, peer: Peer, frame: Frame) -> None:
        cid, state, now = frame["conversation_id"], frame["state"], time.monotonic()
        row = self.row(cid)
        if peer.role == "shopper":
            row[CREATED_MS] = row[CREATED_MS] or frame.get("created") or 0
            if state == "assigned" and not row[SHOPPER_TOLD]:
                row[SHOPPER_TOLD] = now
            elif state in ("closed", "abandoned") and not row[CLOSED]:
                row[CLOSED] = now
                peer.stop()
                self.closed += 1
                if self.closed == self.spec["shoppers"]:
                    self.done.set()
            return
        mine = peer.data["open"]
        if state == "assigned" and (frame.get("agent") or {}).get("id") == peer.data["login"]:
            if cid not in mine and cid not in self.served:  # a late summary may repeat it
                self.served.add(cid)
                mine.add(cid)
                if len(mine) > CAPACITY:
                    self.capacity_violations += 1
                if not row[AGENT_TOLD]:
                    row[AGENT_TOLD_MS], row[AGENT_TOLD] = int(time.time() * 1000), now
                self.spawn(self._serve(peer, cid))
        elif state in ("closed", "abandoned"):
            mine.discard(cid)

    async def _serve(self, agent: Peer, cid: str) -> None:
        for i in range(self.spec["messages"]):
            await asyncio.sleep(self.spec["gap"])
            agent.send_message(cid, f"b{i}-{cid[:12]}", LINES[i % len(LINES)])
        agent.send({"type": "close", "conversation_id": cid, "outcome": "resolved"})


async def arrive(world: BurstWorld, shopper: Peer, arrival: float) -> None:
    """One shopper: connect, start a conversation with a first line, wait to be served."""
    await shopper.connect()
    summary = shopper.expecting("conversation")
    started = time.monotonic()
    shopper.send(
        {
            "type": "start",
            "department": world.spec["department"],
            "text": LINES[shopper.index % len(LINES)],
            "client_msg_id": "hello",
        }
    )
    frame = await asyncio.wait_for(summary, 30)
    row = world.row(frame["conversation_id"])
    row[ARRIVAL], row[STARTED], row[CONFIRMED] = arrival, started, time.monotonic()


async def work(spec: dict[str, Any], link: Link) -> None:
    world = BurstWorld(spec)
    agents = await agents_online(world, spec["agent_url"], spec["agents"], open=set())
    link.send("ready", {})
    t0 = float(await link.recv("go"))
    url = f"{spec['shopper_url']}/ws/v1/shopper?site={spec['site']}"
    arrivals = sorted(t0 + world.rng.random() * spec["window"] for _ in range(spec["shoppers"]))
    tasks = []
    for i, at in enumerate(arrivals):
        await asyncio.sleep(max(0.0, at - time.monotonic()))  # open loop: arrive on schedule
        tasks.append(asyncio.create_task(arrive(world, Peer(world, i, "shopper", url, {}), at)))
    results = await asyncio.gather(*tasks, return_exceptions=True)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(world.done.wait(), spec["timeout"])
    world.stopping = True
    for agent in agents:
        agent.stop()
    link.send(
        "result",
        {
            "convs": list(world.convs.values()),
            "capacity_violations": world.capacity_violations,
            "arrival_failures": sum(1 for r in results if isinstance(r, BaseException)),
            "errors": dict(world.counters.errors),
            "closes": {str(k): v for k, v in world.counters.closes.items()},
        },
    )
