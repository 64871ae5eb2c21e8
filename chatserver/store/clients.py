"""The Redis clients of a process, made in one place, and the names the rest of the package
uses for Redis: `Redis` (the client type, passed around as a handle) and `StorageError`
(what any storage call may raise). Only `store/` imports redis itself.

Three topologies, chosen by the URL's scheme (docs/scaling.md):

* ``redis://``, ``rediss://``, ``unix://``: one Redis (plain pub/sub).
* ``redis+cluster://[user:password@]host:port[,host:port...]`` (``rediss+cluster://`` for
  TLS): a Redis Cluster (>= 7), any of its nodes as seeds. Commands go through redis-py's
  RedisCluster; the bus uses sharded pub/sub (SSUBSCRIBE / SPUBLISH), so an event travels to
  the one shard that owns its channel's slot.
* ``redis+sentinel://[user:password@]host:port[,host:port...]/MASTER[/DB]`` (or
  ``rediss+sentinel://``): the master named MASTER, found through the Sentinels listed; the
  password is the master's (``?sentinel_password=...`` for Sentinels that want their own).
  Commands and the bus find a promoted master by themselves on their next connection.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import parse_qs, unquote

from redis.asyncio import BlockingConnectionPool, Connection, Redis
from redis.asyncio.cluster import ClusterNode, ClusterPipeline, RedisCluster
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.exceptions import ConnectionError, RedisClusterException, RedisError, TimeoutError

from chatserver.store.lane import Lane
from chatserver.store.subscriber import RawPubSub

StorageError = RedisError
__all__ = [
    "ClusterUnavailable",
    "Redis",
    "ShardedCluster",
    "StorageError",
    "Topology",
    "bus_client",
    "command_client",
    "is_cluster",
    "parse_url",
    "plain_client",
]

CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")
SENTINEL_SCHEMES = ("redis+sentinel", "rediss+sentinel")


@dataclass(frozen=True, slots=True)
class Topology:
    """What a Redis URL names: 'single' (the URL as is), 'cluster' or 'sentinel'."""

    kind: str
    url: str
    nodes: tuple[tuple[str, int], ...] = ()
    username: str | None = None
    password: str | None = None
    tls: bool = False
    master: str = ""
    db: int = 0
    sentinel_password: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


def parse_url(url: str) -> Topology:
    """The topology of a Redis URL; ValueError with a readable reason if it is malformed."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError("a Redis URL needs a scheme (redis://, redis+cluster://, ...)")
    if scheme not in CLUSTER_SCHEMES + SENTINEL_SCHEMES:
        return Topology("single", url)
    rest, _, query = rest.partition("?")
    netloc, _, path = rest.partition("/")
    userinfo, at, hosts = netloc.rpartition("@")
    username = password = None
    if at:
        user, colon, secret = userinfo.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if colon else None
    nodes = tuple(_host_port(part, 26379 if scheme in SENTINEL_SCHEMES else 6379)
                  for part in hosts.split(",") if part)  # fmt: skip
    if not nodes:
        raise ValueError(f"{scheme}:// needs at least one host:port")
    extra = {k: v[-1] for k, v in parse_qs(query).items()}
    tls = scheme.startswith("rediss")
    if scheme in CLUSTER_SCHEMES:
        if path.strip("/") not in ("", "0"):
            raise ValueError("a Redis Cluster has database 0 only")
        return Topology("cluster", url, nodes, username, password, tls, extra=extra)
    master, _, db = path.partition("/")
    if not master:
        raise ValueError("redis+sentinel:// needs the master's name: .../MASTER")
    if db and not db.isdigit():
        raise ValueError(f"database {db!r} is not a number")
    return Topology("sentinel", url, nodes, username, password, tls, master, int(db or 0),
                    extra.get("sentinel_password"), extra)  # fmt: skip


def _host_port(part: str, default: int) -> tuple[str, int]:
    host, colon, port = part.rpartition(":")
    if not colon:
        return part, default
    if not port.isdigit():
        raise ValueError(f"{part!r}: the port is not a number")
    return host.strip("[]"), int(port)


class ClusterUnavailable(RedisError):
    """redis-py's cluster errors that are not RedisErrors (no node reachable, a slot without a
    master while it fails over), made StorageErrors: callers treat them like a lost Redis."""


class ShardedCluster(RedisCluster):
    """RedisCluster whose PUBLISH is SPUBLISH (sharded pub/sub, Redis >= 7): an event goes to
    the shard owning its channel's slot only, where the bus's SSUBSCRIBE waits for it. The
    rest of the store calls `publish` without knowing which topology it runs on.

    redis-py's cluster pool fails at once when a node's connections are all busy, and it takes
    that failure for a topology change: it re-reads the slot map and closes every connection,
    in use or not, failing every caller at once. Semaphores (commands, pipelines) keep the
    connections in use well below the pool's size, so callers wait instead (like the
    BlockingConnectionPool of a single Redis)."""

    def __init__(self, *args: Any, in_flight: int = 64, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_flight = asyncio.Semaphore(in_flight)
        self.pipelines_in_flight = asyncio.Semaphore(in_flight)

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        async with self._in_flight:
            try:
                return await super().execute_command(*args, **kwargs)
            except RedisClusterException as exc:
                raise ClusterUnavailable(str(exc)) from exc

    async def publish(self, channel: Any, message: Any, **kwargs: Any) -> Any:
        return await self.execute_command("SPUBLISH", channel, message, **kwargs)

    def pipeline(self, transaction: Any | None = None, shard_hint: Any | None = None) -> Any:
        return _ShardedPipeline(self, transaction)  # type: ignore[abstract]


class _ShardedPipeline(ClusterPipeline):
    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        cluster = self.cluster_client
        assert isinstance(cluster, ShardedCluster)
        async with cluster.pipelines_in_flight:
            try:
                return await super().execute(*args, **kwargs)
            except RedisClusterException as exc:
                raise ClusterUnavailable(str(exc)) from exc

    def publish(self, channel: Any, message: Any, **kwargs: Any) -> Any:
        return self.execute_command("SPUBLISH", channel, message, **kwargs)


def is_cluster(redis: object) -> bool:
    """Whether `redis` is a Redis Cluster client (sharded pub/sub, per-slot operations)."""
    return isinstance(redis, RedisCluster)


def command_client(url: str, connections: int) -> Redis:
    """The client every command of a server process goes through.

    A bounded pool that makes callers wait for a free connection (the default pool fails at
    once when a burst of sockets all need Redis together). Retries cover pooled connections
    left stale by a Redis restart or a failover; every write is safe to repeat (messages are
    deduplicated, scripts check the state they change)."""
    topology = parse_url(url)
    retry = Retry(ExponentialBackoff(cap=0.5, base=0.05), 3)
    if topology.kind == "cluster":
        # More retries: a failover takes the cluster a few seconds (node timeout + election),
        # and each retry re-reads the slot map.
        return _cluster(topology, connections, Retry(ExponentialBackoff(cap=1.0, base=0.1), 8))
    if topology.kind == "sentinel":
        return _sentinel_master(topology, connections, retry, [ConnectionError, TimeoutError])
    pool = BlockingConnectionPool.from_url(
        url, max_connections=connections, timeout=10, decode_responses=True,
        health_check_interval=10, socket_connect_timeout=2, socket_timeout=5,
        retry=retry, retry_on_error=[ConnectionError, TimeoutError],
    )  # fmt: skip
    return Redis(connection_pool=pool)


def lane_for(redis: Redis) -> Lane | None:
    """A lane (store/lane.py) to the Redis of `redis`, if that is a server process's command
    client (`command_client`) of one Redis over plain TCP; else None (TLS, unix sockets,
    Sentinel and Cluster keep redis-py's path, as do short-lived clients)."""
    kwargs = _plain_tcp(redis)
    if kwargs is None or not isinstance(redis.connection_pool, BlockingConnectionPool):
        return None
    return Lane(
        kwargs.get("host", "localhost"), int(kwargs.get("port", 6379)), int(kwargs.get("db", 0)),
        kwargs.get("username"), kwargs.get("password"),
        kwargs.get("socket_connect_timeout") or 2.0, kwargs.get("socket_timeout") or 5.0,
    )  # fmt: skip


def subscriber_for(redis: Redis) -> RawPubSub | None:
    """A subscriber (store/subscriber.py) to the Redis of bus client `redis`, if that is one
    Redis over plain TCP; else None (the bus uses redis-py's PubSub)."""
    kwargs = _plain_tcp(redis)
    if kwargs is None:
        return None
    return RawPubSub(
        kwargs.get("host", "localhost"), int(kwargs.get("port", 6379)), kwargs.get("username"),
        kwargs.get("password"), kwargs.get("socket_connect_timeout") or 2.0,
    )  # fmt: skip


def _plain_tcp(redis: Redis) -> dict[str, Any] | None:
    """The connection settings of `redis` if it talks to one Redis over plain TCP (its
    connections are redis-py's `Connection` itself, not TLS's, unix sockets' or Sentinel's)."""
    pool = getattr(redis, "connection_pool", None)
    if pool is None or pool.connection_class is not Connection:
        return None
    kwargs: dict[str, Any] = pool.connection_kwargs
    return kwargs


def bus_client(url: str) -> Redis:
    """The event bus's own client. No retries: a reconnect hidden inside redis-py would skip
    what was published meanwhile; the bus must see every drop to catch its sockets up. On a
    cluster it reads the slot map; the bus opens its own connection to each shard it needs."""
    topology = parse_url(url)
    if topology.kind == "cluster":
        return _cluster(topology, 8, Retry(NoBackoff(), 1))
    if topology.kind == "sentinel":
        return _sentinel_master(topology, 8, Retry(NoBackoff(), 0), [])
    return Redis.from_url(
        url, decode_responses=True, socket_connect_timeout=2, retry=Retry(NoBackoff(), 0)
    )


def plain_client(url: str, connect_timeout: float = 3.0) -> Redis:
    """A short-lived client (the CLI's commands, the demo's seeding)."""
    topology = parse_url(url)
    if topology.kind == "cluster":
        return _cluster(topology, 16, Retry(ExponentialBackoff(cap=1.0, base=0.1), 8))
    if topology.kind == "sentinel":
        return _sentinel_master(topology, 16, Retry(NoBackoff(), 0), [])
    return Redis.from_url(url, decode_responses=True, socket_connect_timeout=connect_timeout)


def node_client(cluster: Redis, host: str, port: int) -> Redis:
    """A plain client of one node of `cluster` (its credentials and TLS), for what must run
    on one connection of one node: a shard's subscriptions, a write followed by WAIT."""
    kwargs = cast(RedisCluster, cluster).nodes_manager.connection_kwargs
    keep = {k: v for k, v in kwargs.items()
            if k in ("username", "password", "socket_connect_timeout", "socket_timeout",
                     "ssl_ca_certs", "ssl_cert_reqs", "ssl_certfile", "ssl_keyfile",
                     "ssl_check_hostname")}  # fmt: skip
    if kwargs.get("connection_class") is not None and "SSL" in kwargs["connection_class"].__name__:
        keep["ssl"] = True
    return Redis(host=host, port=port, decode_responses=True, retry=Retry(NoBackoff(), 0), **keep)


def _cluster(topology: Topology, connections: int, retry: Retry) -> Redis:
    client = ShardedCluster(
        startup_nodes=[ClusterNode(host, port) for host, port in topology.nodes],
        username=topology.username, password=topology.password, ssl=topology.tls,
        decode_responses=True, socket_connect_timeout=2, socket_timeout=5,
        # Per node: room for the commands, the pipelines and the WATCHes in flight (above).
        max_connections=connections * 4, in_flight=connections, retry=retry,
        require_full_coverage=False,  # a shard in failover must not stop the others
    )  # fmt: skip
    return cast(Redis, client)


def _sentinel_master(
    topology: Topology, connections: int, retry: Retry, retry_on: list[type[Exception]]
) -> Redis:
    sentinel_kwargs: dict[str, Any] = {"socket_connect_timeout": 2, "socket_timeout": 2}
    if topology.sentinel_password:
        sentinel_kwargs["password"] = topology.sentinel_password
    sentinel = Sentinel(list(topology.nodes), sentinel_kwargs=sentinel_kwargs)  # type: ignore[no-untyped-call]
    client = sentinel.master_for(
        topology.master, redis_class=_SentinelRedis, connection_pool_class=_BlockingSentinelPool,
        username=topology.username, password=topology.password, ssl=topology.tls,
        db=topology.db, decode_responses=True, max_connections=connections,
        socket_connect_timeout=2, socket_timeout=5, health_check_interval=10,
        retry=retry, retry_on_error=retry_on,
    )  # fmt: skip
    return cast(Redis, client)


class _SentinelRedis(Redis):
    """The client of a Sentinel-found master; closing it closes the Sentinels' clients too."""

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await super().aclose(close_connection_pool)
        pool = self.connection_pool
        if isinstance(pool, SentinelConnectionPool):
            for sentinel in pool.sentinel_manager.sentinels:
                await sentinel.aclose()


class _BlockingSentinelPool(SentinelConnectionPool):
    """A Sentinel pool whose callers wait for a free connection instead of failing at once."""

    def __init__(self, service_name: str, sentinel_manager: Sentinel, **kwargs: Any) -> None:
        super().__init__(service_name, sentinel_manager, **kwargs)  # type: ignore[no-untyped-call]
        self._free_slots = asyncio.Semaphore(int(kwargs.get("max_connections") or 64))

    async def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        await self._free_slots.acquire()
        try:
            return await super().get_connection(*args, **kwargs)  # type: ignore[no-untyped-call]
        except BaseException:
            self._free_slots.release()
            raise

    async def release(self, connection: Any) -> None:
        try:
            await super().release(connection)
        finally:
            self._free_slots.release()
