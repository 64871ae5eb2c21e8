"""Routing events of a site reach only the sockets they concern.

A process subscribes each site's channel once. An event is handed to the sockets that follow
the conversation it names and to the sockets of the agents it names, nobody else: a routing
event costs O(sockets concerned), not O(sockets of the site). Each socket then handles its
events one at a time, in arrival order (`Connection.push_event`).
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from chatserver.core import site_events
from chatserver.store import keys
from chatserver.store.bus import Bus

if TYPE_CHECKING:
    from chatserver.gateway.connection import Connection


class SiteRouter:
    def __init__(self, bus: Bus) -> None:
        self._bus = bus
        self._members: dict[str, set[Connection]] = defaultdict(set)  # site -> sockets
        self._by_conv: dict[str, set[Connection]] = defaultdict(set)
        self._by_agent: dict[str, set[Connection]] = defaultdict(set)
        self._convs_of: dict[Connection, set[str]] = defaultdict(set)
        self._agent_of: dict[Connection, str] = {}

    async def join(self, conn: Connection, site: str, agent: str = "") -> None:
        """`conn` hears the events of `site` that concern it (and of `agent`, if given).
        Returns once the channel is subscribed (nothing published after can be missed)."""
        self._members[site].add(conn)
        if agent:
            self._agent_of[conn] = agent
            self._by_agent[agent].add(conn)
        await self._bus.subscribe(keys.site_channel(site), self._on_event)

    def follow(self, conn: Connection, conversation_id: str) -> None:
        """`conn` hears the events naming this conversation."""
        self._by_conv[conversation_id].add(conn)
        self._convs_of[conn].add(conversation_id)

    def unfollow(self, conn: Connection, conversation_id: str) -> None:
        _discard(self._by_conv, conversation_id, conn)
        convs = self._convs_of.get(conn)
        if convs is not None:
            convs.discard(conversation_id)

    def leave(self, conn: Connection, site: str) -> None:
        """`conn` is gone: forget it everywhere."""
        for conversation_id in self._convs_of.pop(conn, set()):
            _discard(self._by_conv, conversation_id, conn)
        agent = self._agent_of.pop(conn, "")
        if agent:
            _discard(self._by_agent, agent, conn)
        members = self._members.get(site)
        if members is not None:
            members.discard(conn)
            if not members:
                del self._members[site]
                self._bus.unsubscribe(keys.site_channel(site), self._on_event)

    def _on_event(self, channel: str, payload: dict[str, Any]) -> None:
        event = site_events.parse(payload)
        if event.kind is site_events.Kind.OTHER:
            return
        targets: set[Connection] = set(self._by_conv.get(event.conv, ())) if event.conv else set()
        for agent in event.agents():
            targets.update(self._by_agent.get(agent, ()))
        for conn in targets:
            conn.push_event(event)


def _discard(index: dict[str, set[Connection]], key: str, conn: Connection) -> None:
    members = index.get(key)
    if members is not None:
        members.discard(conn)
        if not members:
            del index[key]
