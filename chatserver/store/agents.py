"""Agents: profiles, passwords, and live state (status, capacity, connections)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import orjson
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from redis.asyncio import Redis

from chatserver.core.model import Agent, AgentStatus, Role, ValidationError, check_capacity
from chatserver.store import keys
from chatserver.store.scripts import Scripts

_hasher = PasswordHasher()


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

    async def save(self, agent: Agent, password: str | None = None) -> None:
        """Create or update an agent. A new agent needs a password; an agent's login belongs to
        one site."""
        owner = await self._redis.hget(keys.LOGINS, agent.login)
        if owner is not None and owner != agent.site:
            raise ValidationError(f"login {agent.login!r} already belongs to site {owner!r}")
        exists = await self._redis.hexists(keys.agents(agent.site), agent.login)
        if not exists and not password:
            raise ValidationError("a new agent needs a password")
        site = agent.site
        # argon2 takes ~0.1 s of CPU on purpose: in a thread, not on the event loop.
        hashed = await asyncio.to_thread(_hasher.hash, password) if password else None
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.LOGINS, agent.login, site)
            pipe.hset(keys.agents(site), agent.login, orjson.dumps(_profile(agent)))
            pipe.hset(keys.agent_depts(site), agent.login, ",".join(agent.departments))
            if hashed:
                pipe.hset(keys.passwords(site), agent.login, hashed)
            pipe.hsetnx(keys.agent_status(site), agent.login, AgentStatus.OFFLINE.value)
            await pipe.execute()
        await self.set_capacity(agent, agent.capacity, now_ms=0)

    async def get(self, login: str) -> Agent | None:
        site = await self._redis.hget(keys.LOGINS, login)
        if site is None:
            return None
        raw = await self._redis.hget(keys.agents(site), login)
        capacity = await self._redis.hget(keys.agent_capacity(site), login)
        return None if raw is None else _agent_from(site, login, raw, capacity)

    async def of_site(self, site: str) -> list[Agent]:
        raw = await self._redis.hgetall(keys.agents(site))
        capacities = await self._redis.hgetall(keys.agent_capacity(site))
        return [
            _agent_from(site, login, v, capacities.get(login)) for login, v in sorted(raw.items())
        ]

    async def remove(self, login: str) -> bool:
        """Remove an agent who holds no chat (hand their chats back first: go offline)."""
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
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hdel(keys.LOGINS, login)
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
            ):
                pipe.hdel(key, login)
            pipe.zrem(keys.available(site), login)
            pipe.zrem(keys.grace(site), login)
            await pipe.execute()
        return True

    async def verify_password(self, login: str, password: str) -> Agent | None:
        """The agent if `password` is theirs, else None (same work either way)."""
        agent = await self.get(login)
        stored = (
            None if agent is None else await self._redis.hget(keys.passwords(agent.site), login)
        )
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
        live = Agent(
            login=login,
            name=agent.name,
            site=site,
            departments=agent.departments,
            capacity=int(capacity or agent.capacity),
            max_capacity=agent.max_capacity,
            role=agent.role,
        )
        return AgentState(
            live, AgentStatus(status or "offline"), int(load or 0), int(conns or 0), tuple(chats)
        )


_DUMMY_HASH = _hasher.hash("not a password of anyone")


def _profile(agent: Agent) -> dict[str, object]:
    return {
        "name": agent.name,
        "departments": list(agent.departments),
        "max_capacity": agent.max_capacity,
        "role": agent.role.value,
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
    )
