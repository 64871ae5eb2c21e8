"""A site's knowledge base in Redis: articles (both languages), the version counter search
indexes follow, the invitation rules, deflections counted in the report rollups, and the
per-address limit of the public endpoints."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from redis.asyncio import Redis

from chatserver.core.kpis import DAY_MS, Fact, count_field
from chatserver.kb.model import Article, article_from_dict
from chatserver.store import keys

MINUTE_MS = 60_000


class Articles:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def all(self, site: str) -> list[Article]:
        """Every article of the site, both languages, drafts included (newest first)."""
        raw = await self._redis.hgetall(keys.articles(site))
        found = [article_from_dict(orjson.loads(v)) for v in raw.values()]
        return sorted(found, key=lambda a: (-a.updated_at, a.id))

    async def get(self, site: str, article_id: str) -> Article | None:
        raw = await self._redis.hget(keys.articles(site), article_id)
        return None if raw is None else article_from_dict(orjson.loads(raw))

    async def count(self, site: str) -> int:
        return int(await self._redis.hlen(keys.articles(site)))

    async def exist(self, site: str, article_ids: Sequence[str]) -> list[str]:
        """Which of `article_ids` exist (in their order)."""
        if not article_ids:
            return []
        found = await self._redis.hmget(keys.articles(site), list(article_ids))
        return [i for i, v in zip(article_ids, found, strict=True) if v is not None]

    async def titles(self, site: str, article_ids: Sequence[str]) -> list[dict[str, str]]:
        """[{id, title}] of those of `article_ids` that exist (in their order, each once)."""
        ids = list(dict.fromkeys(article_ids))
        if not ids:
            return []
        found = await self._redis.hmget(keys.articles(site), ids)
        return [{"id": i, "title": str(orjson.loads(v)["title"])}
                for i, v in zip(ids, found, strict=True) if v is not None]  # fmt: skip

    async def save(self, site: str, articles: Sequence[Article]) -> None:
        """Create or replace articles, and raise the version, in one transaction."""
        if not articles:
            return
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.articles(site), mapping={
                a.id: orjson.dumps(a.to_dict()) for a in articles})  # fmt: skip
            if published := [a.id for a in articles if a.published]:
                pipe.sadd(keys.articles_published(site), *published)
            if drafts := [a.id for a in articles if not a.published]:
                pipe.srem(keys.articles_published(site), *drafts)
            pipe.incr(keys.articles_version(site))
            await pipe.execute()

    async def remove(self, site: str, article_id: str) -> bool:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hdel(keys.articles(site), article_id)
            pipe.srem(keys.articles_published(site), article_id)
            pipe.incr(keys.articles_version(site))
            removed, _, _ = await pipe.execute()
        return bool(removed)

    async def version(self, site: str) -> int:
        """The site's article version (0: never changed)."""
        return int(await self._redis.get(keys.articles_version(site)) or 0)

    async def has_published(self, site: str) -> bool:
        return bool(await self._redis.scard(keys.articles_published(site)))

    # --- invitation rules -----------------------------------------------------------------
    async def invitations(self, site: str) -> list[dict[str, Any]]:
        raw = await self._redis.get(keys.invitations(site))
        rules: list[dict[str, Any]] = orjson.loads(raw) if raw else []
        return rules

    async def set_invitations(self, site: str, rules: list[dict[str, Any]]) -> None:
        await self._redis.set(keys.invitations(site), orjson.dumps(rules))

    # --- deflections ----------------------------------------------------------------------
    async def count_deflection(self, site: str, department: str, now_ms: int, keep_ms: int) -> None:
        """A shopper said an article answered their question: +1 to the fact `deflected` of
        the hour and department in the site's day rollup (kept `keep_ms` after the day, like
        the counts the routing scripts make)."""
        key = keys.kpi_day(site, now_ms)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hincrby(key, count_field(now_ms, Fact.DEFLECTED, department), 1)
            pipe.pexpireat(key, (now_ms // DAY_MS + 1) * DAY_MS + keep_ms)
            await pipe.execute()


async def count_request(redis: Redis, address: str, now_ms: int, per_minute: int) -> bool:
    """Count one public knowledge-base request from `address`; False once the address made
    more than `per_minute` in this clock minute (a fixed window: one INCR)."""
    key = keys.address_kb_requests(address, now_ms // MINUTE_MS)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.incr(key)
        pipe.pexpire(key, MINUTE_MS)
        count, _ = await pipe.execute()
    return int(count) <= per_minute
