"""Fixtures of the store tests: the store objects on the session's Redis, and a shop (a site
with agents) to route conversations in, driven by an explicit clock."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field

import pytest
from redis.asyncio import Redis

from chatserver.core.model import Agent, AgentStatus, Conversation, ConversationState, Site
from chatserver.store import keys
from chatserver.store.agents import Agents
from chatserver.store.conversations import Assignment, Conversations
from chatserver.store.scripts import Scripts
from chatserver.store.sites import save_site
from chatserver.store.transcripts import Transcripts

NOW = 1_700_000_000_000  # the store takes the time as an argument: tests choose it
GRACE_MS = 30_000
HEARTBEAT_MS = 15_000
PASSWORD = "correct horse battery"


@dataclass
class Store:
    """Everything of the store layer on one Redis client, as one process builds it."""

    redis: Redis
    scripts: Scripts
    agents: Agents
    conversations: Conversations
    transcripts: Transcripts

    @classmethod
    def on(cls, redis: Redis) -> Store:
        scripts = Scripts(redis)
        return cls(
            redis, scripts, Agents(redis, scripts), Conversations(redis, scripts),
            Transcripts(redis, scripts),
        )  # fmt: skip


@pytest.fixture
def store(redis: Redis) -> Store:
    return Store.on(redis)


@dataclass
class Shop:
    """A site with agents. Agents are named by short names ('ann'); their logins carry the
    site key, since a login belongs to one site across the whole Redis."""

    store: Store
    site: Site
    agents: dict[str, Agent]
    now: int = NOW
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def key(self) -> str:
        return self.site.key

    def login(self, name: str) -> str:
        return self.agents[name].login

    def name(self, login: str) -> str:
        return next(n for n, a in self.agents.items() if a.login == login)

    async def connect(self, name: str, conn: str = "conn-1") -> list[str]:
        """A connection of the agent comes up (or heartbeats), live until now + HEARTBEAT_MS."""
        pairs = [(self.login(name), conn)]
        return await self.store.agents.touch(self.key, pairs, self.now, self.now + HEARTBEAT_MS)

    async def disconnect(self, name: str, conn: str = "conn-1") -> None:
        await self.store.agents.drop(self.key, self.login(name), conn, self.now, GRACE_MS)

    async def set_status(self, name: str, status: AgentStatus) -> str:
        return await self.store.agents.set_status(self.agents[name], status, self.now)

    async def set_capacity(self, name: str, capacity: int) -> None:
        await self.store.agents.set_capacity(self.agents[name], capacity, self.now)

    async def ready(self, *names: str) -> None:
        """The agents (all if none named) connect and go online."""
        for name in names or tuple(self.agents):
            await self.connect(name)
            await self.set_status(name, AgentStatus.ONLINE)

    async def create(
        self,
        conv_id: str | None = None,
        *,
        dept: str | None = None,
        priority: int = 0,
        customer: str = "",
        visitor: str | None = None,
    ) -> str:
        """Create a queued conversation one ms after the previous one; returns its id."""
        self.now += 1
        conv_id = conv_id or f"c{next(self._ids):03d}"
        conv = Conversation(
            id=conv_id,
            site=self.key,
            department=dept or self.site.default_department,
            visitor=visitor or f"v-{conv_id}",
            state=ConversationState.QUEUED,
            priority=priority,
            customer=customer,
            created_ms=self.now,
        )
        assert await self.store.conversations.create(conv)
        return conv_id

    async def serve(self, dept: str | None = None) -> list[tuple[str, str]]:
        """Serve a queue; returns (conversation, agent name) pairs in assignment order."""
        done = await self.store.conversations.serve(
            self.key, dept or self.site.default_department, self.now
        )
        return [self._pair(a) for a in done]

    async def conv(self, conv_id: str) -> Conversation:
        found = await self.store.conversations.get(self.key, conv_id)
        assert found is not None, conv_id
        return found

    async def queue(self, dept: str | None = None) -> list[str]:
        return await self.store.conversations.queue(self.key, dept or self.site.default_department)

    async def chats(self, name: str) -> list[str]:
        return await self.store.agents.chats(self.key, self.login(name))

    async def load(self, name: str) -> int:
        return int(await self.store.redis.hget(keys.agent_load(self.key), self.login(name)) or 0)

    async def available(self) -> list[str]:
        """Names of the agents in the available set, in routing order."""
        logins = await self.store.redis.zrange(keys.available(self.key), 0, -1)
        return [self.name(login) for login in logins]

    def _pair(self, a: Assignment) -> tuple[str, str]:
        return a.conversation_id, self.name(a.agent)


ShopFactory = Callable[..., Awaitable[Shop]]


async def make_shop(
    store: Store,
    site_key: str,
    agents: Mapping[str, tuple[str, ...]] | None = None,
    *,
    departments: tuple[str, ...] = ("sales", "support"),
    capacity: int = 3,
    max_capacity: int = 3,
) -> Shop:
    """Save a site and its agents (offline, not connected). `agents`: name -> departments."""
    site = Site(site_key, f"Shop {site_key}", departments)
    await save_site(store.redis, site)
    made = {
        name: Agent(f"{name}.{site_key}", name.title(), site_key, depts, capacity, max_capacity)
        for name, depts in (agents or {"ann": ("sales",), "bob": ("sales",)}).items()
    }
    # Concurrently: each save hashes a password (argon2, ~0.1 s) in a thread.
    await asyncio.gather(*(store.agents.save(a, password=PASSWORD) for a in made.values()))
    return Shop(store, site, made)


@pytest.fixture
def shop_factory(store: Store, site_key: str) -> ShopFactory:
    """`await shop_factory({'ann': ('sales',)}, capacity=2)`: a site of this test's key."""

    async def factory(
        agents: Mapping[str, tuple[str, ...]] | None = None, **options: object
    ) -> Shop:
        return await make_shop(store, site_key, agents, **options)  # type: ignore[arg-type]

    return factory


@pytest.fixture
async def shop(shop_factory: ShopFactory) -> Shop:
    """A site with departments sales and support; ann and bob serve sales, capacity 3."""
    return await shop_factory()


ACCOUNT_PASSWORD = "a secret"


@pytest.fixture
async def redis_account(redis: Redis) -> AsyncIterator[str]:
    """A Redis account (ACL user, password ACCOUNT_PASSWORD, every key, channel and command) of
    this test alone on the session's Redis: connecting as someone, and with a wrong password."""
    user = "acct-" + uuid.uuid4().hex[:8]
    await redis.execute_command(
        "ACL", "SETUSER", user, "on", f">{ACCOUNT_PASSWORD}", "~*", "&*", "+@all"
    )
    yield user
    await redis.acl_deluser(user)
