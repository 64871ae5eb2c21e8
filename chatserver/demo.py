"""The demo: a store with two departments and three agents, its customers and their orders
(en and zh), and shared quick replies; seeded once (idempotent)."""

from __future__ import annotations

import time

from chatserver.core.model import Agent, Role, Site
from chatserver.core.widget_settings import WidgetSettings
from chatserver.kb import demo as kb_demo
from chatserver.orders import demo as demo_orders
from chatserver.reports import demo_history
from chatserver.store import keys, sites
from chatserver.store.agents import Agents
from chatserver.store.articles import Articles
from chatserver.store.clients import Redis
from chatserver.store.scripts import Scripts

DEMO_SITE = Site(
    key="demo",
    name="Demo Tea & Crafts",  # as the demo store's pages call themselves
    departments=("pre-sales", "after-sales"),
    identity_secret="demo-identity-secret",
    # What shoppers see: the departments as the store names them, and a greeting.
    widget=WidgetSettings(
        texts={
            "en": {
                "dept.pre-sales": "Before you buy",
                "dept.after-sales": "Orders & returns",
                "greeting": "Hi! Questions about our teas or your order? We are here.",
            },
            "zh-CN": {
                "dept.pre-sales": "售前咨询",
                "dept.after-sales": "订单与售后",
                "greeting": "您好！关于茶叶或订单有任何问题，欢迎咨询。",
            },
        }
    ),
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


async def seed(redis: Redis, keep_ms: int = demo_history.DEFAULT_KEEP_MS) -> list[Agent]:
    """Create the demo site and agents unless they exist, and the reports' made-up history
    (kept `keep_ms` after each day, like real rollups). Returns the demo agents."""
    current = await sites.load_site(redis, DEMO_SITE.key)
    if current is None or current.name == "Demo Store":  # new, or seeded by an older demo
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
    await _seed_knowledge_base(redis, int(time.time() * 1000))
    # Four weeks of made-up chats, marked as demo data, so the reports page shows something.
    await demo_history.seed(redis, DEMO_SITE, DEMO_AGENTS, int(time.time() * 1000), keep_ms)
    return list(DEMO_AGENTS)


async def _seed_knowledge_base(redis: Redis, now_ms: int) -> None:
    """The FAQ articles and the cart-page invitation, unless the site has some already (an
    admin's edits are kept)."""
    store = Articles(redis)
    if not await store.count(DEMO_SITE.key):
        await store.save(DEMO_SITE.key, kb_demo.articles(now_ms, DEMO_SITE.departments))
    if not await store.invitations(DEMO_SITE.key):
        await store.set_invitations(DEMO_SITE.key, kb_demo.invitations())
