"""A site's index of its newest conversations, for what reads many of them at once: search,
tags and the "usually replies in" figure of the widget."""

from __future__ import annotations

import orjson
from redis.asyncio import Redis
from redis.exceptions import WatchError

from chatserver.core import site_events
from chatserver.core.site_events import Kind, SiteEvent
from chatserver.store import keys

_RETRIES = 20
RECENT = 10_000  # conversations a site's search index holds (the newest)
REPLY_SAMPLE = 50  # answered chats the "usually replies in" figure is the median of
REPLY_WINDOW_MS = 7 * 86_400_000


class Conflict(Exception):
    """A conversation changed under us more times than we retry."""


class ConversationIndex:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def remember(self, site: str, conversation_id: str, created_ms: int) -> None:
        """Index a new conversation among the site's newest RECENT (search reads those)."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zadd(keys.recent_conversations(site), {conversation_id: created_ms})
            pipe.zremrangebyrank(keys.recent_conversations(site), 0, -RECENT - 1)
            await pipe.execute()

    async def recent(self, site: str, limit: int) -> list[str]:
        """The site's newest conversation ids, newest first (some may have expired since)."""
        ids = await self._redis.zrevrange(keys.recent_conversations(site), 0, limit - 1)
        return [str(i) for i in ids]

    async def fields_of(
        self, site: str, conversation_ids: list[str], fields: tuple[str, ...]
    ) -> list[dict[str, str]]:
        """Some metadata fields of many conversations, in one round trip ({} when gone)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for conv in conversation_ids:
                pipe.hmget(keys.conversation(site, conv), *fields)
            rows = await pipe.execute()
        found = []
        for row in rows:
            values = dict(zip(fields, row, strict=True))
            found.append({k: str(v) for k, v in values.items() if v is not None})
        return found

    async def set_tags(self, site: str, conversation_id: str, tags: tuple[str, ...]) -> bool:
        """Replace a conversation's tags (kept comma-joined in its `tags` field); the site's
        tag counts follow. Returns False if the conversation does not exist."""
        conv_key = keys.conversation(site, conversation_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            for _ in range(_RETRIES):
                try:
                    await pipe.watch(conv_key)
                    if not await pipe.exists(conv_key):
                        return False
                    stored = await pipe.hget(conv_key, "tags")
                    before = {t for t in str(stored or "").split(",") if t}
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.hset(conv_key, "tags", ",".join(tags))
                    for tag in set(tags) ^ before:
                        pipe.zincrby(keys.tags(site), 1 if tag in tags else -1, tag)
                    pipe.zremrangebyscore(keys.tags(site), "-inf", 0)
                    pipe.publish(keys.site_channel(site), _updated(conversation_id))
                    await pipe.execute()
                    return True
                except WatchError:
                    continue
        raise Conflict(conversation_id)

    async def popular_tags(self, site: str, limit: int) -> list[str]:
        return [str(t) for t in await self._redis.zrevrange(keys.tags(site), 0, limit - 1)]

    async def reply_seconds(self, site: str, now_ms: int) -> int | None:
        """How long the site's shoppers waited for a first answer lately: the median over the
        newest REPLY_SAMPLE live chats of the last REPLY_WINDOW_MS that got one (messages left
        for later do not count), or None with fewer than 3 of them."""
        ids = await self.recent(site, REPLY_SAMPLE * 2)
        rows = await self.fields_of(site, ids, ("created_ms", "first_reply_ms", "x:left_message"))
        waits = sorted([
            int(r["first_reply_ms"]) - int(r["created_ms"])
            for r in rows
            if r.get("first_reply_ms") and r.get("created_ms") and not r.get("x:left_message")
            and now_ms - int(r["created_ms"]) <= REPLY_WINDOW_MS
        ][:REPLY_SAMPLE])  # fmt: skip
        if len(waits) < 3:
            return None
        return max(0, waits[len(waits) // 2] // 1000)


def _updated(conversation_id: str) -> bytes:
    """The site-channel event for a metadata change that is not a routing change."""
    return orjson.dumps(site_events.encode(SiteEvent(Kind.UPDATED, conversation_id)))
