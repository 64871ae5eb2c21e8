"""Limits on what anonymous shoppers may create: new conversations per visitor and per client
address, counted per clock hour (fixed windows, so one INCR each)."""

from __future__ import annotations

from redis.asyncio import Redis

from chatserver.store import keys

HOUR_MS = 3600 * 1000


async def count_start(
    redis: Redis, site: str, visitor: str, address: str, now_ms: int,
    per_visitor: int, per_address: int,
) -> str:  # fmt: skip
    """Count a new conversation; '' if within both limits, else 'visitor' or 'address'.

    Counted before the conversation exists (so parallel starts cannot all slip through); a
    refused start still counts: whoever keeps trying stays refused until the hour turns."""
    hour = now_ms // HOUR_MS
    visitor_key, address_key = (
        keys.visitor_starts(site, visitor, hour),
        keys.address_starts(address, hour),
    )
    async with redis.pipeline(transaction=False) as pipe:
        pipe.incr(visitor_key)
        pipe.pexpire(visitor_key, HOUR_MS)
        pipe.incr(address_key)
        pipe.pexpire(address_key, HOUR_MS)
        by_visitor, _, by_address, _ = await pipe.execute()
    if int(by_visitor) > per_visitor:
        return "visitor"
    if int(by_address) > per_address:
        return "address"
    return ""


def minutes_left(now_ms: int) -> int:
    """Whole minutes until the current hour's counts start over (at least 1)."""
    return max(1, -(-(HOUR_MS - now_ms % HOUR_MS) // 60_000))
