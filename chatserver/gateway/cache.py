"""A per-process cache of conversation metadata, kept true by the site's routing events.

Every frame about a conversation needs its state (open? whose?); reading the hash from Redis
each time cost about a fifth of the server's CPU per relayed message. The scripts publish
every change of routing state on the site channel, so an entry is dropped when an event names
its conversation, all entries are dropped when the bus loses Redis, and none lives longer than
MAX_AGE (a safety net, not the mechanism).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from chatserver.core import site_events
from chatserver.core.model import Conversation, Site
from chatserver.store import keys
from chatserver.store.bus import Bus

MAX_AGE = 30.0
MAX_ENTRIES = 50_000
AVAILABILITY_SECONDS = 1.0


# Reads a conversation from storage (Hub.conversation).
ReadConversation = Callable[[str, str], Awaitable[Conversation | None]]


class ConversationCache:
    def __init__(self, read: ReadConversation, bus: Bus) -> None:
        self._read = read
        self._bus = bus
        self._entries: dict[str, tuple[Conversation, float]] = {}
        self._sites: set[str] = set()
        bus.on_state(lambda up: self._entries.clear())

    async def get(self, site: str, conversation_id: str) -> Conversation | None:
        """The conversation, from the cache while it is known to be current."""
        hit = self._entries.get(conversation_id)
        if hit is not None and hit[1] > time.monotonic() and hit[0].site == site:
            return hit[0]
        if site not in self._sites:
            await self._follow(site)
        conv = await self._read(site, conversation_id)
        if conv is not None and self._bus.up:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[conversation_id] = (conv, time.monotonic() + MAX_AGE)
        return conv

    def forget(self, conversation_id: str) -> None:
        self._entries.pop(conversation_id, None)

    async def _follow(self, site: str) -> None:
        self._sites.add(site)
        await self._bus.subscribe(keys.site_channel(site), self._on_site_event)

    def _on_site_event(self, channel: str, payload: dict[str, Any]) -> None:
        conversation_id = site_events.parse(payload).conv
        if conversation_id:
            self._entries.pop(conversation_id, None)


class SiteCache:
    """Sites as this process last read them: every shopper's handshake needs its site (a
    reconnect storm of 10,000 sockets read the same JSON 10,000 times, each through the Redis
    pool the hellos wait on). An entry is kept only while the bus is up and only for a site
    that exists (so unknown keys cost no subscription); `save_site` publishes a `site` event
    on the site's channel, which drops the entry in every process. A read that an edit's event
    overtook is returned but not kept (its reply may predate the edit)."""

    def __init__(self, read: Callable[[str], Awaitable[Site | None]], bus: Bus) -> None:
        self._read = read
        self._bus = bus
        self._entries: dict[str, Site] = {}
        self._followed: set[str] = set()
        self._edits: dict[str, int] = {}  # key -> `site` events heard
        bus.on_state(lambda up: self._entries.clear())

    async def get(self, key: str) -> Site | None:
        hit = self._entries.get(key)
        if hit is not None:
            return hit
        edits = self._edits.get(key, 0)
        site = await self._read(key)
        if site is None or not self._bus.up:
            return site
        if key not in self._followed:
            self._followed.add(key)
            await self._bus.subscribe(keys.site_channel(key), self._on_site_event)
            edits = self._edits.get(key, 0)
            site = await self._read(key)  # an edit made before the subscription counted
            if site is None:
                return None
        if self._bus.up and self._edits.get(key, 0) == edits:
            self._entries[key] = site
        return site

    def _on_site_event(self, channel: str, payload: dict[str, Any]) -> None:
        if site_events.parse(payload).kind is site_events.Kind.SITE:
            key = keys.site_of_channel(channel)
            self._entries.pop(key, None)
            self._edits[key] = self._edits.get(key, 0) + 1


class AvailabilityCache:
    """Which departments of a site have an agent online, as every shopper's `welcome` says:
    computed from all the site's agents, so kept a second per site, dropped when an agent's
    status or capacity changes, and computed by one caller at a time: the hellos that arrive
    while it is being computed wait for that result (a burst of 600 hellos a second used to
    start a computation each, five whole-site hashes read and parsed per hello)."""

    def __init__(self, bus: Bus) -> None:
        self._bus = bus
        self._entries: dict[str, tuple[dict[str, bool], float]] = {}
        self._computing: dict[str, asyncio.Future[dict[str, bool]]] = {}
        self._changes: dict[str, int] = {}  # site -> events seen: a result computed across one
        self._sites: set[str] = set()  # of them is returned but not kept
        bus.on_state(lambda up: self._entries.clear())

    async def get(
        self, site: str, compute: Callable[[], Awaitable[dict[str, bool]]]
    ) -> dict[str, bool]:
        if site not in self._sites:
            self._sites.add(site)
            await self._bus.subscribe(keys.site_channel(site), self._on_site_event)
        hit = self._entries.get(site)
        if hit is not None and hit[1] > time.monotonic():
            return hit[0]
        pending = self._computing.get(site)
        if pending is None:
            pending = asyncio.ensure_future(self._compute(site, compute))
            pending.add_done_callback(_retrieved)  # every waiter may have gone meanwhile
            self._computing[site] = pending
        # shield: one waiter's cancellation (its socket closed) does not cancel the others'.
        return await asyncio.shield(pending)

    async def _compute(
        self, site: str, compute: Callable[[], Awaitable[dict[str, bool]]]
    ) -> dict[str, bool]:
        changes = self._changes.get(site, 0)
        try:
            value = await compute()
        finally:
            self._computing.pop(site, None)
        if self._bus.up and self._changes.get(site, 0) == changes:
            self._entries[site] = (value, time.monotonic() + AVAILABILITY_SECONDS)
        return value

    def _on_site_event(self, channel: str, payload: dict[str, Any]) -> None:
        if site_events.parse(payload).kind in (site_events.Kind.AGENT, site_events.Kind.REQUEUED):
            site = keys.site_of_channel(channel)
            self._entries.pop(site, None)
            self._changes[site] = self._changes.get(site, 0) + 1


def _retrieved(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()
