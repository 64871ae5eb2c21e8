"""Conversations with a shopper and an agent at each end, ready for traffic: the setup that
relay, storm and slow share.

Agents connect and go online first; then shoppers connect and start a conversation in the
worker's department; setup is over once every conversation is assigned and both ends have
caught up with it (`synced`).
"""

from __future__ import annotations

import asyncio
import copy
import time
from dataclasses import dataclass
from typing import Any

from load.peers import Peer, World, connect_all
from load.traffic import Ledger
from load.wire import Frame

SETUP_SLOTS = 100  # shoppers between connecting and having a conversation at once


@dataclass
class Pair:
    conv_id: str
    shopper: Peer
    agent: Peer


class ChatWorld(World):
    """Peers whose messages go to the ledger; tracks which conversations are ready."""

    def __init__(self, ledger: Ledger, binary: bool, connect_slots: int, seed: int) -> None:
        super().__init__(binary, connect_slots, seed)
        self.ledger = ledger
        self.agent_of: dict[str, Peer] = {}
        self.assigned: set[str] = set()
        self.synced: set[tuple[int, str]] = set()

    def on_message(self, peer: Peer, frame: Frame) -> None:
        self.ledger.receive(peer, frame)

    def on_conversation(self, peer: Peer, frame: Frame) -> None:
        if frame["state"] != "assigned":
            return
        if peer.role == "agent":
            if (frame.get("agent") or {}).get("id") == peer.data["login"]:
                self.agent_of[frame["conversation_id"]] = peer
        else:
            self.assigned.add(frame["conversation_id"])

    def on_other(self, peer: Peer, frame: Frame) -> None:
        if frame.get("type") == "synced":
            self.synced.add((id(peer), frame["conversation_id"]))


async def setup_pairs(
    world: ChatWorld, spec: dict[str, Any], shopper_url: str, agent_url: str
) -> tuple[list[Peer], list[Peer], list[Pair]]:
    """Connect the spec's agents and shoppers; returns (agents, shoppers, pairs)."""
    agents = await agents_online(world, agent_url, spec["agents"])
    url = f"{shopper_url}/ws/v1/shopper?site={spec['site']}"
    shoppers = [Peer(world, i, "shopper", url, {}) for i in range(spec["shoppers"])]
    gate = asyncio.Semaphore(SETUP_SLOTS)
    results = await asyncio.gather(
        *(_start(s, spec["department"], gate) for s in shoppers), return_exceptions=True
    )
    failed = [r for r in results if isinstance(r, BaseException)]
    if failed:
        raise RuntimeError(f"{len(failed)} shoppers could not start: {failed[0]!r}")
    started = [(str(r), s) for s, r in zip(shoppers, results, strict=True)]
    await _until_ready(world, started, timeout=30 + len(started) / 20)
    pairs = [Pair(conv, shopper, world.agent_of[conv]) for conv, shopper in started]
    return agents, shoppers, pairs


async def _start(shopper: Peer, department: str, gate: asyncio.Semaphore) -> str:
    async with gate:
        await shopper.connect()
        summary = shopper.expecting("conversation")
        shopper.send({"type": "start", "department": department})
        frame = await asyncio.wait_for(summary, 30)
        return str(frame["conversation_id"])


async def _until_ready(world: ChatWorld, started: list[tuple[str, Peer]], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        missing = [c for c, s in started if not _ready(world, c, s)]
        if not missing:
            return
        if time.monotonic() > deadline:
            conv, shopper = next((c, s) for c, s in started if c in missing)
            agent = world.agent_of.get(conv)
            raise RuntimeError(
                f"{len(missing)} of {len(started)} conversations never got ready; e.g. {conv}: "
                f"agent told {agent is not None}, shopper told assigned {conv in world.assigned},"
                f" agent synced {agent is not None and (id(agent), conv) in world.synced},"
                f" shopper synced {(id(shopper), conv) in world.synced}"
            )
        await asyncio.sleep(0.05)  # setup progress comes from many sockets: poll it


def _ready(world: ChatWorld, conv_id: str, shopper: Peer) -> bool:
    agent = world.agent_of.get(conv_id)
    return (
        agent is not None
        and conv_id in world.assigned
        and (id(agent), conv_id) in world.synced
        and (id(shopper), conv_id) in world.synced
    )


def add_streams(ledger: Ledger, pairs: list[Pair], slow: set[int] | None = None) -> None:
    """Two streams per conversation; group 1 marks those touching a slow agent."""
    for pair in pairs:
        group = 1 if slow and id(pair.agent) in slow else 0
        ledger.add_stream(pair.shopper, pair.agent, pair.conv_id, 0).group = group
        ledger.add_stream(pair.agent, pair.shopper, pair.conv_id, 1).group = group


async def agents_online(
    world: World, agent_url: str, logins_tokens: list[tuple[str, str]], **data: Any
) -> list[Peer]:
    """Connect one agent per (login, session token), put them online, wait until they are.
    Each peer's `data` gets its login and a copy of `data`."""
    agents = [
        Peer(world, i, "agent", f"{agent_url}/ws/v1/agent", {"token": token})
        for i, (_, token) in enumerate(logins_tokens)
    ]
    for peer, (login, _) in zip(agents, logins_tokens, strict=True):
        peer.data.update({k: copy.copy(v) for k, v in data.items()}, login=login)
    failures = await connect_all(agents)
    if failures:
        raise RuntimeError(f"{len(failures)} agents could not connect: {failures[0]!r}")
    online = [a.expecting("agent") for a in agents]
    for agent in agents:
        agent.send({"type": "status", "status": "online"})
    await asyncio.wait_for(asyncio.gather(*online), 60)
    return agents
