"""Orders of a site: pushed ones (kept), pulled ones (cached with their age), and where the
site's orders come from."""

from __future__ import annotations

from dataclasses import dataclass, fields

import orjson
from redis.asyncio import Redis

from chatserver.core.orders import Order, OrderSource, newest_first, order_from_dict
from chatserver.store import keys
from chatserver.store.records import Records

CACHE_KEEP_SECONDS = 30 * 24 * 3600  # a stale cache still beats "unavailable"
# Fields of the source hash next to OrderSource's: the site's last failed pull.
_LAST_ERROR, _LAST_ERROR_MS = "last_pull_error", "last_pull_error_ms"


@dataclass(frozen=True, slots=True)
class PullCache:
    """What the last pulls of a customer's orders gave: the orders of the last success (and
    when), and the last failure since then, if any."""

    fetched_ms: int = 0
    orders: tuple[Order, ...] = ()
    error: str = ""
    error_ms: int = 0

    @property
    def ok(self) -> bool:
        """Whether some pull ever succeeded (then `orders` and `fetched_ms` are real)."""
        return self.fetched_ms > 0


class Orders:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._records = Records(redis)

    # --- pushed ---------------------------------------------------------------------------
    async def put(self, site: str, order: Order) -> str:
        """Store a pushed order unless a version as new is stored. Returns 'stored',
        'unchanged', or 'conflict' (the order belongs to another customer)."""
        index = (keys.customer_orders(site, order.customer_id), order.id, order.placed_ms)
        return await self._records.put(
            keys.order(site, order.id), order.to_dict(), order.updated_ms, order.customer_id, index
        )

    async def of_customer(self, site: str, customer_id: str, limit: int = 50) -> list[Order]:
        """The customer's pushed orders, newest first."""
        ids = await self._redis.zrevrange(keys.customer_orders(site, customer_id), 0, limit - 1)
        found = await self._records.get_many([keys.order(site, str(i)) for i in ids])
        return newest_first([order_from_dict(d) for d in found])

    # --- where they come from -------------------------------------------------------------
    async def source(self, site: str) -> OrderSource:
        raw = await self._redis.hgetall(keys.orders_source(site))
        default = OrderSource()
        return OrderSource(
            push_secret=raw.get("push_secret", default.push_secret),
            pull_url=raw.get("pull_url", default.pull_url),
            pull_auth_header=raw.get("pull_auth_header", default.pull_auth_header),
            pull_ttl_seconds=int(raw.get("pull_ttl_seconds", default.pull_ttl_seconds)),
            pull_timeout_seconds=float(
                raw.get("pull_timeout_seconds", default.pull_timeout_seconds)
            ),
        )

    async def save_source(self, site: str, source: OrderSource) -> None:
        mapping = {f.name: str(getattr(source, f.name)) for f in fields(OrderSource)}
        await self._redis.hset(keys.orders_source(site), mapping=mapping)

    async def note_pull_error(self, site: str, error: str, now_ms: int) -> None:
        """Keep the precise reason of the site's last failed pull (for its admin only: agents
        see a generic message)."""
        mapping = {_LAST_ERROR: error[:500], _LAST_ERROR_MS: str(now_ms)}
        await self._redis.hset(keys.orders_source(site), mapping=mapping)

    async def last_pull_error(self, site: str) -> tuple[str, int] | None:
        """The reason and time (ms) of the site's last failed pull, if any since the source was
        last set."""
        error, at = await self._redis.hmget(keys.orders_source(site), [_LAST_ERROR, _LAST_ERROR_MS])
        return (str(error), int(at)) if error is not None and at is not None else None

    async def clear_pull_error(self, site: str) -> None:
        await self._redis.hdel(keys.orders_source(site), _LAST_ERROR, _LAST_ERROR_MS)

    # --- pulled ---------------------------------------------------------------------------
    async def cached(self, site: str, customer_id: str) -> PullCache | None:
        raw = await self._redis.get(keys.orders_cache(site, customer_id))
        if raw is None:
            return None
        data = orjson.loads(raw)
        return PullCache(
            fetched_ms=int(data.get("fetched_ms", 0)),
            orders=tuple(order_from_dict(o) for o in data.get("orders", ())),
            error=str(data.get("error", "")),
            error_ms=int(data.get("error_ms", 0)),
        )

    async def cache(self, site: str, customer_id: str, orders: list[Order], now_ms: int) -> None:
        """Keep what a successful pull gave (a month: stale orders beat none)."""
        data = {"fetched_ms": now_ms, "orders": [o.to_dict() for o in orders]}
        await self._redis.set(
            keys.orders_cache(site, customer_id), orjson.dumps(data), ex=CACHE_KEEP_SECONDS
        )

    async def cache_error(self, site: str, customer_id: str, error: str, now_ms: int) -> None:
        """Record a failed pull next to the orders of the last success."""
        previous = await self.cached(site, customer_id)
        data: dict[str, object] = {"error": error[:200], "error_ms": now_ms}
        if previous is not None and previous.ok:
            data["fetched_ms"] = previous.fetched_ms
            data["orders"] = [o.to_dict() for o in previous.orders]
        await self._redis.set(
            keys.orders_cache(site, customer_id), orjson.dumps(data), ex=CACHE_KEEP_SECONDS
        )

    async def claim_pull(self, site: str, customer_id: str, hold_ms: int) -> bool:
        """Whether this caller may pull now: one pull per customer at a time (for at most
        `hold_ms`), and none during the pause after a failed one."""
        key = keys.orders_pulling(site, customer_id)
        return bool(await self._redis.set(key, "pulling", nx=True, px=hold_ms))

    async def pause_pulls(self, site: str, customer_id: str, pause_ms: int) -> None:
        """After a failed pull: no other pull of this customer for `pause_ms`."""
        await self._redis.set(keys.orders_pulling(site, customer_id), "paused", px=pause_ms)

    async def end_pull(self, site: str, customer_id: str) -> None:
        await self._redis.delete(keys.orders_pulling(site, customer_id))

    async def pulling(self, site: str, customer_id: str) -> bool:
        """Whether a pull of this customer's orders runs now (in any process)."""
        return await self._redis.get(keys.orders_pulling(site, customer_id)) == "pulling"
