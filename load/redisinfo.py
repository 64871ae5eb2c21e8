"""Redis's own cost: CPU seconds (INFO cpu) and per-command time (INFO commandstats).

On a Cluster, `cpu_seconds` and the commands are summed over the masters (what serves the
clients, comparable with one Redis); the replicas' CPU (replication) is `replica_cpu_seconds`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis, RedisCluster


@dataclass
class RedisSnapshot:
    cpu_seconds: float
    commands: dict[str, tuple[int, float]] = field(default_factory=dict)  # name -> calls, usec
    replica_cpu_seconds: float | None = None  # None: not a Cluster


async def snapshot(redis: Redis) -> RedisSnapshot:
    """This Redis's figures; on a Cluster, the sum over its masters (and its replicas' CPU)."""
    replica_cpu: float | None = None
    if isinstance(redis, RedisCluster):
        await redis.initialize()  # no-op once the client has its slot map
        masters, replicas = redis.get_primaries(), redis.get_replicas()
        cpus = [await redis.info("cpu", target_nodes=node) for node in masters]
        stats = [await redis.info("commandstats", target_nodes=node) for node in masters]
        replica_cpu = _cpu([await redis.info("cpu", target_nodes=node) for node in replicas])
    else:
        cpus, stats = [await redis.info("cpu")], [await redis.info("commandstats")]
    commands: dict[str, tuple[int, float]] = {}
    for node in stats:
        for name, v in node.items():
            if isinstance(v, dict):
                calls, usec = commands.get(name.removeprefix("cmdstat_"), (0, 0.0))
                commands[name.removeprefix("cmdstat_")] = (calls + int(v["calls"]),
                                                           usec + float(v["usec"]))  # fmt: skip
    return RedisSnapshot(_cpu(cpus), commands, replica_cpu)


def _cpu(infos: list[dict[str, Any]]) -> float:
    return sum(float(c["used_cpu_user"]) + float(c["used_cpu_sys"]) for c in infos)


def window(before: RedisSnapshot, after: RedisSnapshot, top: int = 8) -> dict[str, Any]:
    """Redis CPU over the window and the `top` commands by time spent, with their cost."""
    rows = []
    for name, (calls, usec) in after.commands.items():
        calls0, usec0 = before.commands.get(name, (0, 0.0))
        if calls > calls0:
            spent = usec - usec0
            rows.append(
                {
                    "command": name,
                    "calls": calls - calls0,
                    "usec_per_call": round(spent / (calls - calls0), 2),
                    "cpu_seconds": round(spent / 1e6, 3),
                }
            )
    rows.sort(key=lambda r: -float(str(r["cpu_seconds"])))
    cost: dict[str, Any] = {"cpu_seconds": round(after.cpu_seconds - before.cpu_seconds, 3)}
    if after.replica_cpu_seconds is not None and before.replica_cpu_seconds is not None:
        cost["replica_cpu_seconds"] = round(
            after.replica_cpu_seconds - before.replica_cpu_seconds, 3
        )
    return {**cost, "commands": rows[:top]}
