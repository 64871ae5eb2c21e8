"""The agents' lines of a conversation are mailed once even when the process that took them
dies before it settles (store level: the session's Redis, the real scripts)."""

from __future__ import annotations

import uuid

import orjson
from redis.asyncio import Redis

from chatserver.core import mail
from chatserver.mail import to_record
from chatserver.store import keys
from chatserver.store.outbox import Outbox
from chatserver.store.scripts import Scripts

LEASE_MS = 10_000


async def test_a_lease_of_a_dead_process_is_taken_over_and_its_late_settle_changes_nothing(
    redis: Redis, site_key: str
) -> None:
    first, second = (Outbox(redis, Scripts(redis), name) for name in ("first", "second"))
    conv = uuid.uuid4().hex
    member = f"{site_key} {conv}"
    # Scripted times far in the past: no other test's conversation is due then.
    await first.reply_later(site_key, conv, 1_000)
    await first.reply_later(site_key, conv, 1_200)  # due already: keeps its time (one batch)
    assert [m for m, _ in await first.due_replies(1_500, LEASE_MS) if m == member] == [member]
    assert member not in [m for m, _ in await second.due_replies(1_600, LEASE_MS)]

    # `first` dies here, holding the lease. Once it ends, `second` takes the conversation.
    taken = dict(await second.due_replies(1_500 + LEASE_MS, LEASE_MS))
    assert member in taken
    lines = [{"who": "Ann", "text": "Yes"}]
    sent = mail.agent_replies(conv, "5-0", "li@example.com", "Shop", lines, "en", site_key)
    assert await second.settle_reply(member, taken[member], "", "5-0", to_record(sent))
    assert await second.mailed_upto(conv) == "5-0"

    # `first` was only slow: its settle of the same lines (or of more) is refused.
    more = mail.agent_replies(conv, "6-0", "li@example.com", "Shop", lines * 2, "en", site_key)
    assert not await first.settle_reply(member, 1_500 + LEASE_MS, "", "6-0", to_record(more))
    assert await second.mailed_upto(conv) == "5-0"
    rows: list[tuple[str, dict[str, str]]] = await redis.xrange(keys.MAIL_OUTBOX)  # type: ignore[assignment]
    queued = [
        (entry_id, orjson.loads(fields["m"])["key"])
        for entry_id, fields in rows
        if orjson.loads(fields["m"]).get("thread") == conv
    ]
    assert [key for _, key in queued] == [f"reply.{conv}.5-0"]
    assert await first.thread_site(conv) == site_key  # replies to it will find its site
    await redis.xdel(keys.MAIL_OUTBOX, *[entry_id for entry_id, _ in queued])  # never sent
