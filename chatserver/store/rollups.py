"""Report rollups in Redis: what the scripts need to count facts where the state changes (keys
and arguments), and reading the counts back for a range of hours (core/kpis.py defines them).

The counting itself happens inside the routing scripts (enqueue, assign, take, transfer,
leave, finish, requeue_agent, first_reply) and in `Conversations.rate_once`; this module only
reads, plus the few writes that are not state changes (targets, the demo's made-up history).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from typing import Any

from redis.asyncio import Redis

from chatserver.core.kpis import DAY_MS, Cell, Targets, count_field, parse_day
from chatserver.store import keys

DEFAULT_KEEP_DAYS = 731.0
DEFAULT_REOPEN_DAYS = 3.0


@dataclass(frozen=True, slots=True)
class Counting:
    """How the scripts count: how long a day's hash is kept after its day, and the window in
    which a customer's new conversation reopens their last resolved one."""

    keep_ms: int = int(DEFAULT_KEEP_DAYS * DAY_MS)
    reopen_ms: int = int(DEFAULT_REOPEN_DAYS * DAY_MS)


@dataclass(frozen=True, slots=True)
class Session:
    """A stretch of time an agent was online and connected (`end` is now for an open one)."""

    agent: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class LiveState:
    """What the metrics gauges show of a site now: per department (queue length, ms the head
    was created or 0), assigned conversations, left messages waiting, agents online."""

    queues: dict[str, tuple[int, int]]
    assigned: int
    left: int
    online: int


class Rollups:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def live_state(self, site: str, departments: Iterable[str]) -> LiveState:
        """The site's queues, assigned and left conversations and agents online, read in one
        round trip (then the heads' creation times in a second)."""
        depts = list(departments)
        async with self._redis.pipeline(transaction=False) as pipe:
            for dept in depts:
                pipe.zcard(keys.queue(site, dept))
                pipe.zrange(keys.queue(site, dept), 0, 0)
                pipe.zcard(keys.inbox(site, dept))
            pipe.zcard(keys.agent_convs(site))
            pipe.hlen(keys.agent_online(site))
            found = await pipe.execute()
        heads = [found[3 * i + 1][0] if found[3 * i + 1] else None for i in range(len(depts))]
        async with self._redis.pipeline(transaction=False) as pipe:
            for head in heads:
                pipe.hget(keys.conversation(site, head or "-"), "created_ms")
            created = await pipe.execute()
        queues = {
            dept: (int(found[3 * i]), int(created[i] or 0) if heads[i] else 0)
            for i, dept in enumerate(depts)
        }
        left = sum(int(found[3 * i + 2]) for i in range(len(depts)))
        return LiveState(queues, int(found[-2]), left, int(found[-1]))

    async def cells(self, site: str, start_ms: int, end_ms: int) -> list[Cell]:
        """Every counted cell of the hours in [start_ms, end_ms), read one day hash at a time
        in one round trip."""
        days = range(start_ms // DAY_MS, (max(end_ms, start_ms + 1) - 1) // DAY_MS + 1)
        async with self._redis.pipeline(transaction=False) as pipe:
            for day in days:
                pipe.hgetall(keys.kpi_day(site, day * DAY_MS))
            hashes = await pipe.execute()
        found = []
        for day, raw in zip(days, hashes, strict=True):
            for cell in parse_day(day * DAY_MS, raw):
                if start_ms <= cell.hour_ms < end_ms:
                    found.append(cell)
        return found

    async def sessions(self, site: str, start_ms: int, end_ms: int, now_ms: int) -> list[Session]:
        """The agents' stretches online that overlap [start_ms, end_ms), the open ones
        running until `now_ms`."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zrangebyscore(keys.agent_sessions(site), start_ms, "+inf")
            pipe.hgetall(keys.agent_online(site))
            closed, open_ = await pipe.execute()
        found = []
        for member in closed:
            agent, start, end = str(member).rsplit("|", 2)
            if int(start) < end_ms:
                found.append(Session(agent, int(start), int(end)))
        for agent, since in open_.items():
            if int(since) < min(end_ms, now_ms):
                found.append(Session(str(agent), int(since), now_ms))
        return found

    async def prune_sessions(self, site: str, before_ms: int) -> int:
        """Forget stretches online that ended before `before_ms` (past the rollups' keep)."""
        return int(await self._redis.zremrangebyscore(keys.agent_sessions(site), "-inf", before_ms))

    # --- targets -------------------------------------------------------------------------------
    async def targets(self, site: str) -> Targets:
        """The site's targets (the defaults for any not set)."""
        raw = await self._redis.hgetall(keys.kpi_targets(site))
        values: dict[str, Any] = {}
        for f in fields(Targets):
            if f.name in raw:
                values[f.name] = raw[f.name] if f.type == "str" else int(raw[f.name])
        return Targets(**values)

    async def save_targets(self, site: str, targets: Targets) -> None:
        await self._redis.hset(keys.kpi_targets(site), mapping=asdict(targets))

    # --- the demo's made-up history --------------------------------------------------------------
    async def add_counts(
        self, site: str, counts: Iterable[tuple[str, int, int]], keep_ms: int
    ) -> None:
        """Add (field, day ms, n) counts to the day hashes, as the scripts would have: for
        `chatserver demo`'s history only (real counts happen where the state changes)."""
        days: set[int] = set()
        async with self._redis.pipeline(transaction=False) as pipe:
            for name, day_ms, n in counts:
                pipe.hincrby(keys.kpi_day(site, day_ms), name, n)
                days.add(day_ms // DAY_MS)
            for day in days:
                pipe.pexpireat(keys.kpi_day(site, day * DAY_MS), (day + 1) * DAY_MS + keep_ms)
            await pipe.execute()

    async def add_sessions(self, site: str, sessions: Iterable[Session]) -> None:
        members = {f"{s.agent}|{s.start}|{s.end}": s.end for s in sessions}
        if members:
            await self._redis.zadd(keys.agent_sessions(site), members)

    async def mark_demo(self, site: str) -> None:
        await self._redis.set(keys.kpi_demo(site), "1")

    async def is_demo(self, site: str) -> bool:
        return bool(await self._redis.exists(keys.kpi_demo(site)))


def rating_counts(fields_: dict[str, str | None], rating: str) -> list[tuple[str, int]]:
    """The (field, day ms) counts of a rating, from the conversation's fields: in the hour the
    chat closed, for its department and last agent. None for a chat no agent served (it is
    not in CSAT: docs/reports.md)."""
    closed, assigned = fields_.get("closed_ms"), fields_.get("assigned_ms")
    if not closed or not assigned:
        return []
    at, dept, agent = int(closed), fields_.get("department") or "", fields_.get("agent") or ""
    found = [(count_field(at, rating, dept), at)]
    if agent:
        found.append((count_field(at, rating, dept, agent), at))
    return found
