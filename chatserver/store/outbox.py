"""The mail outbox: a Redis Stream read by one consumer group that every process joins.

A mail is enqueued once per idempotency key (`mail_enqueue.lua`). A process reads new entries
(XREADGROUP), tries each, and settles it (`mail_settle.lua`): sent, back later with a backoff,
or dead. Entries a process read and never settled (it was killed) are taken over by another
after `claim_ms` idle (XAUTOCLAIM). So a mail is sent at least once; it is sent twice only if
a process dies between the SMTP server's OK and the settle, and then with the same Message-ID.
"""

from __future__ import annotations

from typing import Any

import orjson
from redis.exceptions import ResponseError

from chatserver.store import keys
from chatserver.store.clients import Redis
from chatserver.store.scripts import Scripts

KEY_KEEP_MS = 7 * 86_400_000  # how long an idempotency key is remembered


class Outbox:
    """The outbox as seen by one consumer (one process)."""

    def __init__(self, redis: Redis, scripts: Scripts, consumer: str) -> None:
        self._redis = redis
        self._scripts = scripts
        self.consumer = consumer
        self._group_ready = False

    async def enqueue(self, mail: dict[str, Any]) -> bool:
        """Queue `mail` (a JSON-able dict with a 'key'); False if its key was queued before."""
        stream_id = await self._scripts.call(
            "mail_enqueue", [keys.mail_key(mail["key"]), keys.MAIL_OUTBOX],
            [orjson.dumps(mail).decode(), KEY_KEEP_MS],
        )  # fmt: skip
        return bool(stream_id)

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

    async def _ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            await self._redis.xgroup_create(keys.MAIL_OUTBOX, keys.MAIL_GROUP, "0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True
