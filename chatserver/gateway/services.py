"""What a socket may use of its process: the narrow interface `Connection` is given.

The `Gateway` (process.py) provides it; a connection sees only what is listed here, so a new
dependency of sockets on the process shows up in this one place (and mypy checks both sides).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from chatserver.attachments.service import Files
    from chatserver.config import Settings
    from chatserver.core.model import Conversation, Site
    from chatserver.gateway.agent import AgentConnection
    from chatserver.gateway.cache import AvailabilityCache, ConversationCache, SiteCache
    from chatserver.gateway.connection import Connection
    from chatserver.gateway.queues import QueueWatch
    from chatserver.gateway.site_router import SiteRouter
    from chatserver.hub import Hub
    from chatserver.store.bus import Bus


class Services(Protocol):
    hub: Hub  # the one door to storage and to the domain's operations
    settings: Settings
    secret: bytes  # signs visitor tokens
    bus: Bus  # conversation channels: subscribe / unsubscribe
    sites: SiteRouter  # the site events a socket hears
    queues: QueueWatch  # queue positions of queued shoppers
    conversations: ConversationCache  # conversations, current as long as the bus is up
    availability: AvailabilityCache  # the welcome's agents-online figure
    site_cache: SiteCache  # sites, current as long as the bus is up
    files: Files  # signed URLs of attachments
    admission: asyncio.Semaphore  # frames handled at once by the process
    connections: set[Connection]  # the process's sockets (close all, bus state)
    agent_connections: set[AgentConnection]  # heartbeats of agents' connections

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None: ...

    def admit_address(self, address: str) -> bool: ...

    def release_address(self, address: str) -> None: ...

    def origin_allowed(self, origin: str, site: Site, headers: Mapping[str, str]) -> bool: ...

    def console_origin_allowed(self, origin: str, headers: Mapping[str, str]) -> bool: ...

    async def summary(
        self, conv: Conversation, role: str, epoch: int | None = None
    ) -> dict[str, Any]: ...
