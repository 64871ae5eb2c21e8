"""Agent sessions: opaque random tokens; Redis keeps only their SHA-256, with a TTL.

A session belongs to one version of one account: its value is the agent's login and the
account version (`Agent.version`) it was made for. It is valid only while that agent exists
with that version, so deleting an agent, or changing their password or role (which gives the
account a new version), ends every session they had, even one whose login is later re-created
on another site.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from redis.asyncio import Redis

from chatserver.core.model import Agent
from chatserver.store import keys
from chatserver.store.agents import load_agent, revoked_event
from chatserver.store.lane import Lane

MAX_TOKEN_CHARS = 200
_SEPARATOR = "\t"  # never part of a login (core.model.check_login)


@dataclass(frozen=True, slots=True)
class Session:
    """A session as stored: whose it is, for which account version, and its key's digest."""

    digest: str
    login: str
    version: str

    @property
    def value(self) -> str:
        return f"{self.login}{_SEPARATOR}{self.version}"


async def create_session(
    redis: Redis, login: str, ttl_seconds: int, version: str | None = None
) -> str:
    """A new session token for `login`, valid `ttl_seconds` and while the account keeps
    `version`: pass the version of the agent whose password was just checked (`verify_password`
    reads both together); without it the account's current version is used."""
    if version is None:
        agent = await load_agent(redis, login)
        version = agent.version if agent is not None else ""
    token = secrets.token_urlsafe(32)
    session = Session(_digest(token), login, version)
    await redis.set(keys.session(session.digest), session.value, ex=ttl_seconds)
    return token


async def find_session(redis: Redis | Lane, token: str) -> Session | None:
    """The session a token names, or None if it is unknown or expired (its agent unchecked)."""
    if not token or len(token) > MAX_TOKEN_CHARS:
        return None
    digest = _digest(token)
    value = await redis.get(keys.session(digest))
    return None if value is None else _session(digest, str(value))


async def session_agent(
    redis: Redis, token: str, reads: Redis | Lane | None = None
) -> tuple[Session, Agent] | None:
    """The session and its agent, if the token names a live session of the agent's current
    account version; else None. `reads`: the client for the session's read (default `redis`)."""
    session = await find_session(reads or redis, token)
    if session is None:
        return None
    agent = await load_agent(redis, session.login)
    if agent is None or agent.version != session.version:
        return None
    return session, agent


async def still_valid(redis: Redis | Lane, checks: Sequence[tuple[Session, str]]) -> list[bool]:
    """For each (session, site of its agent): whether the session still exists and the
    agent still has the account version it was made for. One round trip for all of them."""
    if not checks:
        return []
    replies: list[Any]
    if isinstance(redis, Lane):
        replies = await redis.execute_many([
            command for session, site in checks for command in (
                ("GET", keys.session(session.digest)), ("HGET", keys.agents(site), session.login)
            )
        ])  # fmt: skip
        for reply in replies:
            if isinstance(reply, Exception):
                raise reply
    else:
        async with redis.pipeline(transaction=False) as pipe:
            for session, site in checks:
                pipe.get(keys.session(session.digest))
                pipe.hget(keys.agents(site), session.login)
            replies = await pipe.execute()
    return [
        stored is not None
        and _session(session.digest, str(stored)) == session
        and _profile_version(profile) == session.version
        for (session, _), stored, profile in zip(checks, replies[::2], replies[1::2], strict=True)
    ]


async def end_session(redis: Redis, token: str) -> str | None:
    """End a session (logout). Returns the login it belonged to, or None if there was none;
    the agent's open sockets of that session are asked to check theirs (they close)."""
    if not token or len(token) > MAX_TOKEN_CHARS:
        return None
    digest = _digest(token)
    async with redis.pipeline(transaction=True) as pipe:  # GETDEL, before Redis 6.2 too
        pipe.get(keys.session(digest))
        pipe.delete(keys.session(digest))
        value, _ = await pipe.execute()
    if value is None:
        return None
    login = _session(digest, str(value)).login
    site = await redis.hget(keys.LOGINS, login)
    if site is not None:
        await redis.publish(keys.site_channel(site), revoked_event(login))
    return login


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _session(digest: str, value: str) -> Session:
    # Sessions made before account versions hold the login alone: version "" (valid until
    # the account first gets a version).
    login, _, version = value.partition(_SEPARATOR)
    return Session(digest, login, version)


def _profile_version(raw: str | bytes | None) -> str | None:
    if raw is None:
        return None
    version = orjson.loads(raw).get("version", "")
    return str(version)
