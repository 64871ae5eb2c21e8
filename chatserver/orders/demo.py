"""The demo store's customers, orders and quick replies (shipped as `demo_store.json`)."""

from __future__ import annotations

from importlib import resources
from typing import Any

import orjson

from chatserver.core.orders import OrderSource
from chatserver.core.replies import QuickReply
from chatserver.orders import push
from chatserver.store.clients import Redis
from chatserver.store.customers import Customers
from chatserver.store.orders import Orders
from chatserver.store.replies import QuickReplies

DEMO_PUSH_SECRET = "demo-push-secret"


def demo_store() -> dict[str, Any]:
    """The demo data as shipped with the package."""
    raw = (resources.files("chatserver.orders") / "demo_store.json").read_bytes()
    return dict(orjson.loads(raw))


async def seed(redis: Redis, site: str, now_ms: int) -> None:
    """Give `site` the demo customers, orders and shared quick replies (idempotent: records
    are stored once per version, replies once per shortcut), and the demo push secret."""
    data = demo_store()
    orders = Orders(redis)
    if not (await orders.source(site)).push_secret:
        await orders.save_source(site, OrderSource(push_secret=DEMO_PUSH_SECRET))
    customers, sold = push.parse_batch(data)
    await push.apply(Customers(redis), orders, site, customers, sold)
    replies = QuickReplies(redis)
    known = {r.shortcut for r in await replies.all(site)}
    for reply in data["quick_replies"]:
        if reply["shortcut"] not in known:
            await replies.save(site, QuickReply(id="", scope="shared", **reply), now_ms)
