"""The demo: a store with two departments and three agents, its customers and their orders
(en and zh), and shared quick replies; seeded once (idempotent)."""

from __future__ import annotations

import time

from redis.asyncio import Redis

from chatserver.core.model import Agent, Role, Site
from chatserver.orders import demo as demo_orders
from chatserver.store import keys, sites
from chatserver.store.agents import Agents
from chatserver.store.scripts import Scripts

DEMO_SITE = Site(
    key="demo",
    name="Demo Store",
    departments=("pre-sales", "after-sales"),
    identity_secret="demo-identity-secret",
)
DEMO_PASSWORD = "demo"
# Secrets printed in this source: outside `chatserver demo` nothing signed with them counts.
PUBLISHED_SECRETS = frozenset({DEMO_SITE.identity_secret, demo_orders.DEMO_PUSH_SECRET})
DEMO_AGENTS = (
    Agent("alice", "Alice", "demo", ("pre-sales",), capacity=3),
    Agent("bob", "Bob", "demo", ("after-sales",), capacity=2),
    Agent("chen", "陈静 Chen Jing", "demo", ("pre-sales", "after-sales"), role=Role.SUPERVISOR),
    Agent("admin", "Admin 管理员", "demo", ("pre-sales", "after-sales"), role=Role.ADMIN),
)


async def seed(redis: Redis) -> list[Agent]:
    """Create the demo site and agents unless they exist. Returns the demo agents."""
    if await sites.load_site(redis, DEMO_SITE.key) is None:
        await sites.save_site(redis, DEMO_SITE)
    agents = Agents(redis, Scripts(redis))
    marked = {str(m) for m in await redis.smembers(keys.DEMO_PASSWORDS)}
    for agent in DEMO_AGENTS:
        if await agents.get(agent.login) is None:
            await agents.save(agent, DEMO_PASSWORD)
            await agents.mark_demo_password(agent.login)  # `serve` refuses to start
        elif agent.login not in marked and await agents.verify_password(
            agent.login, DEMO_PASSWORD
        ):  # data seeded before the marker existed
            await agents.mark_demo_password(agent.login)
    await demo_orders.seed(redis, DEMO_SITE.key, int(time.time() * 1000))
    return list(DEMO_AGENTS)
