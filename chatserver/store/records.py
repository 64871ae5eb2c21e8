"""Records pushed by a store (customers, orders): kept once per version by `record_put.lua`."""

from __future__ import annotations

from importlib import resources
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.commands.core import AsyncScript


def _script(redis: Redis) -> AsyncScript:
    source = (resources.files("chatserver.store") / "lua" / "record_put.lua").read_text("utf-8")
    return redis.register_script(source)


class Records:
    """Put and get JSON records that only move forward in time."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._put = _script(redis)

    async def put(
        self,
        key: str,
        data: dict[str, Any],
        updated_ms: int,
        owner: str = "",
        index: tuple[str, str, int] | None = None,
    ) -> str:
        """Store `data` under `key` unless a version as new is there. `index` is (sorted set,
        member, score) to add the record to. Returns 'stored', 'unchanged' or 'conflict'."""
        keys = [key] if index is None else [key, index[0]]
        member, score = (index[1], index[2]) if index else ("", 0)
        args = [updated_ms, orjson.dumps(data).decode(), owner, member, score]
        return str(await self._put(keys=keys, args=args))

    async def get(self, key: str) -> dict[str, Any] | None:
        raw = await self._redis.hget(key, "json")
        return None if raw is None else dict(orjson.loads(raw))

    async def get_many(self, record_keys: list[str]) -> list[dict[str, Any]]:
        """The records that exist among `record_keys`, in that order."""
        if not record_keys:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in record_keys:
                pipe.hget(key, "json")
            raws = await pipe.execute()
        return [dict(orjson.loads(r)) for r in raws if r is not None]
