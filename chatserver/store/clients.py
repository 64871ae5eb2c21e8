"""The Redis clients of a process, made in one place, and the names the rest of the package
uses for Redis: `Redis` (the client type, passed around as a handle) and `StorageError`
(what any storage call may raise). Only `store/` imports redis itself."""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.exceptions import ConnectionError, RedisError, TimeoutError

StorageError = RedisError
__all__ = ["Redis", "StorageError", "bus_client", "command_client", "plain_client"]


def command_client(url: str, connections: int) -> Redis:
    """The client every command of a server process goes through.

    A bounded pool that makes callers wait for a free connection (the default pool fails at
    once when a burst of sockets all need Redis together). Retries cover pooled connections
    left stale by a Redis restart; every write is safe to repeat (messages are deduplicated,
    scripts check the state they change)."""
    pool = BlockingConnectionPool.from_url(
        url, max_connections=connections, timeout=10, decode_responses=True,
        health_check_interval=10, socket_connect_timeout=2, socket_timeout=5,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 3),
        retry_on_error=[ConnectionError, TimeoutError],
    )  # fmt: skip
    return Redis(connection_pool=pool)


def bus_client(url: str) -> Redis:
    """The event bus's own client. No retries: a reconnect hidden inside redis-py would skip
    what was published meanwhile; the bus must see every drop to catch its sockets up."""
    return Redis.from_url(
        url, decode_responses=True, socket_connect_timeout=2, retry=Retry(NoBackoff(), 0)
    )


def plain_client(url: str, connect_timeout: float = 3.0) -> Redis:
    """A short-lived client (the CLI's commands, the demo's seeding)."""
    return Redis.from_url(url, decode_responses=True, socket_connect_timeout=connect_timeout)
