"""Attachment records in Redis: one hash per conversation (in its slot, kept as long as its
transcript), the upload dedupe index, the per-conversation byte counter, the hourly upload count
of visitors, and the schedule of conversations whose files the sweep deletes."""

from __future__ import annotations

from dataclasses import dataclass

import orjson
from redis.asyncio import Redis

from chatserver.core.attachments import Attachment
from chatserver.store import keys
from chatserver.store.scripts import _source

HOUR_MS = 3600 * 1000


class Full(Exception):
    """The conversation would hold more bytes of files than its limit."""


@dataclass(frozen=True, slots=True)
class Recorded:
    """The outcome of `record`: the attachment kept (the first one for a retry) and whether
    this call stored it."""

    attachment: Attachment
    new: bool


class AttachmentIndex:
    def __init__(self, redis: Redis, keep_ms: int, max_bytes: int) -> None:
        """`keep_ms`: how long records are kept after an upload (0: forever); `max_bytes`: most
        bytes of files a conversation may hold (0: no limit)."""
        self._redis = redis
        self._keep_ms = keep_ms
        self._max_bytes = max_bytes
        self._attach = redis.register_script(_source("attach"))

    async def record(self, conversation_id: str, dedupe: str, att: Attachment) -> Recorded:
        """Keep `att` unless `dedupe` recorded one before (then that one is returned). Raises
        Full when the conversation would go over its byte limit."""
        keys_ = [keys.attachments(conversation_id), keys.attachment_ids(conversation_id),
                 keys.attachment_bytes(conversation_id)]  # fmt: skip
        args = [dedupe, att.id, orjson.dumps(att.to_json()).decode(), att.size,
                self._max_bytes, self._keep_ms]  # fmt: skip
        reply = await self._attach(keys=keys_, args=args)
        if len(reply) > 2:
            raise Full()
        if int(reply[1]):
            return Recorded(att, True)
        first = await self.get(conversation_id, str(reply[0]))
        if first is None:  # expired between the two calls: ours is as good
            return Recorded(att, True)
        return Recorded(first, False)

    async def by_client_id(self, conversation_id: str, dedupe: str) -> Attachment | None:
        """The attachment an earlier upload with `dedupe` recorded, if any."""
        found = await self._redis.hget(keys.attachment_ids(conversation_id), dedupe)
        return None if found is None else await self.get(conversation_id, str(found))

    async def get(self, conversation_id: str, attachment_id: str) -> Attachment | None:
        raw = await self._redis.hget(keys.attachments(conversation_id), attachment_id)
        return None if raw is None else Attachment.from_json(orjson.loads(raw))

    async def of_conversation(self, conversation_id: str) -> list[Attachment]:
        """Every attachment of the conversation, oldest first."""
        rows = await self._redis.hgetall(keys.attachments(conversation_id))
        found = [Attachment.from_json(orjson.loads(v)) for v in rows.values()]
        return sorted(found, key=lambda a: (a.created, a.id))

    async def expire(self, conversation_id: str, ttl_ms: int, now_ms: int) -> None:
        """The conversation ended: its records go `ttl_ms` from now, with its transcript, and
        its files are due for deletion then."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.pexpire(keys.attachments(conversation_id), ttl_ms)
            pipe.pexpire(keys.attachment_ids(conversation_id), ttl_ms)
            pipe.pexpire(keys.attachment_bytes(conversation_id), ttl_ms)
            had_files, *_ = await pipe.execute()
        if had_files:
            await self._redis.zadd(keys.ATTACHMENTS_DUE, {conversation_id: now_ms + ttl_ms})

    async def schedule(self, conversation_id: str, now_ms: int) -> None:
        """Make sure the sweep looks at the conversation once its records may be gone (called
        before a file is stored: a crash after storing never leaves a file nobody deletes)."""
        due = now_ms + self._keep_ms if self._keep_ms else now_ms + 365 * 24 * HOUR_MS
        await self._redis.zadd(keys.ATTACHMENTS_DUE, {conversation_id: due}, gt=True)

    async def due(self, now_ms: int, count: int = 100) -> list[str]:
        """Conversations whose files may have to go (their records' expiry has passed)."""
        found = await self._redis.zrangebyscore(keys.ATTACHMENTS_DUE, "-inf", now_ms, 0, count)
        return [str(c) for c in found]

    async def settle(self, conversation_id: str, now_ms: int) -> bool:
        """True if the conversation's records are gone (delete its files, then `forget` it);
        else it is rescheduled for when they expire and False is returned."""
        ttl = await self._redis.pttl(keys.attachments(conversation_id))
        if ttl == -2:
            return True
        later = now_ms + (ttl if ttl > 0 else self._keep_ms or 24 * HOUR_MS)
        await self._redis.zadd(keys.ATTACHMENTS_DUE, {conversation_id: later})
        return False

    async def forget(self, conversation_id: str) -> None:
        await self._redis.zrem(keys.ATTACHMENTS_DUE, conversation_id)


async def count_upload(redis: Redis, site: str, visitor: str, now_ms: int, per_hour: int) -> bool:
    """Count an upload of a visitor; False if it is over `per_hour` in this clock hour (a
    refused upload counts too: whoever keeps trying stays refused until the hour turns)."""
    key = keys.visitor_uploads(site, visitor, now_ms // HOUR_MS)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.incr(key)
        pipe.pexpire(key, HOUR_MS)
        count, _ = await pipe.execute()
    return int(count) <= per_hour
