"""Real Redis topologies for the tests: a Redis Cluster (3 masters, 3 replicas) and a master
with a replica watched by three Sentinels, all Debian's redis-server >= 7 on free ports of
127.0.0.1. Nodes can be killed (SIGKILL) and started again (they rejoin as replicas).

The nodes and the cluster are load/topologies.py's (the load generator starts the same
cluster); here they get the suite's scaled timeouts."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from pathlib import Path

from load import topologies
from load.topologies import RedisNode, redis_major
from tests.conftest import scaled

__all__ = ["ClusterUnderTest", "RedisNode", "SentinelUnderTest", "redis_major"]


@dataclass
class ClusterUnderTest(topologies.Cluster):
    """A 3-master / 3-replica Redis Cluster (node timeout 1 s: failovers take a few seconds);
    `create(workdir, start_timeout=..., healthy_timeout=...)` with the suite's scaled ones."""

    async def wait_promoted(self, dead: RedisNode, key: str, timeout: float = 20.0) -> RedisNode:
        """The replica that took over `key`'s slot from `dead`."""
        async with asyncio.timeout(scaled(timeout)):
            while True:
                with contextlib.suppress(Exception):
                    node = await self.master_of(key)
                    if node is not dead:
                        return node
                await asyncio.sleep(0.1)


@dataclass
class SentinelUnderTest:
    """A master, one replica, three Sentinels (quorum 2, down after 3 s) naming it 'chat'."""

    master: RedisNode
    replica: RedisNode
    sentinels: list[RedisNode]
    name: str = "chat"

    @property
    def url(self) -> str:
        return f"redis+sentinel://{','.join(s.address for s in self.sentinels)}/{self.name}"

    @classmethod
    async def create(cls, workdir: Path) -> SentinelUnderTest:
        wait = scaled(topologies.START_TIMEOUT)
        master = RedisNode(workdir / "master", start_timeout=wait)
        await master.start()
        replica = RedisNode(workdir / "replica", ["--replicaof", "127.0.0.1", str(master.port)],
                            start_timeout=wait)  # fmt: skip
        await replica.start()
        sentinels = []
        for i in range(3):
            conf = [f"sentinel monitor chat 127.0.0.1 {master.port} 2",
                    "sentinel down-after-milliseconds chat 3000",
                    "sentinel failover-timeout chat 5000",
                    "sentinel parallel-syncs chat 1"]  # fmt: skip
            sentinels.append(RedisNode(workdir / f"sentinel{i}", conf, sentinel=True,
                                       start_timeout=wait))  # fmt: skip
        await asyncio.gather(*(s.start() for s in sentinels))
        topology = cls(master, replica, sentinels)
        await topology.wait_master(master)
        return topology

    async def current_master(self) -> int:
        """The port the Sentinels name as the master now."""
        client = self.sentinels[0].client()
        try:
            _, port = await client.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.name)
            return int(port)
        finally:
            await client.aclose()

    async def wait_master(self, node: RedisNode, timeout: float = 20.0) -> None:
        """Until every Sentinel names `node` master and it has a synced replica."""
        async with asyncio.timeout(scaled(timeout)):
            while True:
                with contextlib.suppress(Exception):
                    if await self._all_agree(node) and await self._replicated(node):
                        return
                await asyncio.sleep(0.1)

    async def _all_agree(self, node: RedisNode) -> bool:
        for sentinel in self.sentinels:
            client = sentinel.client()
            try:
                _, port = await client.execute_command(
                    "SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.name
                )
                if int(port) != node.port:
                    return False
                replicas = await client.execute_command("SENTINEL", "REPLICAS", self.name)
                if not replicas:
                    return False
            finally:
                await client.aclose()
        return True

    async def _replicated(self, node: RedisNode) -> bool:
        """`node` is master and its replica is in sync (not still loading its first copy)."""
        client = node.client()
        try:
            info = await client.info("replication")
            replica = info.get("slave0")
            return (
                info["role"] == "master"
                and isinstance(replica, dict)
                and (replica.get("state") == "online")
            )
        finally:
            await client.aclose()

    async def stop(self) -> None:
        for node in [*self.sentinels, self.master, self.replica]:
            await node.kill()
