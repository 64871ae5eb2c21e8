"""What one server process holds: its sockets, its event bus, and its background duties
(heartbeats of its agents' connections, the sweeper)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Coroutine, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from chatserver.attachments.service import Files
from chatserver.config import Settings
from chatserver.core import outgoing
from chatserver.core.frames import CloseCode
from chatserver.core.model import Conversation, Site
from chatserver.gateway.cache import AvailabilityCache, ConversationCache, SiteCache
from chatserver.gateway.queues import QueueWatch
from chatserver.gateway.site_router import SiteRouter
from chatserver.hub import Hub
from chatserver.mail.service import MailService
from chatserver.store.bus import Bus
from chatserver.store.clients import Redis, StorageError

if TYPE_CHECKING:
    from chatserver.gateway.agent import AgentConnection
    from chatserver.gateway.connection import Connection

log = logging.getLogger(__name__)

# The gateway of this process (set while the app runs), for the signal handler of the server.
CURRENT: Gateway | None = None


class Gateway:
    def __init__(self, hub: Hub, settings: Settings, bus_redis: Redis) -> None:
        self.hub = hub
        self.settings = settings
        self.bus = Bus(bus_redis)
        self.sites = SiteRouter(self.bus)
        self.queues = QueueWatch(hub.queue, self.bus)
        self.conversations = ConversationCache(hub.conversation, self.bus)
        self.availability = AvailabilityCache(self.bus)
        self.site_cache = SiteCache(hub.site, self.bus)
        self.connections: set[Connection] = set()
        self.agent_connections: set[AgentConnection] = set()
        self.secret = b""
        # argon2 costs 64 MiB and ~0.1 s of CPU per check: a few at a time, whatever comes in.
        self.password_slots = asyncio.Semaphore(settings.password_checks)
        # Frames handled at once, process-wide: the rest wait their turn in order (their
        # sockets' readers paused) instead of queueing for a Redis connection until the pool
        # gives up and the client is told `unavailable` (a 3,000-shopper burst: hundreds).
        self.admission = asyncio.Semaphore(settings.redis_connections)
        self.draining = False
        self._sockets_by_address: Counter[str] = Counter()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._sweeper: asyncio.Task[None] | None = None
        self._stopping = False
        self.mail: MailService | None = None
        self.files = Files(hub, settings)  # attachments: uploads, signed URLs, retention

    async def start(self) -> None:
        global CURRENT
        CURRENT = self
        self.secret = await self.hub.shared_secret()
        await self.files.start(self.secret)
        self.bus.on_state(self._on_bus_state)
        await self.bus.start()
        self._sweeper = asyncio.create_task(self._background(), name="sweeper")
        self.mail = MailService(self.hub, self.settings, self.secret)  # docs/email.md
        await self.mail.start()

    async def stop(self) -> None:
        # The flag, not only the cancel: on Python 3.11 a cancel that lands while a Redis call
        # times out can be swallowed (seen: shutdown hanging in the sweeper's sleep).
        self._stopping = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        if self.mail is not None:
            await self.mail.stop()
        await self.files.stop()
        await self.bus.stop()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run a fire-and-forget job of a socket, keeping a reference and logging failures."""
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._job_done)

    def _job_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("background job failed: %r", task.exception())

    def admit_address(self, address: str) -> bool:
        """Count a socket of `address`; False (not counted) if it has its most already."""
        if self._sockets_by_address[address] >= self.settings.sockets_per_address:
            return False
        self._sockets_by_address[address] += 1
        return True

    def release_address(self, address: str) -> None:
        self._sockets_by_address[address] -= 1
        if self._sockets_by_address[address] <= 0:
            del self._sockets_by_address[address]

    def close_all(self, code: CloseCode, reason: str) -> None:
        for conn in list(self.connections):
            conn.close_soon(code, reason)

    def _on_bus_state(self, up: bool) -> None:
        for conn in list(self.connections):
            if conn.authenticated:
                conn.on_bus_state(up)

    # --- what both roles see of a conversation --------------------------------------------
    async def summary(
        self, conv: Conversation, role: str, epoch: int | None = None
    ) -> dict[str, Any]:
        name = await self.hub.agent_name(conv.agent) if conv.agent else None
        return outgoing.conversation(conv, role, name, epoch)

    # --- origins --------------------------------------------------------------------------
    def origin_allowed(self, origin: str, site: Site, headers: Mapping[str, str]) -> bool:
        """A shopper socket may come from the site's allowed origins, or from our own pages
        (the demo store). A site with no allowed origins accepts no other origin, except under
        `chatserver demo` (trying the widget on a local page); the opaque origin `null`
        (sandboxed frames, file: pages) is never allowed."""
        if origin.strip().lower() == "null":
            return False
        if self.console_origin_allowed(origin, headers):
            return True
        allowed = {o.lower() for o in site.allowed_origins}
        if not allowed:
            return self.settings.demo
        return origin.rstrip("/").lower() in allowed

    def console_origin_allowed(self, origin: str, headers: Mapping[str, str]) -> bool:
        if self.settings.public_url:
            public = urlparse(self.settings.public_url)
            return origin.rstrip("/").lower() == f"{public.scheme}://{public.netloc}".lower()
        return urlparse(origin).netloc == headers.get("host", "")

    # --- background duties ----------------------------------------------------------------
    async def _background(self) -> None:
        period = self.settings.sweep_seconds
        beat_every = max(1, int(self.hub.presence_ttl_ms / 3000 / period))
        tick = 0
        while not self._stopping:
            await asyncio.sleep(period)  # a period timer, not a synchronisation
            tick += 1
            try:
                if tick % beat_every == 0:
                    await self._heartbeat()
                await self._shoppers_still_here()
                for site in await self.hub.all_sites():
                    await self.hub.sweep(site)
            except (StorageError, OSError) as exc:
                log.warning("sweep skipped: %s", exc)
            except Exception:
                log.exception("sweep failed")

    async def _heartbeat(self) -> None:
        """Keep this process's agent connections live in Redis (they expire if it dies), and
        close those whose session ended (the backstop of the `revoked` event)."""
        live = [(conn, who) for conn in list(self.agent_connections)
                if (who := conn.identity()) is not None]  # fmt: skip
        valid = await self.hub.sessions_valid([(s, agent.site) for _, (agent, s) in live])
        by_site: dict[str, list[tuple[str, str]]] = {}
        for (agent_conn, (agent, _)), ok in zip(live, valid, strict=True):
            if not ok:
                agent_conn.revoke()
                continue
            by_site.setdefault(agent.site, []).append((agent.login, agent_conn.id))
        for site, pairs in by_site.items():
            await self.hub.agents_here(site, pairs)

    async def _shoppers_still_here(self) -> None:
        """Queued conversations of connected shoppers keep their place (before each sweep)."""
        for conn in list(self.connections):
            for conv in conn.queued_conversations():
                await self.hub.shopper_here(conv)
