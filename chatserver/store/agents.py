"""Agents: profiles, passwords, and live state (status, capacity, connections)."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, replace

import orjson
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from redis.asyncio import Redis
from redis.exceptions import WatchError

from chatserver.core import site_events
from chatserver.core.model import Agent, AgentStatus, Role, ValidationError, check_capacity
from chatserver.core.site_events import Kind, SiteEvent
from chatserver.store import keys
from chatserver.store.scripts import Scripts

_hasher = PasswordHasher()
_RETRIES = 10  # optimistic transactions (WATCH) retried on a conflicting write


@dataclass(frozen=True, slots=True)
class AgentState:
    """An agent's profile with their live state, as the console and the CLI show it."""

    agent: Agent
    status: AgentStatus
    load: int
    connections: int
    chats: tuple[str, ...]


class Agents:
    def __init__(self, redis: Redis, scripts: Scripts) -> None:
        self._redis = redis
        self._scripts = scripts

    async def save(self, agent: Agent, password: str | None = None) -> Agent:
        """Create or update an agent; returns it with its account version. A new agent needs
        a password; an agent's login belongs to one site. Creating the agent, or changing
        their password or role, gives the account a new version: every session made for the
        old one ends (sessions.py), and their open sockets are told to check theirs. Rules for
        new passwords (core.model.check_password) are the callers' business: the demo seeds
        its published one here."""
        site, login = agent.site, agent.login
        owner = await self._redis.hget(keys.LOGINS, login)
        if owner is not None and owner != site:
            raise ValidationError(f"login {login!r} already belongs to site {owner!r}")
        if not password and not await self._redis.hexists(keys.agents(site), login):
            raise ValidationError("a new agent needs a password")
        # argon2 takes ~0.1 s of CPU on purpose: in a thread, not on the event loop.
        hashed = await asyncio.to_thread(_hasher.hash, password) if password else None
        if owner is None:
            await self._claim(login, site)
        before, version = await self._write(agent, hashed)
        if password:  # whatever it was, it is no longer the demo's published password
            await self._redis.srem(keys.DEMO_PASSWORDS, login)
        if before is not None and before != version:
            await self._redis.publish(keys.site_channel(site), revoked_event(login))
        await self.set_capacity(agent, agent.capacity, now_ms=0)
        return replace(agent, version=version)

    async def mark_demo_password(self, login: str) -> None:
        """Record that `login` has the demo's published password (`serve` refuses to start)
        until `save` gives them another one or `remove` removes them."""
        await self._redis.sadd(keys.DEMO_PASSWORDS, login)

    async def _claim(self, login: str, site: str) -> None:
        """Make `login` the site's (outside the site's slot: on its own)."""
        await self._redis.hsetnx(keys.LOGINS, login, site)
        owner = await self._redis.hget(keys.LOGINS, login)
        if owner != site:
            raise ValidationError(f"login {login!r} already belongs to site {owner!r}")

    async def _write(self, agent: Agent, hashed: str | None) -> tuple[str | None, str]:
        """Write the profile (and password hash) in one transaction of the site's slot.
        Returns the account version before (None: a new agent) and after."""
        site, login = agent.site, agent.login
        async with self._redis.pipeline(transaction=True) as pipe:
            for _ in range(_RETRIES):
                try:
                    # Watched: a concurrent save must not put back a version this one replaced.
                    await pipe.watch(keys.agents(site))
                    current = await pipe.hget(keys.agents(site), login)
                    if current is None and hashed is None:
                        raise ValidationError("a new agent needs a password")
                    before = None if current is None else _version_of(current)
                    version = _next_version(current, agent.role, hashed is not None)
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.hset(keys.agents(site), login, orjson.dumps(_profile(agent, version)))
                    pipe.hset(keys.agent_depts(site), login, ",".join(agent.departments))
                    if hashed:
                        pipe.hset(keys.passwords(site), login, hashed)
                    pipe.hsetnx(keys.agent_status(site), login, AgentStatus.OFFLINE.value)
                    await pipe.execute()
                    return before, version
                except WatchError:
                    continue
        raise ValidationError(f"agent {login!r} is being changed by someone else: retry")

    async def get(self, login: str) -> Agent | None:
        return await load_agent(self._redis, login)

    async def of_site(self, site: str) -> list[Agent]:
        raw = await self._redis.hgetall(keys.agents(site))
        capacities = await self._redis.hgetall(keys.agent_capacity(site))
        return [
            _agent_from(site, login, v, capacities.get(login)) for login, v in sorted(raw.items())
        ]

    async def remove(self, login: str) -> bool:
        """Remove an agent who holds no chat (hand their chats back first: go offline). Their
        sessions end with the account; their open sockets are told to check theirs."""
        agent = await self.get(login)
        if agent is None:
            return False
        if await self.chats(agent.site, login):
            raise ValidationError(f"{login} still has chats: set them offline first")
        site = agent.site
        # Their connections too: else the sweep would expire them into a grace period and hand
        # back (re-creating the live state of) an agent who no longer exists.
        live = [m for m in await self._redis.zrange(keys.presence(site), 0, -1)
                if str(m).startswith(f"{login}\t")]  # fmt: skip
        async with self._redis.pipeline(transaction=True) as pipe:  # the site's slot only
            if live:
                pipe.zrem(keys.presence(site), *live)
            for key in (
                keys.agents(site),
                keys.passwords(site),
                keys.agent_status(site),
                keys.agent_capacity(site),
                keys.agent_load(site),
                keys.agent_depts(site),
                keys.agent_idle(site),
                keys.presence_count(site),
                keys.agent_online(site),  # else reports would count them online for ever
            ):
                pipe.hdel(key, login)
            pipe.zrem(keys.available(site), login)
            pipe.zrem(keys.grace(site), login)
            await pipe.execute()
        # Deployment-wide keys, each on its own (other slots), once the account is gone.
        await self._redis.hdel(keys.LOGINS, login)
        await self._redis.srem(keys.DEMO_PASSWORDS, login)
        await self._redis.publish(keys.site_channel(site), revoked_event(login))
        return True

    async def verify_password(self, login: str, password: str) -> Agent | None:
        """The agent if `password` is theirs, else None (same work either way). The agent's
        version is the one that went with the checked password (read together)."""
        found = await _read(self._redis, login, with_password=True)
        agent, stored = found if found is not None else (None, None)
        try:
            await asyncio.to_thread(_hasher.verify, stored or _DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            return None
        return agent if stored else None

    async def set_status(self, agent: Agent, status: AgentStatus, now_ms: int) -> str:
        """Set the status the agent chose. Returns the previous one."""
        result = await self._scripts.call(
            "agent_set", keys.site_keys(agent.site), [agent.login, now_ms, "status", status.value]
        )
        return str(result[1])

    async def set_capacity(self, agent: Agent, capacity: int, now_ms: int) -> None:
        """Set the agent's own capacity, 1..their max capacity (else ValidationError)."""
        check_capacity(capacity, agent.max_capacity)
        await self._scripts.call(
            "agent_set", keys.site_keys(agent.site), [agent.login, now_ms, "capacity", capacity]
        )

    async def touch(
        self, site: str, connections: list[tuple[str, str]], now_ms: int, deadline_ms: int
    ) -> list[str]:
        """Record live connections (login, connection id) until `deadline_ms`. Returns the logins
        who had no connection before (they may take chats again)."""
        if not connections:
            return []
        args: list[str | int] = ["touch", now_ms, deadline_ms]
        for login, conn in connections:
            args += [login, conn]
        return [str(x) for x in await self._scripts.call("presence", keys.site_keys(site), args)]

    async def drop(self, site: str, login: str, conn: str, now_ms: int, grace_ms: int) -> None:
        """A connection closed; the agent's grace period starts if it was their last."""
        args: list[str | int] = ["drop", now_ms, now_ms + grace_ms, login, conn]
        await self._scripts.call("presence", keys.site_keys(site), args)

    async def chats(self, site: str, login: str) -> list[str]:
        """The ids of the conversations assigned to the agent now."""
        members = await self._redis.zrangebylex(
            keys.agent_convs(site), f"[{login}\t", f"({login}\t\xff"
        )
        return [str(m).split("\t", 1)[1] for m in members]

    async def state(self, agent: Agent) -> AgentState:
        site, login = agent.site, agent.login
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hget(keys.agent_status(site), login)
            pipe.hget(keys.agent_load(site), login)
            pipe.hget(keys.presence_count(site), login)
            pipe.hget(keys.agent_capacity(site), login)
            status, load, conns, capacity = await pipe.execute()
        chats = await self.chats(site, login)
        live = replace(agent, capacity=int(capacity or agent.capacity))
        return AgentState(
            live, AgentStatus(status or "offline"), int(load or 0), int(conns or 0), tuple(chats)
        )


_DUMMY_HASH = _hasher.hash("not a password of anyone")


async def load_agent(redis: Redis, login: str) -> Agent | None:
    """The agent with this login (on whichever site has it), or None."""
    found = await _read(redis, login, with_password=False)
    return None if found is None else found[0]


def revoked_event(login: str) -> bytes:
    """The site-channel event that tells `login`'s open sockets to check their session now
    (the account changed version, was removed, or one of its sessions ended)."""
    return orjson.dumps(site_events.encode(SiteEvent(Kind.REVOKED, agent=login)))


async def _read(redis: Redis, login: str, with_password: bool) -> tuple[Agent, str | None] | None:
    """The agent and (if asked) their password hash, read in one transaction."""
    site = await redis.hget(keys.LOGINS, login)
    if site is None:
        return None
    async with redis.pipeline(transaction=True) as pipe:  # one slot: the site's
        pipe.hget(keys.agents(site), login)
        pipe.hget(keys.agent_capacity(site), login)
        if with_password:
            pipe.hget(keys.passwords(site), login)
        raw, capacity, *hashed = await pipe.execute()
    if raw is None:
        return None
    return _agent_from(site, login, raw, capacity), (hashed[0] if hashed else None)


def _next_version(current: str | bytes | None, role: Role, new_password: bool) -> str:
    """A new account version for a new agent or a new password or role; else the same."""
    if current is None or new_password or orjson.loads(current).get("role", "agent") != role:
        return secrets.token_urlsafe(12)
    return _version_of(current)


def _version_of(raw: str | bytes) -> str:
    # Profiles saved before account versions have none: "" until their first change.
    return str(orjson.loads(raw).get("version", ""))


def _profile(agent: Agent, version: str) -> dict[str, object]:
    return {
        "name": agent.name,
        "departments": list(agent.departments),
        "max_capacity": agent.max_capacity,
        "role": agent.role.value,
        "version": version,
    }


def _agent_from(site: str, login: str, raw: str | bytes, capacity: str | None) -> Agent:
    """An agent's profile with their own current capacity (the max until they set one)."""
    data = orjson.loads(raw)
    limit = int(data.get("max_capacity", 3))
    return Agent(
        login=login,
        name=data["name"],
        site=site,
        departments=tuple(data["departments"]),
        capacity=min(int(capacity or limit), limit),
        max_capacity=limit,
        role=Role(data.get("role", "agent")),
        version=str(data.get("version", "")),
    )
