"""Redis's own cost: CPU seconds (INFO cpu) and per-command time (INFO commandstats)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis


@dataclass
class RedisSnapshot:
    cpu_seconds: float
    commands: dict[str, tuple[int, float]] = field(default_factory=dict)  # name -> calls, usec


async def snapshot(redis: Redis) -> RedisSnapshot:
    cpu = await redis.info("cpu")
    stats = await redis.info("commandstats")
    commands = {
        name.removeprefix("cmdstat_"): (int(v["calls"]), float(v["usec"]))
        for name, v in stats.items()
        if isinstance(v, dict)
    }
    return RedisSnapshot(float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"]), commands)


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
    return {"cpu_seconds": round(after.cpu_seconds - before.cpu_seconds, 3), "commands": rows[:top]}
