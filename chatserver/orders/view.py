"""A customer's orders as the agent sees them: pushed ones merged with the pull cache, with
how fresh they are. Never waits for the store: a pull that is due starts in the background."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from chatserver.core.netpolicy import Allow
from chatserver.core.orders import Order, merge
from chatserver.orders import pull
from chatserver.store.orders import Orders

Spawn = Callable[[Coroutine[Any, Any, Any]], None]


@dataclass(frozen=True, slots=True)
class OrdersView:
    """`state`: 'none' (no order known), 'fresh', 'stale' (cached longer than the TTL),
    'loading' (a first pull runs), or 'unavailable' (the store failed and nothing is cached).
    `as_of_ms` is when the pulled part was fetched (None for pushed orders only)."""

    state: str
    orders: list[Order]
    source: str
    as_of_ms: int | None = None
    refreshing: bool = False
    error: str = ""

    def to_dict(self, now_ms: int) -> dict[str, Any]:
        age = None if self.as_of_ms is None else max(0, (now_ms - self.as_of_ms) // 1000)
        return {"state": self.state, "source": self.source, "as_of": self.as_of_ms,
                "age_seconds": age, "refreshing": self.refreshing, "error": self.error or None,
                "orders": [o.to_dict() for o in self.orders]}  # fmt: skip


async def orders_for(
    store: Orders, site: str, customer_id: str, now_ms: Callable[[], int], spawn: Spawn,
    allow: Allow,
) -> OrdersView:  # fmt: skip
    """The customer's orders now; starts a pull in the background when one is due (to the
    addresses outbound requests may reach: `allow`)."""
    source = await store.source(site)
    pushed = await store.of_customer(site, customer_id)
    if not source.pull_url:
        return OrdersView("fresh" if pushed else "none", pushed, "push")
    cache = await store.cached(site, customer_id)
    now = now_ms()
    due = cache is None or not cache.ok or now - cache.fetched_ms > source.pull_ttl_seconds * 1000
    refreshing = False
    if due:
        hold = int(source.pull_timeout_seconds * 1000) + 2000
        if await store.claim_pull(site, customer_id, hold):
            spawn(pull.refresh(store, site, customer_id, source, now_ms, allow))
            refreshing = True
        else:
            refreshing = await store.pulling(site, customer_id)
    orders = merge(pushed, list(cache.orders) if cache else [])
    failed = cache is not None and cache.error_ms > cache.fetched_ms
    error = cache.error if cache is not None and failed else ""
    if cache is not None and cache.ok:
        state = "stale" if due else "fresh"
        return OrdersView(state, orders, "pull", cache.fetched_ms, refreshing, error)
    state = "unavailable" if failed and not refreshing else "loading"
    return OrdersView(state, orders, "pull", None, refreshing, error)
