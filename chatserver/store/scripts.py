"""The Lua scripts: read once from `lua/`, registered with Redis, called by name.

Site scripts get `lua/_lib.lua` prepended (shared helpers and the names of the 17 site keys).
redis-py's Script object re-loads a script after a Redis restart (NOSCRIPT), so a restarted
Redis needs nothing from us.

Every script touches one hash slot (its KEYS share a hash tag), so each runs on Redis Cluster;
there the scripts' PUBLISH becomes SPUBLISH (sharded pub/sub, the channel is one of KEYS).

With `replicas` > 0, the scripts whose result a client is told (a message or note stored, a
conversation queued, assigned, taken, transferred or closed) are followed by `WAIT replicas
wait_ms` on the same connection: the call returns only once that many replicas have the
write, else it raises `NotReplicated` (the client is told `unavailable` and resends; the
scripts are safe to repeat). docs/scaling.md has the cost and the loss window without it.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Sequence
from importlib import resources
from typing import Any, cast

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.commands.core import AsyncScript
from redis.exceptions import (
    AskError,
    ClusterDownError,
    ConnectionError,
    MovedError,
    NoScriptError,
    RedisClusterException,
    TimeoutError,
    TryAgainError,
)

from chatserver.store import clients
from chatserver.store.batch import TickBatch
from chatserver.store.lane import Lane

_SITE_SCRIPTS = (
    "enqueue",
    "assign",
    "finish",
    "transfer",
    "requeue_agent",
    "agent_set",
    "presence",
    "sweep",
    "leave",
    "take",
    "first_reply",
)
_PLAIN_SCRIPTS = ("append", "login_attempt", "mail_enqueue", "mail_settle", "mail_promote",
                  "mail_replies_due", "mail_reply")  # fmt: skip
# The writes a client is told about: with replicas > 0 they are acked once replicated.
WAITED = frozenset({"append", "enqueue", "assign", "take", "transfer", "finish"})
# Called by many sockets at once (every message): the calls of one event-loop tick share one
# round trip (store/batch.py), unless each must be followed by its own WAIT or on Cluster.
BATCHED = frozenset({"append"})
Call = tuple[list[str], list[Any]]  # KEYS, ARGV
# What a failover or a slot move looks like to a client of one node: re-read the slot map.
_TOPOLOGY_CHANGES = (ConnectionError, TimeoutError, MovedError, AskError, ClusterDownError,
                     TryAgainError)  # fmt: skip
_PUBLISH = re.compile(r"""redis\.call\(\s*(['"])PUBLISH\1""")


class NotReplicated(clients.StorageError):
    """The write was made on the master but not confirmed by enough replicas in time."""


def _source(name: str) -> str:
    return (resources.files("chatserver.store") / "lua" / f"{name}.lua").read_text("utf-8")


def sharded(source: str) -> str:
    """A script's source for Redis Cluster: its PUBLISH calls made SPUBLISH."""
    return _PUBLISH.sub(lambda m: f"redis.call({m.group(1)}SPUBLISH{m.group(1)}", source)


class Scripts:
    """The registered scripts of one Redis client, as attributes named after their files."""

    def __init__(
        self,
        redis: Redis,
        timed: Callable[[str, float], None] | None = None,
        replicas: int = 0,
        wait_ms: int = 1000,
        lane: Lane | None = None,
    ) -> None:
        """`timed(name, seconds)`, if given, is told how long each call took (metrics).
        `replicas`: replicas that must have each WAITED write before it returns (0: none).
        `lane` (store/lane.py, owned from now on): the connection calls go through, those that
        wait for replicas excepted; the calls of one loop tick share its write."""
        self._redis = redis
        self._lane = lane
        self._timed = timed
        self._replicas = replicas
        self._wait_ms = wait_ms
        self._cluster = clients.is_cluster(redis)
        self._nodes: dict[str, Redis] = {}
        lib = _source("_lib")
        self._scripts: dict[str, AsyncScript] = {}
        for name in _SITE_SCRIPTS + _PLAIN_SCRIPTS:
            source = (lib + "\n" if name in _SITE_SCRIPTS else "") + _source(name)
            if self._cluster:
                source = sharded(source)
            self._scripts[name] = redis.register_script(source)
        self._batches: dict[str, TickBatch[Call, Any]] = {}
        if not self._cluster and lane is None:
            for name in BATCHED - (WAITED if replicas else frozenset()):
                self._batches[name] = TickBatch(functools.partial(self._many, name))

    async def call(self, name: str, keys: list[str], args: list[Any]) -> Any:
        """Run script `name` with KEYS `keys` and ARGV `args`."""
        began = time.perf_counter()
        try:
            if self._replicas and name in WAITED:
                return await self._call_waited(name, keys, args)
            if self._lane is not None:
                return await self._on_lane(self._lane, name, keys, args)
            batch = self._batches.get(name)
            if batch is not None:
                return await batch((keys, args))
            return await self._scripts[name](keys=keys, args=args)
        finally:
            if self._timed is not None:
                self._timed(name, time.perf_counter() - began)

    @property
    def reads(self) -> Redis | Lane:
        """The client for the hot path's reads: the lane if there is one, else the client."""
        return self._lane or self._redis

    def batch(self, name: str) -> TickBatch[Call, Any] | None:
        """The batch script `name`'s calls go through (None: each call its own round trip)."""
        return self._batches.get(name)

    async def _on_lane(self, lane: Lane, name: str, keys: list[str], args: list[Any]) -> Any:
        script = self._scripts[name]
        for attempt in (1, 2):
            try:
                return await lane.execute("EVALSHA", script.sha, len(keys), *keys, *args)
            except NoScriptError:  # a restarted Redis: load it, once
                if attempt == 2:
                    raise
                await lane.execute("SCRIPT", "LOAD", script.script)
        raise AssertionError("unreachable")

    async def _many(self, name: str, calls: Sequence[Call]) -> list[Any]:
        """Script `name` once per call, in one pipeline (one round trip); each result, or the
        error of that call, in order. A call refused NOSCRIPT (a restarted Redis) did not run:
        the script is loaded and those calls made again."""
        script = self._scripts[name]
        results: list[Any] = [None] * len(calls)
        todo = list(range(len(calls)))
        for attempt in (1, 2):
            async with self._redis.pipeline(transaction=False) as pipe:
                for i in todo:
                    keys, args = calls[i]
                    pipe.evalsha(script.sha, len(keys), *keys, *args)
                replies = await pipe.execute(raise_on_error=False)
            for i, reply in zip(todo, replies, strict=True):
                results[i] = reply
            todo = [i for i, reply in zip(todo, replies, strict=True)
                    if isinstance(reply, NoScriptError)]  # fmt: skip
            if not todo or attempt == 2:
                break
            await self._redis.script_load(script.script)
        return results

    async def _call_waited(self, name: str, keys: list[str], args: list[Any]) -> Any:
        if not self._cluster:
            return await self._waited_on(self._redis, name, keys, args)
        # WAIT counts the writes of its own connection: both go to the slot's master on one
        # connection. A failover or a slot move meanwhile: re-read the slot map, once.
        cluster = cast(RedisCluster, self._redis)
        for attempt in (1, 2):
            try:
                node = cluster.get_node_from_key(keys[0])
            except RedisClusterException as exc:  # the slot's master is failing over
                raise clients.ClusterUnavailable(str(exc)) from exc
            assert node is not None
            client = self._nodes.get(node.name)
            if client is None:
                client = self._nodes[node.name] = clients.node_client(
                    self._redis, node.host, node.port
                )
            try:
                return await self._waited_on(client, name, keys, args)
            except _TOPOLOGY_CHANGES:
                if attempt == 2:
                    raise
                await cluster.nodes_manager.initialize()
        raise AssertionError("unreachable")

    async def _waited_on(self, redis: Redis, name: str, keys: list[str], args: list[Any]) -> Any:
        """EVALSHA and WAIT in one round trip of one connection (redis-py's own script
        handling in pipelines would add a SCRIPT EXISTS round trip to every call)."""
        script = self._scripts[name]
        for attempt in (1, 2):
            async with redis.pipeline(transaction=False) as pipe:
                pipe.evalsha(script.sha, len(keys), *keys, *args)
                pipe.execute_command("WAIT", self._replicas, self._wait_ms)
                try:
                    result, replicated = await pipe.execute()
                    break
                except NoScriptError:  # a restarted or new master: load it, once
                    if attempt == 2:
                        raise
                    await redis.script_load(script.script)
        if int(replicated) < self._replicas:
            raise NotReplicated(
                f"{name}: {replicated} of {self._replicas} replicas confirmed in {self._wait_ms} ms"
            )
        return result

    async def aclose(self) -> None:
        """Close the lane and the per-node clients of replicated writes (Cluster only)."""
        if self._lane is not None:
            await self._lane.aclose()
        for client in self._nodes.values():
            await client.aclose()
        self._nodes.clear()
