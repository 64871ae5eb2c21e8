"""A per-process cache of conversation metadata, kept true by the site's routing events.

Every frame about a conversation needs its state (open? whose?); reading the hash from Redis
each time cost about a fifth of the server's CPU per relayed message. The scripts publish
every change of routing state on the site channel, so an entry is dropped when an event names
its conversation, all entries are dropped when the bus loses Redis, and none lives longer than
MAX_AGE (a safety net, not the mechanism).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from chatserver.core import site_events
from chatserver.core.model import Conversation
from chatserver.store import keys
from chatserver.store.bus import Bus
from chatserver.store.conversations import Conversations

MAX_AGE = 30.0
MAX_ENTRIES = 50_000
AVAILABILITY_SECONDS = 1.0


class ConversationCache:
    def __init__(self, conversations: Conversations, bus: Bus) -> None:
        self._conversations = conversations
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
        conv = await self._conversations.get(site, conversation_id)
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


class AvailabilityCache:
    """Which departments of a site have an agent online, as every shopper's `welcome` says:
    computed from all the site's agents, so kept a second per site (a reconnect storm of
    10,000 shoppers costs a few computations, not 10,000), and dropped when an agent's status
    or capacity changes."""

    def __init__(self, bus: Bus) -> None:
        self._bus = bus
        self._entries: dict[str, tuple[dict[str, bool], float]] = {}
        self._sites: set[str] = set()
        bus.on_state(lambda up: self._entries.clear())

    async def get(
        self, site: str, compute: Callable[[], Awaitable[dict[str, bool]]]
    ) -> dict[str, bool]:
        hit = self._entries.get(site)
        if hit is not None and hit[1] > time.monotonic():
            return hit[0]
        if site not in self._sites:
            self._sites.add(site)
            await self._bus.subscribe(keys.site_channel(site), self._on_site_event)
        value = await compute()
        if self._bus.up:
            self._entries[site] = (value, time.monotonic() + AVAILABILITY_SECONDS)
        return value

    def _on_site_event(self, channel: str, payload: dict[str, Any]) -> None:
        if site_events.parse(payload).kind in (site_events.Kind.AGENT, site_events.Kind.REQUEUED):
            self._entries.pop(keys.site_of_channel(channel), None)
