"""Agent sessions: opaque random tokens; Redis keeps only their SHA-256, with a TTL."""

from __future__ import annotations

import hashlib
import secrets

from redis.asyncio import Redis

from chatserver.store import keys


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_session(redis: Redis, login: str, ttl_seconds: int) -> str:
    """A new session token for `login`, valid `ttl_seconds`."""
    token = secrets.token_urlsafe(32)
    await redis.set(keys.session(_digest(token)), login, ex=ttl_seconds)
    return token


async def session_login(redis: Redis, token: str) -> str | None:
    """The login a token belongs to, or None if it is unknown or expired."""
    if not token or len(token) > 200:
        return None
    value = await redis.get(keys.session(_digest(token)))
    return None if value is None else str(value)


async def end_session(redis: Redis, token: str) -> None:
    await redis.delete(keys.session(_digest(token)))
