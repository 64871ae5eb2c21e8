"""A conversation's transcript: a Redis Stream, appended once per client message id."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from redis.asyncio import Redis

from chatserver.core.frames import stream_id_key
from chatserver.store import keys
from chatserver.store.scripts import Scripts


@dataclass(frozen=True, slots=True)
class Entry:
    """One transcript entry: its stream id and its fields (kind, from, text, ...)."""

    id: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Limits:
    """What a conversation's transcript may hold, and for how long."""

    keep_ms: int = 0  # after the last append (0: forever)
    max_entries: int = 0  # for what clients send (0: no limit)


@dataclass(frozen=True, slots=True)
class Rate:
    """A sender's message rate, kept in Redis across their sockets."""

    per_second: float
    burst: int


class Refused(Exception):
    """An append was refused: `reason` is 'full' (too many entries) or 'rate' (too fast)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Transcripts:
    def __init__(self, redis: Redis, scripts: Scripts, limits: Limits | None = None) -> None:
        self._redis = redis
        self._scripts = scripts
        self._limits = limits or Limits()

    async def append(
        self,
        conversation_id: str,
        entry: dict[str, Any],
        dedupe: str = "",
        rate: Rate | None = None,
        sender: str = "",
    ) -> tuple[str, bool]:
        """Append `entry` (unless `dedupe` was seen before) and publish it on the conversation's
        channel. Returns (stream id, whether it is new). Entries with a `dedupe` key (what
        clients send) may be refused: Refused('full'), or Refused('rate') when `sender` is over
        `rate`."""
        keys_ = [
            keys.transcript(conversation_id),
            keys.client_ids(conversation_id),
            keys.conversation_channel(conversation_id),
            keys.sender_rate(conversation_id, sender or "-"),
        ]
        args = [dedupe, orjson.dumps(entry).decode(), self._limits.keep_ms,
                self._limits.max_entries, rate.per_second if rate else 0,
                rate.burst if rate else 0]  # fmt: skip
        reply = await self._scripts.call("append", keys_, args)
        if len(reply) > 2:
            raise Refused(str(reply[2]))
        return str(reply[0]), bool(reply[1])

    async def expire(self, conversation_id: str, ttl_ms: int) -> None:
        """Keep the transcript and its dedupe index `ttl_ms` more (an ended conversation)."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.pexpire(keys.transcript(conversation_id), ttl_ms)
            pipe.pexpire(keys.client_ids(conversation_id), ttl_ms)
            await pipe.execute()

    async def read(
        self, conversation_id: str, after: str = "0-0", count: int = 1000
    ) -> list[Entry]:
        """Entries strictly after stream id `after`, oldest first, at most `count`."""
        start = "-" if after in ("", "0", "0-0") else f"({after}"
        reads = self._scripts.reads
        rows = await reads.xrange(keys.transcript(conversation_id), start, "+", count)
        return [Entry(str(i), orjson.loads(f["e"])) for i, f in rows]

    async def has(self, conversation_id: str, entry_id: str) -> bool:
        """Whether the stream holds an entry with exactly `entry_id`."""
        reads = self._scripts.reads
        rows = await reads.xrange(keys.transcript(conversation_id), entry_id, entry_id, 1)
        return bool(rows)

    async def stored_id(self, conversation_id: str, dedupe: str) -> str | None:
        """The stream id an earlier append with `dedupe` got, if any."""
        value = await self._redis.hget(keys.client_ids(conversation_id), dedupe)
        return None if value is None else str(value)

    async def lost_tail(self, conversation_id: str, entry_id: str) -> bool:
        """Whether `entry_id` lies past the stream's last entry (the tail a crash lost)."""
        rows = await self._redis.xrevrange(keys.transcript(conversation_id), "+", "-", 1)
        last = str(rows[0][0]) if rows else "0-0"
        return stream_id_key(entry_id) > stream_id_key(last)

    async def publish(self, conversation_id: str, event: dict[str, Any]) -> None:
        """Publish an ephemeral event (typing, read) that is not kept in the transcript."""
        await self._redis.publish(
            keys.conversation_channel(conversation_id), orjson.dumps({"e": event})
        )
