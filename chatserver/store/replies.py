"""Quick replies of a site: shared ones (per department, admin-managed) and personal ones."""

from __future__ import annotations

import uuid
from dataclasses import asdict, replace

import orjson
from redis.asyncio import Redis

from chatserver.core.model import Agent
from chatserver.core.replies import QuickReply
from chatserver.store import keys

MAX_PER_SITE = 2000


class QuickReplies:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def all(self, site: str) -> list[QuickReply]:
        raw = await self._redis.hgetall(keys.quick_replies(site))
        replies = [QuickReply(**orjson.loads(v)) for v in raw.values()]
        return sorted(replies, key=lambda r: (r.scope != "personal", r.shortcut, r.id))

    async def for_agent(self, agent: Agent) -> list[QuickReply]:
        """What an agent may use: their own, and the shared ones of the site or of one of
        their departments (personal first, then by shortcut)."""
        return [
            r
            for r in await self.all(agent.site)
            if r.owner == agent.login
            or (r.scope == "shared" and (not r.department or r.department in agent.departments))
        ]

    async def get(self, site: str, reply_id: str) -> QuickReply | None:
        raw = await self._redis.hget(keys.quick_replies(site), reply_id)
        return None if raw is None else QuickReply(**orjson.loads(raw))

    async def save(self, site: str, reply: QuickReply, now_ms: int) -> QuickReply:
        """Create (an empty id gets a new one) or replace a reply."""
        reply = replace(reply, id=reply.id or uuid.uuid4().hex[:12], updated_ms=now_ms)
        key = keys.quick_replies(site)
        if not await self._redis.hexists(key, reply.id) and (
            await self._redis.hlen(key) >= MAX_PER_SITE
        ):
            raise ValueError(f"a site keeps at most {MAX_PER_SITE} quick replies")
        await self._redis.hset(key, reply.id, orjson.dumps(asdict(reply)))
        return reply

    async def remove(self, site: str, reply_id: str) -> bool:
        return bool(await self._redis.hdel(keys.quick_replies(site), reply_id))
