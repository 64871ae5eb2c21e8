"""Customers of a site: what the store pushed about them, and their conversations."""

from __future__ import annotations

from redis.asyncio import Redis

from chatserver.core.orders import Customer
from chatserver.store import keys
from chatserver.store.records import Records


class Customers:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._records = Records(redis)

    async def put(self, site: str, customer: Customer) -> str:
        """Store a pushed customer unless a version as new is stored ('stored'/'unchanged')."""
        key = keys.customer(site, customer.id)
        return await self._records.put(key, customer.to_dict(), customer.updated_ms)

    async def get(self, site: str, customer_id: str) -> Customer | None:
        data = await self._records.get(keys.customer(site, customer_id))
        return None if data is None else Customer(**data)

    async def link_conversation(
        self, site: str, customer_id: str, conversation_id: str, created_ms: int
    ) -> None:
        """Remember that a verified customer had this conversation (idempotent)."""
        await self._redis.zadd(
            keys.customer_convs(site, customer_id), {conversation_id: created_ms}
        )

    async def conversations(self, site: str, customer_id: str, limit: int = 20) -> list[str]:
        """The customer's conversation ids, newest first."""
        ids = await self._redis.zrevrange(keys.customer_convs(site, customer_id), 0, limit - 1)
        return [str(i) for i in ids]
