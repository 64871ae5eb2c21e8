"""Conversations and their queues: create, assign, close, transfer, hand back, abandon.

Every state change is one Lua script; the loops here only choose which script to run next
(e.g. keep assigning the head of a queue while agents have room).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import cast

import orjson
from redis.asyncio import Redis
from redis.exceptions import WatchError

from chatserver.core import site_events
from chatserver.core.kpis import DAY_MS, RESOLVED_OUTCOMES
from chatserver.core.model import Conversation, ConversationState, check_priority
from chatserver.core.site_events import Kind, SiteEvent
from chatserver.store import keys
from chatserver.store.conversation_index import ConversationIndex
from chatserver.store.rollups import Counting, rating_counts
from chatserver.store.scripts import Scripts

_RETRIES = 20


@dataclass(frozen=True, slots=True)
class Assignment:
    conversation_id: str
    agent: str
    department: str


@dataclass(frozen=True, slots=True)
class QueueSnapshot:
    """What a department's wait estimate needs: its queue, and its agents' slots."""

    queued: tuple[str, ...]
    free_slots: int
    total_slots: int
    avg_handle_seconds: float | None


class Conflict(Exception):
    """A conversation changed under us more times than we retry: the caller reports it."""


class Conversations:
    def __init__(self, redis: Redis, scripts: Scripts, counting: Counting | None = None) -> None:
        self._redis = redis
        self._scripts = scripts
        self._counting = counting or Counting()

    async def create(self, conv: Conversation) -> bool:
        """Create a queued conversation (once per id). Returns False if it existed already."""
        check_priority(conv.priority)
        fields: list[str | int] = [
            "id", conv.id,
            "site", conv.site,
            "department", conv.department,
            "visitor", conv.visitor,
            "customer", conv.customer,
            "customer_key", conv.customer or f"v:{conv.visitor}",
        ]  # fmt: skip
        for name, value in conv.extra.items():
            fields += [f"x:{name}", value]
        # The customer's last resolved chat, if within the reopen window: this start reopens it.
        resolved_key = keys.kpi_resolved(conv.site, conv.customer or f"v:{conv.visitor}")
        resolved = await self._redis.get(resolved_key) or ""
        closed_ms = int(resolved.split("|", 1)[0]) if resolved else conv.created_ms
        keys_ = keys.site_keys(conv.site) + [
            keys.queue(conv.site, conv.department),
            keys.conversation(conv.site, conv.id),
            keys.visitor_convs(conv.site, conv.visitor),
            keys.kpi_day(conv.site, conv.created_ms),
            resolved_key,
            keys.kpi_day(conv.site, closed_ms),
        ]
        args = [conv.id, conv.created_ms, conv.priority, self._counting.keep_ms, resolved,
                self._counting.reopen_ms, *fields]  # fmt: skip
        created = bool(await self._scripts.call("enqueue", keys_, args))
        if created:
            await ConversationIndex(self._redis).remember(conv.site, conv.id, conv.created_ms)
        return created

    async def get(self, site: str, conversation_id: str) -> Conversation | None:
        raw = await self._scripts.reads.hgetall(keys.conversation(site, conversation_id))
        return _from_hash(raw) if raw else None

    async def of_visitor(self, site: str, visitor: str, limit: int = 20) -> list[Conversation]:
        """The visitor's conversations, newest first."""
        reads = self._scripts.reads
        ids = await reads.zrevrange(keys.visitor_convs(site, visitor), 0, limit - 1)
        found = await asyncio.gather(*(self.get(site, i) for i in ids))  # one round trip
        return [c for c in found if c is not None]

    async def serve(self, site: str, department: str, now_ms: int) -> list[Assignment]:
        """Assign the head of the department's queue while an agent has room."""
        done: list[Assignment] = []
        queue = keys.queue(site, department)
        while True:
            head = await self._redis.zrange(queue, 0, 0)
            if not head:
                return done
            conv = str(head[0])
            result = await self._scripts.call(
                "assign",
                keys.site_keys(site)
                + [queue, keys.conversation(site, conv), keys.kpi_day(site, now_ms)],
                [conv, now_ms, self._counting.keep_ms],
            )
            if result[0] == "none":
                return done
            if result[0] == "assigned":
                done.append(Assignment(conv, str(result[1]), department))

    async def finish(
        self,
        site: str,
        conversation_id: str,
        now_ms: int,
        outcome: str = "",
        state: ConversationState = ConversationState.CLOSED,
    ) -> str | None:
        """Close (or abandon, if still queued) a conversation. Returns the agent who had it
        ('' if it was queued), or None if it was not open."""
        only_queued = "1" if state is ConversationState.ABANDONED else "0"
        resolved = "1" if outcome in RESOLVED_OUTCOMES else "0"
        conv_key = keys.conversation(site, conversation_id)
        for _ in range(_RETRIES):
            dept, customer = await self._redis.hmget(conv_key, "department", "customer_key")
            if dept is None:
                return None
            result = await self._scripts.call(
                "finish",
                keys.site_keys(site) + [
                    keys.queue(site, dept), conv_key, keys.inbox(site, dept),
                    keys.kpi_day(site, now_ms), keys.kpi_resolved(site, customer or "-"),
                ],
                [conversation_id, now_ms, state.value, outcome, dept, only_queued,
                 self._counting.keep_ms, resolved, self._counting.reopen_ms],
            )  # fmt: skip
            if result[0] == "done":
                return str(result[1])
            if result[0] == "not_open":
                return None
        raise Conflict(conversation_id)

    async def transfer(
        self,
        site: str,
        conversation_id: str,
        now_ms: int,
        *,
        to_agent: str = "",
        to_department: str = "",
        by: str = "",
    ) -> tuple[str, str]:
        """Move an assigned conversation to `to_agent` (who must have room) or to the front of
        `to_department`'s queue. Returns (status, previous agent): status is 'moved',
        'no_room', 'not_assigned', 'not_yours' or 'same_agent'."""
        if bool(to_agent) == bool(to_department):
            raise ValueError("transfer to an agent or to a department, not both")
        dept = to_department or "-"
        result = await self._scripts.call(
            "transfer",
            keys.site_keys(site) + [
                keys.queue(site, dept), keys.conversation(site, conversation_id),
                keys.kpi_day(site, now_ms),
            ],
            [conversation_id, now_ms, to_agent, to_department, by, self._counting.keep_ms],
        )  # fmt: skip
        return str(result[0]), str(result[1]) if len(result) > 1 else ""

    # --- the offline inbox: messages left for the agents -----------------------------------
    async def leave(self, site: str, conversation_id: str, now_ms: int) -> bool:
        """The shopper left a message: move the queued conversation out of its department's
        live queue into the department's inbox (state 'left'). False if it is not queued
        (assigned meanwhile, left already, or ended)."""
        conv_key = keys.conversation(site, conversation_id)
        for _ in range(_RETRIES):
            dept = await self._redis.hget(conv_key, "department")
            if dept is None:
                return False
            result = await self._scripts.call(
                "leave",
                keys.site_keys(site) + [
                    keys.queue(site, dept), keys.inbox(site, dept), conv_key,
                    keys.kpi_day(site, now_ms),
                ],
                [conversation_id, now_ms, dept, self._counting.keep_ms],
            )  # fmt: skip
            if result[0] != "retry":
                return bool(result[0] == "left")
        raise Conflict(conversation_id)

    async def take(
        self, site: str, conversation_id: str, login: str, now_ms: int, any_department: bool
    ) -> str:
        """Give a conversation of the inbox to agent `login` if they are online or away,
        connected and below capacity (of its department, unless `any_department`). Returns
        'taken', 'not_in_inbox', 'wrong_department', 'unavailable' or 'no_room'."""
        conv_key = keys.conversation(site, conversation_id)
        # A conversation changes department only while assigned: the one read here is the
        # one of its inbox, or it is in no inbox (and the script says so).
        dept = await self._redis.hget(conv_key, "department")
        if dept is None:
            return "not_in_inbox"
        result = await self._scripts.call(
            "take",
            keys.site_keys(site) + [keys.inbox(site, dept), conv_key, keys.kpi_day(site, now_ms)],
            [conversation_id, now_ms, login, "1" if any_department else "0",
             self._counting.keep_ms],
        )  # fmt: skip
        return str(result[0])

    async def inbox(self, site: str, department: str, limit: int) -> list[tuple[str, int]]:
        """The department's inbox, oldest first: (conversation id, ms it was left)."""
        rows = await self._redis.zrange(keys.inbox(site, department), 0, limit - 1, withscores=True)
        return [(str(conv), int(score)) for conv, score in cast(list[tuple[str, float]], rows)]

    async def requeue_agent(self, site: str, login: str, now_ms: int, only_expired: bool) -> int:
        """Hand the agent's chats back to the front of their queues and mark them offline
        (with `only_expired`, only if their grace period is over). Returns how many."""
        for _ in range(_RETRIES):
            members = await self._redis.zrangebylex(
                keys.agent_convs(site), f"[{login}\t", f"({login}\t\xff"
            )
            convs = [m.split("\t", 1)[1] for m in members]
            depts = [
                await self._redis.hget(keys.conversation(site, c), "department") for c in convs
            ]
            keys_ = keys.site_keys(site)
            for conv, dept in zip(convs, depts, strict=True):
                keys_ += [keys.queue(site, dept or "-"), keys.conversation(site, conv)]
            keys_.append(keys.kpi_day(site, now_ms))
            args = [login, now_ms, len(convs), "1" if only_expired else "0", *convs]
            args += [d or "" for d in depts]
            args.append(self._counting.keep_ms)
            result = await self._scripts.call("requeue_agent", keys_, args)
            if result[0] == "requeued":
                return int(result[1])
            if result[0] == "skip":
                return 0
        raise Conflict(login)

    async def sweep(self, site: str, now_ms: int, grace_ms: int) -> tuple[list[str], list[str]]:
        """Expire stale connections; returns (agents whose grace is over, conversations whose
        shopper left the queue too long ago)."""
        agents, convs = await self._scripts.call(
            "sweep", keys.site_keys(site), [now_ms, now_ms + grace_ms]
        )
        return [str(a) for a in agents], [str(c) for c in convs]

    async def mark_left(self, site: str, conversation_id: str, deadline_ms: int) -> bool:
        """The shopper of a queued conversation left; abandon it at `deadline_ms` unless they
        come back (see `mark_back`). Returns False if it is no longer queued, or if it is a
        message left for agents (it waits for them however long the shopper is away).

        The state is checked under WATCH: a conversation assigned meanwhile must not be marked,
        or a later requeue (agent's grace over) would let the sweep abandon a live chat."""
        conv_key = keys.conversation(site, conversation_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            for _ in range(_RETRIES):
                try:
                    await pipe.watch(conv_key)
                    state, left_message = await pipe.hmget(conv_key, "state", "x:left_message")
                    if state != ConversationState.QUEUED.value or left_message:
                        return False
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.zadd(keys.left_queue(site), {conversation_id: deadline_ms})
                    await pipe.execute()
                    return True
                except WatchError:
                    continue
        raise Conflict(conversation_id)

    async def expire_ended(
        self, site: str, conversation_id: str, keep_ms: int, anonymous_keep_ms: int
    ) -> int:
        """Give an ended conversation's metadata its expiry: `anonymous_keep_ms` if no agent
        ever answered and no store identified the customer, else `keep_ms`. Returns the TTL
        set (0: the conversation is not ended, or gone)."""
        conv_key = keys.conversation(site, conversation_id)
        state, replied, customer = await self._redis.hmget(
            conv_key, "state", "first_reply_ms", "customer"
        )
        if state not in (ConversationState.CLOSED.value, ConversationState.ABANDONED.value):
            return 0
        ttl = keep_ms if replied or customer else anonymous_keep_ms
        return ttl if await self._redis.pexpire(conv_key, ttl) else 0

    async def forget_old(self, site: str, visitor: str, now_ms: int, keep_ms: int) -> None:
        """Drop a visitor's conversations older than the retention period from their list, and
        let the list itself expire with its newest conversation."""
        key = keys.visitor_convs(site, visitor)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zremrangebyscore(key, "-inf", now_ms - keep_ms)
            pipe.pexpire(key, keep_ms)
            await pipe.execute()

    async def mark_back(self, site: str, conversation_id: str) -> None:
        await self._redis.zrem(keys.left_queue(site), conversation_id)

    async def position(self, site: str, department: str, conversation_id: str) -> int | None:
        """1-based position in the department's queue, or None if not queued there."""
        rank = await self._redis.zrank(keys.queue(site, department), conversation_id)
        return None if rank is None else int(rank) + 1

    async def snapshot(self, site: str, department: str) -> QueueSnapshot:
        """The department's queue and its agents' free and total slots, read in one pipeline."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zrange(keys.queue(site, department), 0, -1)
            pipe.hgetall(keys.agent_depts(site))
            pipe.hgetall(keys.agent_status(site))
            pipe.hgetall(keys.agent_capacity(site))
            pipe.hgetall(keys.agent_load(site))
            pipe.hgetall(keys.presence_count(site))
            pipe.hget(keys.stats(site), f"handle:{department}")
            queued, depts, status, caps, loads, conns, handle = await pipe.execute()
        free = total = 0
        for login, dept_list in depts.items():
            if department not in dept_list.split(","):
                continue
            if status.get(login) != "online" or int(conns.get(login, 0)) <= 0:
                continue
            cap = int(caps.get(login, 0))
            total += cap
            free += max(0, cap - int(loads.get(login, 0)))
        avg = float(handle) if handle is not None else None
        return QueueSnapshot(tuple(queued), free, total, avg)

    async def queue(self, site: str, department: str) -> list[str]:
        return [str(c) for c in await self._redis.zrange(keys.queue(site, department), 0, -1)]

    async def count(self, site: str, conversation_id: str, counter: str) -> int:
        """Add one to a counter field of the conversation; returns the new count."""
        return int(await self._redis.hincrby(keys.conversation(site, conversation_id), counter, 1))

    async def set_fields(self, site: str, conversation_id: str, **fields: str | int) -> None:
        """Record plain metadata (first reply time, read positions, rating) on a conversation,
        and say so on the site channel (processes cache conversations: see gateway.cache)."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.conversation(site, conversation_id), mapping=fields)
            pipe.publish(keys.site_channel(site), _updated(conversation_id))
            await pipe.execute()

    async def rate_once(
        self, site: str, conversation_id: str, rating: str, comment: str, now_ms: int
    ) -> bool:
        """Record the shopper's rating unless the conversation has one: the first rating stays
        (two clicks, two tabs, a resend). Returns False if it was rated already. The rating
        is counted for the reports in the same transaction (store.rollups.rating_counts)."""
        conv_key = keys.conversation(site, conversation_id)
        fields = {"rating": rating, "rating_comment": comment, "rated_ms": now_ms}
        read = ("rating", "closed_ms", "assigned_ms", "department", "agent")
        async with self._redis.pipeline(transaction=True) as pipe:
            for _ in range(_RETRIES):
                try:
                    await pipe.watch(conv_key)
                    current = dict(zip(read, await pipe.hmget(conv_key, *read), strict=True))
                    if current["rating"] is not None:
                        return False
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.hset(conv_key, mapping=fields)
                    for name, at in rating_counts(current, rating):
                        day = keys.kpi_day(site, at)
                        pipe.hincrby(day, name, 1)
                        pipe.pexpireat(day, at - at % DAY_MS + DAY_MS + self._counting.keep_ms)
                    pipe.publish(keys.site_channel(site), _updated(conversation_id))
                    await pipe.execute()
                    return True
                except WatchError:
                    continue
        raise Conflict(conversation_id)

    async def set_first_reply(
        self, site: str, conversation_id: str, now_ms: int, agent: str = ""
    ) -> bool:
        """Record the first agent reply (once), and count the wait it ended for the reports.
        Returns True if this was the first."""
        return bool(
            await self._scripts.call(
                "first_reply",
                keys.site_keys(site)
                + [keys.conversation(site, conversation_id), keys.kpi_day(site, now_ms)],
                [conversation_id, now_ms, agent, self._counting.keep_ms],
            )
        )

    async def bump_epoch_from(self, site: str, conversation_id: str, epoch: int) -> int:
        """Start a new epoch unless another socket or process already did for the same loss:
        bump only if the epoch is still `epoch`. Returns the epoch now."""
        conv_key = keys.conversation(site, conversation_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            for _ in range(_RETRIES):
                try:
                    await pipe.watch(conv_key)
                    current = int(await pipe.hget(conv_key, "epoch") or 1)
                    if current != epoch:
                        return current
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.hincrby(conv_key, "epoch", 1)
                    pipe.publish(keys.site_channel(site), _updated(conversation_id))
                    bumped, _ = await pipe.execute()
                    return int(bumped)
                except WatchError:
                    continue
        raise Conflict(conversation_id)


def _from_hash(raw: dict[str, str]) -> Conversation:
    extra = {k[2:]: v for k, v in raw.items() if k.startswith("x:")}
    return Conversation(
        id=raw["id"],
        site=raw["site"],
        department=raw["department"],
        visitor=raw.get("visitor", ""),
        state=ConversationState(raw["state"]),
        priority=int(raw.get("priority", 0)),
        customer=raw.get("customer", ""),
        agent=raw.get("agent", ""),
        epoch=int(raw.get("epoch", 1)),
        created_ms=int(raw.get("created_ms", 0)),
        assigned_ms=int(raw.get("assigned_ms", 0)),
        first_reply_ms=int(raw.get("first_reply_ms", 0)),
        closed_ms=int(raw.get("closed_ms", 0)),
        outcome=raw.get("outcome", ""),
        extra=extra,
    )


def _updated(conversation_id: str) -> bytes:
    """The site-channel event for a metadata change that is not a routing change."""
    return orjson.dumps(site_events.encode(SiteEvent(Kind.UPDATED, conversation_id)))
