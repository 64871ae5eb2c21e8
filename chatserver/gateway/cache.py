"""A per-process cache of conversation metadata, kept true by the site's routing events.

Every frame about a conversation needs its state (open? whose?); reading the hash from Redis
each time cost about a fifth of the server's CPU per relayed message. The scripts publish
every change of routing state on the site channel, so an entry is dropped when an event names
its conversation, all entries are dropped when the bus loses Redis, and none lives longer than
MAX_AGE (a safety net, not the mechanism).
"""

from __future__ import annotations

import time
from typing import Any

from chatserver.core.model import Conversation
from chatserver.gateway.bus import Bus
from chatserver.store import keys
from chatserver.store.conversations import Conversations

MAX_AGE = 30.0
MAX_ENTRIES = 50_000


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

    def _on_site_event(self, channel: str, event: dict[str, Any]) -> None:
        conversation_id = event.get("conv")
        if conversation_id is not None:
            self._entries.pop(conversation_id, None)
