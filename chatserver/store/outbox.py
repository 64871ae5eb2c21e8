"""The mail outbox: a Redis Stream read by one consumer group that every process joins.

A mail is enqueued once per idempotency key (`mail_enqueue.lua`). A process reads new entries
(XREADGROUP), tries each, and settles it (`mail_settle.lua`): sent, back later with a backoff,
or dead. Entries a process read and never settled (it was killed) are taken over by another
after `claim_ms` idle (XAUTOCLAIM). So a mail is sent at least once; it is sent twice only if
a process dies between the SMTP server's OK and the settle, and then with the same Message-ID.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

import orjson
from redis.exceptions import ResponseError

from chatserver.store import keys
from chatserver.store.clients import Redis
from chatserver.store.scripts import Scripts

KEY_KEEP_MS = 7 * 86_400_000  # how long an idempotency key is remembered
THREAD_KEEP_MS = 90 * 86_400_000  # how long a mailed conversation takes replies by mail


class Outbox:
    """The outbox as seen by one consumer (one process)."""

    def __init__(self, redis: Redis, scripts: Scripts, consumer: str) -> None:
        self._redis = redis
        self._scripts = scripts
        self.consumer = consumer
        self._group_ready = False

    async def enqueue(self, mail: dict[str, Any]) -> bool:
        """Queue `mail` (a JSON-able dict with a 'key'); False if its key was queued before."""
        thread = str(mail.get("thread") or "")
        stream_id = await self._scripts.call(
            "mail_enqueue",
            [keys.mail_key(mail["key"]), keys.MAIL_OUTBOX, keys.mail_thread(thread)],
            [orjson.dumps(mail).decode(), KEY_KEEP_MS,
             str(mail.get("site") or "") if thread else "", THREAD_KEEP_MS],
        )  # fmt: skip
        return bool(stream_id)

    async def thread_site(self, conversation_id: str) -> str:
        """The site of a conversation a mail was queued for ('' if none, or long ago)."""
        return str(await self._redis.get(keys.mail_thread(conversation_id)) or "")

    # --- a site's optional mails (core.mail.SiteMail) ------------------------------------
    async def site_mail(self, site: str) -> dict[str, Any]:
        raw = await self._redis.get(keys.mail_site(site))
        return dict(orjson.loads(raw)) if raw else {}

    async def put_site_mail(self, site: str, settings: dict[str, Any]) -> None:
        await self._redis.set(keys.mail_site(site), orjson.dumps(settings).decode())

    # --- List-Unsubscribe: a conversation whose shopper wants no more of its mails ---------
    async def unsubscribe(self, conversation_id: str) -> None:
        await self._redis.set(_unsubscribed(conversation_id), "1", px=THREAD_KEEP_MS)

    async def unsubscribed(self, conversation_id: str) -> bool:
        return bool(await self._redis.exists(_unsubscribed(conversation_id)))

    # --- replies by mail: each appended once -------------------------------------------
    async def inbound_claim(self, cmid: str, pending_ms: int) -> str:
        """Start appending the reply `cmid`: '' if it is ours to append now, 'pending' if
        another delivery of it is being appended, else the conversation it went to."""
        key = keys.mail_inbound(cmid)
        if await self._redis.set(key, "pending", nx=True, px=pending_ms):
            return ""
        return str(await self._redis.get(key) or "pending")

    async def inbound_done(self, cmid: str, conversation_id: str) -> None:
        await self._redis.set(keys.mail_inbound(cmid), conversation_id, px=THREAD_KEEP_MS)

    async def inbound_release(self, cmid: str) -> None:
        await self._redis.delete(keys.mail_inbound(cmid))

    # --- agents' lines a shopper did not see, mailed after a delay ------------------------
    async def reply_later(self, site: str, conversation_id: str, due_ms: int) -> None:
        """An agent wrote to the shopper: look at the conversation at `due_ms` (unless it is
        due earlier already: the lines of the next `delay` go into one mail)."""
        await self._redis.zadd(keys.MAIL_REPLIES, {f"{site} {conversation_id}": due_ms}, nx=True)

    async def due_replies(
        self, now_ms: int, lease_ms: int, count: int = 20
    ) -> list[tuple[str, int]]:
        """Lease the conversations due to be looked at: [(member, lease end)]."""
        until = now_ms + lease_ms
        members = await self._scripts.call(
            "mail_replies_due", [keys.MAIL_REPLIES, keys.MAIL_LEASED], [now_ms, until, count]
        )
        return [(str(m), until) for m in members or []]

    async def mailed_upto(self, conversation_id: str) -> str:
        """The transcript id of the last agent line mailed in this conversation ('' none)."""
        return str(await self._redis.get(keys.mail_mailed(conversation_id)) or "")

    async def settle_reply(
        self, member: str, lease: int, mark: str, new_mark: str, mail: dict[str, Any] | None
    ) -> bool:
        """Settle a leased conversation: queue `mail` (its unseen lines) and move the mark
        from `mark` to `new_mark`, once; False if another process did it first."""
        site, _, conv = member.partition(" ")
        key = mail["key"] if mail else "-"
        settled = await self._scripts.call(
            "mail_reply",
            [keys.MAIL_LEASED, keys.mail_mailed(conv), keys.mail_key(key), keys.MAIL_OUTBOX,
             keys.mail_thread(conv)],
            [member, lease, mark, new_mark, orjson.dumps(mail).decode() if mail else "",
             KEY_KEEP_MS, site, THREAD_KEEP_MS],
        )  # fmt: skip
        return bool(settled)

    async def read(self, block_ms: int, count: int = 10) -> list[tuple[str, dict[str, Any]]]:
        """New mails for this consumer, waiting up to `block_ms` for one."""
        await self._ensure_group()
        try:
            reply = await self._redis.xreadgroup(
                keys.MAIL_GROUP, self.consumer, {keys.MAIL_OUTBOX: ">"}, count=count,
                block=block_ms,
            )  # fmt: skip
        except ResponseError:
            self._group_ready = False  # NOGROUP: Redis lost its data; make the group again
            raise
        streams: list[Any] = list(reply or [])
        return [(str(i), orjson.loads(f["m"])) for _, rows in streams for i, f in rows if f]

    async def claim(self, min_idle_ms: int, count: int = 10) -> list[tuple[str, dict[str, Any]]]:
        """Mails another consumer read and left unsettled for `min_idle_ms` (it died)."""
        await self._ensure_group()
        reply = await self._redis.xautoclaim(
            keys.MAIL_OUTBOX, keys.MAIL_GROUP, self.consumer, min_idle_ms, "0-0", count=count
        )
        return [(str(i), orjson.loads(f["m"])) for i, f in reply[1] if f]

    async def promote(self, now_ms: int) -> int:
        """Move mails whose retry is due back into the outbox; how many."""
        return int(await self._scripts.call(
            "mail_promote", [keys.MAIL_LATER, keys.MAIL_OUTBOX], [now_ms, 100]
        ))  # fmt: skip

    async def was_sent(self, key: str) -> bool:
        """Whether mail `key` was sent (a claimed entry may have been sent by its first reader
        just before it died, the settle lost)."""
        return await self._redis.get(keys.mail_key(key)) == "sent"

    async def settle(
        self, stream_id: str, mail: dict[str, Any], outcome: str, due_ms: int = 0
    ) -> bool:
        """End one attempt: outcome 'sent', 'retry' (due again at `due_ms`) or 'dead'.
        False if the entry was no longer ours (claimed and settled by another process)."""
        settled = await self._scripts.call(
            "mail_settle",
            [keys.MAIL_OUTBOX, keys.MAIL_LATER, keys.MAIL_DEAD, keys.mail_key(mail["key"])],
            [keys.MAIL_GROUP, stream_id, outcome, orjson.dumps(mail).decode(), due_ms,
             KEY_KEEP_MS],
        )  # fmt: skip
        return bool(settled)

    async def dead(self, count: int = 100) -> list[dict[str, Any]]:
        """The newest mails given up on."""
        return [orjson.loads(m) for m in await self._redis.lrange(keys.MAIL_DEAD, 0, count - 1)]

    # --- operators: the dead-letter list and the outbox's figures -----------------------
    async def dead_letters(self) -> list[tuple[str, dict[str, Any]]]:
        """Every mail given up on, newest first: (the list item, its record)."""
        rows = await self._redis.lrange(keys.MAIL_DEAD, 0, -1)
        return [(str(raw), orjson.loads(raw)) for raw in rows]

    async def revive(self, raw: str, record: dict[str, Any], drop: bool = False) -> bool:
        """Queue the dead mail `raw` again with its tries at 0 (or, `drop`, forget it: its
        key stays spent, so it is never sent); False if it is no longer in the list."""
        again = orjson.dumps({**record, "tries": 0}).decode()
        done = await self._dead_script(
            keys=[keys.MAIL_DEAD, keys.MAIL_OUTBOX, keys.mail_key(str(record["key"]))],
            args=[raw, "drop" if drop else "retry", again, KEY_KEEP_MS],
        )  # fmt: skip
        return bool(done)

    async def figures(self) -> dict[str, int]:
        """What /metrics shows: mails in the outbox (waiting or being sent), waiting for a
        retry, and dead."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.xlen(keys.MAIL_OUTBOX)
            pipe.zcard(keys.MAIL_LATER)
            pipe.llen(keys.MAIL_DEAD)
            queued, later, dead = await pipe.execute()
        return {"queued": int(queued), "retrying": int(later), "dead": int(dead)}

    @functools.cached_property
    def _dead_script(self) -> Any:
        source = (resources.files("chatserver.store") / "lua" / "mail_dead.lua").read_text()
        return self._redis.register_script(source)

    async def _ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            await self._redis.xgroup_create(keys.MAIL_OUTBOX, keys.MAIL_GROUP, "0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True


def _unsubscribed(conversation_id: str) -> str:
    """String '1': the shopper of the conversation unsubscribed (kept like a thread record).
    In the idempotency records' namespace, under a name no mail key takes."""
    return keys.mail_key(f"unsubscribed.{conversation_id}")


class DemoMailbox:
    """What the demo's SMTP sink received (`chatserver demo` only): the newest raw messages."""

    KEEP = 200

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def put(self, raw: bytes) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.lpush(keys.DEMO_MAILBOX, raw.decode("latin-1"))
            pipe.ltrim(keys.DEMO_MAILBOX, 0, self.KEEP - 1)
            await pipe.execute()

    async def newest(self, count: int = 50) -> list[bytes]:
        rows = await self._redis.lrange(keys.DEMO_MAILBOX, 0, count - 1)
        return [str(r).encode("latin-1") for r in rows]
