"""Conversation fields the console shows that `Conversation` does not carry: read positions
of both sides and the shopper's rating."""

from __future__ import annotations

from redis.asyncio import Redis

from chatserver.store import keys

FIELDS = ("read_shopper", "read_agent", "rating", "rating_comment")


async def details(redis: Redis, site: str, conversation_id: str) -> dict[str, str | None]:
    """Those fields of a conversation (None where unset)."""
    values = await redis.hmget(keys.conversation(site, conversation_id), *FIELDS)
    return {
        name: (str(v) if v is not None else None) for name, v in zip(FIELDS, values, strict=True)
    }
