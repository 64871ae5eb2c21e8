"""Live queue positions: each process keeps its own queued shoppers told where they stand.

A change to a department's queue (published by the scripts on the site channel) schedules one
recomputation per (site, department) in this process; changes arriving meanwhile are folded
into one more run, so a burst of assignments costs a few Redis round trips, not one per shopper.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from chatserver.core import outgoing, site_events
from chatserver.core.model import Conversation
from chatserver.core.routing import DEFAULT_HANDLE_SECONDS, estimate_wait_seconds
from chatserver.core.site_events import Kind
from chatserver.store import keys
from chatserver.store.bus import Bus
from chatserver.store.clients import StorageError
from chatserver.store.conversations import QueueSnapshot

if TYPE_CHECKING:
    from chatserver.gateway.connection import Connection

log = logging.getLogger(__name__)
Target = tuple[str, str]  # (site, department)
COALESCE_SECONDS = 0.25


# Reads a department's queue from storage (Hub.queue).
ReadQueue = Callable[[str, str], Awaitable[QueueSnapshot]]


class QueueWatch:
    def __init__(self, read: ReadQueue, bus: Bus) -> None:
        self._read = read
        self._bus = bus
        self._sites: set[str] = set()
        self._subscribing: set[asyncio.Task[None]] = set()
        self._followers: dict[Target, dict[Connection, str]] = defaultdict(dict)
        self._running: dict[Target, asyncio.Task[None]] = {}
        self._dirty: set[Target] = set()
        self._last: dict[tuple[Connection, str], tuple[int, int | None]] = {}

    def follow(self, conn: Connection, conv: Conversation) -> None:
        """Keep `conn` told of `conv`'s position while it is queued."""
        self.forget(conn, conv.id)
        target = (conv.site, conv.department)
        self._followers[target][conn] = conv.id
        if conv.site not in self._sites:
            self._sites.add(conv.site)
            task = asyncio.create_task(
                self._bus.subscribe(keys.site_channel(conv.site), self.on_site_event)
            )
            self._subscribing.add(task)
            task.add_done_callback(self._subscribing.discard)
        self.poke(*target)

    def forget(self, conn: Connection, conversation_id: str) -> None:
        for target, followers in list(self._followers.items()):
            if followers.get(conn) == conversation_id:
                del followers[conn]
                self._last.pop((conn, conversation_id), None)
                if not followers:
                    del self._followers[target]

    def forget_all(self, conn: Connection) -> None:
        for target, followers in list(self._followers.items()):
            conv = followers.pop(conn, None)
            if conv is not None:
                self._last.pop((conn, conv), None)
            if not followers:
                del self._followers[target]

    def on_site_event(self, channel: str, payload: dict[str, Any]) -> None:
        site, event = keys.site_of_channel(channel), site_events.parse(payload)
        if event.kind in (Kind.QUEUE, Kind.AGENT) or event.dept:
            for target in list(self._followers):
                if target[0] == site and (not event.dept or event.dept == target[1]):
                    self.poke(*target)

    def poke(self, site: str, department: str) -> None:
        target = (site, department)
        if target not in self._followers:
            return
        if target in self._running:
            self._dirty.add(target)
            return
        self._running[target] = asyncio.create_task(self._recompute(target))

    async def _recompute(self, target: Target) -> None:
        try:
            while True:
                self._dirty.discard(target)
                await self._push_positions(target)
                # Changes that come meanwhile (a burst of arrivals or assignments) are folded
                # into one more recomputation after the period: a shopper hears at most a few
                # positions a second and a burst costs O(queued) per period, not per change.
                await asyncio.sleep(COALESCE_SECONDS)
                if target not in self._dirty:
                    return
        except StorageError as exc:
            log.warning("queue positions not updated: %s", exc)
        finally:
            self._running.pop(target, None)

    async def _push_positions(self, target: Target) -> None:
        snap = await self._read(*target)
        rank = {conv: i + 1 for i, conv in enumerate(snap.queued)}
        handle = snap.avg_handle_seconds
        if handle is None:
            handle = DEFAULT_HANDLE_SECONDS
        for conn, conv_id in list(self._followers.get(target, {}).items()):
            position = rank.get(conv_id)
            if position is None:
                continue
            eta = estimate_wait_seconds(position, snap.free_slots, snap.total_slots, handle)
            if self._last.get((conn, conv_id)) == (position, eta):
                continue
            self._last[(conn, conv_id)] = (position, eta)
            conn.send(outgoing.queue_position(conv_id, position, eta, snap.total_slots > 0))
