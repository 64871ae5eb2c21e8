"""The run's own site and agents, created through the store API, with agent sessions.

Each run gets a fresh site key, so runs against a long-lived Redis never meet. Every worker
process of the generator has its own department (`w0`, `w1`...) whose agents it drives, so a
conversation's shopper and agent live in the same process and it can check every message.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from argon2 import PasswordHasher
from redis.asyncio import Redis

from chatserver.core.model import Agent, Site
from chatserver.store import agents as agent_store
from chatserver.store import sessions, sites
from chatserver.store.agents import Agents
from chatserver.store.scripts import Scripts

SESSION_SECONDS = 6 * 3600


@dataclass(frozen=True)
class Seeded:
    site: str
    departments: list[str]
    agents: list[list[tuple[str, str]]]  # per worker: (login, session token)


async def seed(redis: Redis, workers: int, agents_per_worker: list[int], run_id: str) -> Seeded:
    """Create a site with one department per worker and the agents (capacity 3)."""
    site = Site(f"load-{run_id}", f"Load test {run_id}", tuple(f"w{i}" for i in range(workers)))
    await sites.save_site(redis, site)
    store = Agents(redis, Scripts(redis))
    per_worker: list[list[tuple[str, str]]] = []
    with _cheap_password_hashing():
        for w, count in enumerate(agents_per_worker):
            pairs = []
            for i in range(count):
                login = f"{run_id}-w{w}-a{i}"
                await store.save(Agent(login, f"坐席 Agent {i}", site.key, (f"w{w}",)), "load")
                pairs.append((login, await sessions.create_session(redis, login, SESSION_SECONDS)))
            per_worker.append(pairs)
    return Seeded(site.key, list(site.departments), per_worker)


def new_run_id() -> str:
    return uuid.uuid4().hex[:8]


@contextlib.contextmanager
def _cheap_password_hashing() -> Iterator[None]:
    """Agents.save hashes each password with argon2 at full strength (~0.2 s each): seeding
    a thousand agents would take minutes. Load agents get sessions directly and never log in,
    so their throwaway password is hashed with minimal argon2 parameters."""
    saved = agent_store._hasher
    agent_store._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    try:
        yield
    finally:
        agent_store._hasher = saved
