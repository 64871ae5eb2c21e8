"""The per-process event bus: ONE Redis pub/sub connection for all the sockets of a process
(on Redis Cluster: one per shard it needs, with sharded pub/sub; `ShardedBus`).

Sockets register handlers for the channels they need (a conversation's, a site's); the bus
subscribes a channel while at least one handler wants it, decodes each message once and calls
the handlers. When the connection to Redis drops, the bus tells everyone (so clients can be told
and, once it is back, every view re-reads its stream: pub/sub does not replay what was missed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ConnectionError, RedisClusterException, RedisError

from chatserver.store import clients
from chatserver.store.subscriber import RawPubSub

log = logging.getLogger(__name__)

SUBSCRIBE_TIMEOUT = 5.0
CONNECT_TIMEOUT = 5.0
HEALTH_PERIOD = 5.0
KEEPALIVE = "chat:bus:keepalive"  # always subscribed: confirms the connection is live
Handler = Callable[[str, dict[str, Any]], None]
StateListener = Callable[[bool], None]


class Bus:
    def __new__(cls, redis: Redis) -> Bus:
        """`Bus(client)` is a `ShardedBus` when `client` is a Redis Cluster client."""
        if cls is Bus and isinstance(redis, RedisCluster):
            return super().__new__(ShardedBus)
        return super().__new__(cls)

    def __init__(self, redis: Redis) -> None:
        """`redis` should be a client of the bus's own (its pool is not shared with commands,
        so a burst of socket work can never starve the subscription)."""
        self._redis = redis
        self._handlers: dict[str, set[Handler]] = defaultdict(set)
        self._confirmed: dict[str, asyncio.Future[None]] = {}
        self._listeners: list[StateListener] = []
        self._pubsub: PubSub | RawPubSub | None = None
        self._task: asyncio.Task[None] | None = None
        self._pending: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._connected = asyncio.Event()
        self.up = False

    def on_state(self, listener: StateListener) -> None:
        """Call `listener(True|False)` whenever the bus (re)connects or loses Redis."""
        self._listeners.append(listener)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="bus")

    async def stop(self) -> None:
        # redis-py may turn our cancellation into its own TimeoutError inside a read, which
        # the loop would take for a lost connection: the flag ends the loop whatever happens.
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait({self._task}, timeout=CONNECT_TIMEOUT)
        await self._close_pubsub()

    async def subscribe(self, channel: str, handler: Handler) -> None:
        """Deliver `channel`'s messages to `handler`; returns once Redis confirmed the
        subscription (so nothing published after this returns can be missed)."""
        first = not self._handlers[channel]
        self._handlers[channel].add(handler)
        if first or channel not in self._confirmed:
            self._confirmed[channel] = asyncio.get_running_loop().create_future()
            await self._send_subscribe(channel)
        await asyncio.wait_for(asyncio.shield(self._confirmed[channel]), SUBSCRIBE_TIMEOUT)

    def unsubscribe(self, channel: str, handler: Handler) -> None:
        handlers = self._handlers.get(channel)
        if handlers is None:
            return
        handlers.discard(handler)
        if not handlers:
            del self._handlers[channel]
            self._confirmed.pop(channel, None)
            self._send_unsubscribe(channel)

    # The Redis half of (un)subscribing: plain pub/sub here, sharded in ShardedBus.
    async def _send_subscribe(self, channel: str) -> None:
        if self._pubsub is not None and self.up:
            with contextlib.suppress(RedisError, OSError):
                await self._pubsub.subscribe(channel)

    def _send_unsubscribe(self, channel: str) -> None:
        if self._pubsub is not None and self.up:
            self._spawn(self._safe_unsubscribe(channel))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _safe_unsubscribe(self, channel: str) -> None:
        if channel in self._handlers or self._pubsub is None:
            return
        with contextlib.suppress(RedisError, OSError):
            await self._pubsub.unsubscribe(channel)

    async def _run(self) -> None:
        backoff = 0.05
        while not self._stopping:
            try:
                async with asyncio.timeout(CONNECT_TIMEOUT):
                    await self._connect()
                backoff = 0.05
                await self._listen()
            except (RedisError, OSError, TimeoutError) as exc:
                if self._stopping:
                    return
                log.warning("event bus lost Redis: %s (%s)", exc, type(exc).__name__)
            await self._set_up(False)
            await self._close_pubsub()
            await asyncio.sleep(backoff * (1 + random.random()))  # reconnect backoff
            backoff = min(backoff * 2, 2.0)

    async def _connect(self) -> None:
        # On one Redis over TCP, hiredis reads the subscription directly (store/subscriber.py).
        self._pubsub = clients.subscriber_for(self._redis) or self._redis.pubsub()
        # A dummy channel keeps the connection in subscribed mode even with no socket.
        channels = [*self._handlers, KEEPALIVE]
        for channel in self._handlers:
            if self._confirmed.get(channel) is None or self._confirmed[channel].done():
                self._confirmed[channel] = asyncio.get_running_loop().create_future()
        await self._pubsub.subscribe(*channels)

    async def _listen(self) -> None:
        """Dispatch messages. After a health period of silence we PING; a connection that
        stays silent through the next period too (no answer) is dead even if TCP did not say so."""
        pubsub = self._pubsub
        assert pubsub is not None
        unanswered = 0
        while not self._stopping:
            message = await pubsub.get_message(timeout=HEALTH_PERIOD)
            if message is None:
                if unanswered:
                    raise ConnectionError("event bus: no answer to PING")
                unanswered += 1
                await pubsub.ping()
                continue
            unanswered = 0
            kind = message["type"]
            channel = _text(message["channel"])
            if kind == "subscribe":
                future = self._confirmed.get(channel)
                if future is not None and not future.done():
                    future.set_result(None)
                if channel == KEEPALIVE:
                    if self.up:  # subscribed again without our noticing a drop: catch up
                        await self._set_up(False)
                    await self._set_up(True)
                    # Channels asked for while this connection was being made were in neither
                    # its first SUBSCRIBE (KEEPALIVE is last in it) nor sent since: send them.
                    late = [c for c, f in self._confirmed.items() if not f.done()]
                    if late:
                        await pubsub.subscribe(*late)
            elif kind == "message":
                self._dispatch(channel, message["data"])

    def _dispatch(self, channel: str, data: bytes | str) -> None:
        handlers = self._handlers.get(channel)
        if not handlers:
            return
        try:
            payload = orjson.loads(data)
        except orjson.JSONDecodeError:
            log.error("undecodable event on %s", channel)
            return
        for handler in list(handlers):
            try:
                handler(channel, payload)
            except Exception:
                log.exception("event handler failed on %s", channel)

    async def _set_up(self, up: bool) -> None:
        if up == self.up:
            return
        self.up = up
        log.info("event bus %s", "connected" if up else "disconnected")
        for listener in self._listeners:
            listener(up)

    async def _close_pubsub(self) -> None:
        if self._pubsub is not None:
            with contextlib.suppress(RedisError, OSError, TimeoutError):
                async with asyncio.timeout(CONNECT_TIMEOUT):
                    await self._pubsub.aclose()
            self._pubsub = None


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class ShardedBus(Bus):
    """The bus on Redis Cluster: sharded pub/sub (SSUBSCRIBE), one connection per master that
    owns a slot of a channel wanted, so an event is carried by its own shard only.

    Any trouble with any shard (a connection lost or silent, a node failed over, a slot moved
    away: Redis then ends the shard's subscriptions with SUNSUBSCRIBE) is handled like a lost
    connection on a single Redis: the bus goes down (everyone is told), re-reads the slot map,
    subscribes everything again on the current owners and comes back up (every view catches up
    from its last id). One shard's failover thus costs every socket of the process a catch-up
    read, which is cheap next to the seconds the failover itself takes."""

    def __init__(self, redis: Redis) -> None:
        super().__init__(redis)
        self._cluster: RedisCluster = redis  # type: ignore[assignment]
        self._links: dict[str, _Link] = {}
        self._owner: dict[str, str] = {}  # channel -> name of the node it is subscribed on
        self._failed = asyncio.Event()
        self._failure = ""

    async def _send_subscribe(self, channel: str) -> None:
        if self.up:
            try:
                await self._ssubscribe([channel])
            except (RedisError, RedisClusterException, OSError) as exc:
                self._fail(f"subscribing {channel}: {exc}")

    def _send_unsubscribe(self, channel: str) -> None:
        link = self._links.get(self._owner.pop(channel, ""))
        if link is not None and self.up:
            link.leaving[channel] += 1
            self._spawn(link.sunsubscribe(channel))

    async def _run(self) -> None:
        backoff = 0.05
        while not self._stopping:
            try:
                self._failed = asyncio.Event()
                async with asyncio.timeout(CONNECT_TIMEOUT):
                    await self._connect()
                backoff = 0.05
                await self._set_up(True)
                await self._failed.wait()
                raise ConnectionError(self._failure)
            except (RedisError, RedisClusterException, OSError, TimeoutError) as exc:
                if self._stopping:
                    return
                log.warning("event bus lost a shard: %s (%s)", exc, type(exc).__name__)
            await self._set_up(False)
            await self._close_pubsub()
            await asyncio.sleep(backoff * (1 + random.random()))  # reconnect backoff
            backoff = min(backoff * 2, 2.0)

    async def _connect(self) -> None:
        # The slot map as it is now (the first time: the client's first look at the cluster).
        await self._cluster.initialize()
        await self._cluster.nodes_manager.initialize()
        for channel in self._handlers:
            if self._confirmed.get(channel) is None or self._confirmed[channel].done():
                self._confirmed[channel] = asyncio.get_running_loop().create_future()
        # KEEPALIVE keeps one shard's connection open even with no socket (a live bus).
        self._confirmed[KEEPALIVE] = asyncio.get_running_loop().create_future()
        await self._ssubscribe([*self._handlers, KEEPALIVE])
        wanted = [self._confirmed[c] for c in [*self._handlers, KEEPALIVE] if c in self._confirmed]
        await asyncio.gather(*(asyncio.shield(f) for f in wanted))

    async def _ssubscribe(self, channels: list[str]) -> None:
        """SSUBSCRIBE `channels` on the masters that own them now, one slot per command."""
        by_slot: dict[tuple[str, int], list[str]] = defaultdict(list)
        for channel in channels:
            node = self._cluster.get_node_from_key(channel)
            assert node is not None
            by_slot[(node.name, self._cluster.keyslot(channel))].append(channel)
        for (name, _), group in by_slot.items():
            link = await self._link(name)
            for channel in group:
                self._owner[channel] = name
            await link.ssubscribe(*group)

    async def _link(self, name: str) -> _Link:
        link = self._links.get(name)
        if link is None:
            node = self._cluster.get_node(node_name=name)
            assert node is not None
            link = _Link(self, name, clients.node_client(self._cluster, node.host, node.port))
            self._links[name] = link
        return link

    def _fail(self, reason: str) -> None:
        if not self._failed.is_set():
            self._failure = reason
            self._failed.set()

    def _on_shard_message(self, link: _Link, message: dict[str, Any]) -> None:
        kind = message["type"]
        channel = _text(message["channel"])
        if kind == "ssubscribe":
            future = self._confirmed.get(channel)
            if future is not None and not future.done() and self._owner.get(channel) == link.name:
                future.set_result(None)
        elif kind == "smessage":
            self._dispatch(channel, message["data"])
        elif kind == "sunsubscribe":
            if link.leaving[channel] > 0:  # our own
                link.leaving[channel] -= 1
                if not link.leaving[channel]:
                    del link.leaving[channel]
            elif self._owner.get(channel) == link.name:
                self._fail(f"{link.name} no longer serves {channel} (slot moved or failed over)")

    async def _close_pubsub(self) -> None:
        links, self._links = list(self._links.values()), {}
        self._owner.clear()
        for link in links:
            await link.close()


class _Link:
    """One connection of a ShardedBus: SSUBSCRIBEd channels of one master, read by its own task."""

    def __init__(self, bus: ShardedBus, name: str, client: Redis) -> None:
        self.bus = bus
        self.name = name
        self.client = client
        self.pubsub: PubSub = client.pubsub()
        self.leaving: Counter[str] = Counter()  # channels we SUNSUBSCRIBEd, confirmation due
        self._task: asyncio.Task[None] | None = None
        # redis-py's PubSub.connect() is not guarded: concurrent first SSUBSCRIBEs would each
        # open a connection, and the reader reads only the last one (the others' messages lost).
        self._subscribing = asyncio.Lock()

    async def ssubscribe(self, *channels: str) -> None:
        """SSUBSCRIBE (one slot's channels); the reader starts once the connection is made."""
        async with self._subscribing:
            await self.pubsub.ssubscribe(*channels)
        if self._task is None:
            self._task = asyncio.create_task(self._read(), name=f"bus {self.name}")

    async def sunsubscribe(self, channel: str) -> None:
        if channel in self.bus._handlers:
            self.leaving[channel] -= 1  # wanted again meanwhile: keep it
            return
        with contextlib.suppress(RedisError, OSError):
            await self.pubsub.sunsubscribe(channel)

    async def _read(self) -> None:
        """Like Bus._listen, for one shard: PING after a silent health period; no answer in the
        next one means the connection is dead. Any failure fails the whole bus."""
        unanswered = 0
        try:
            while True:
                message = await self.pubsub.get_message(timeout=HEALTH_PERIOD)
                if message is None:
                    if unanswered:
                        raise ConnectionError("no answer to PING")
                    unanswered += 1
                    await self.pubsub.ping()
                    continue
                unanswered = 0
                if message["type"] != "pong":
                    self.bus._on_shard_message(self, message)
        except asyncio.CancelledError:
            raise
        except (RedisError, OSError, TimeoutError, RuntimeError) as exc:
            self.bus._fail(f"{self.name}: {exc} ({type(exc).__name__})")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait({self._task}, timeout=CONNECT_TIMEOUT)
        with contextlib.suppress(RedisError, OSError, TimeoutError):
            async with asyncio.timeout(CONNECT_TIMEOUT):
                await self.pubsub.aclose()  # type: ignore[no-untyped-call]
                await self.client.aclose()
