"""The background task of each server process that sends the outbox's mails.

Each round it moves due retries back into the outbox, takes over mails a dead process left
(XAUTOCLAIM), then waits up to a second for new ones (XREADGROUP). Every mail read is settled:
sent, retried later with a backoff, or dead-lettered after `core.mail.MAX_TRIES` failures or a
permanent refusal.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from chatserver.core.mail import LAST_RETRY_MS, MAX_TRIES, Mail, gives_up, retry_delay_ms
from chatserver.mail import from_record, to_record
from chatserver.mail.compose import compose
from chatserver.mail.smtp import MailError
from chatserver.reports import metrics
from chatserver.store.clients import StorageError
from chatserver.store.outbox import Outbox

log = logging.getLogger(__name__)
BLOCK_MS = 1000
STOP_WAIT_SECONDS = 5.0  # a send under way may finish (else it is claimed after a restart)


class Sender(Protocol):
    async def send(self, message: Any) -> None: ...


class MailWorker:
    def __init__(
        self, outbox: Outbox, sender: Sender, mail_from: str, clock: Callable[[], int],
        claim_ms: int, *, retry_max_ms: int = LAST_RETRY_MS, max_tries: int = MAX_TRIES,
        reply_to: Callable[[str], str] = lambda _: "",
        before_round: Callable[[], Awaitable[Any]] | None = None,
        links: Callable[[str, str], str] | None = None,
        site_sender: Callable[[str], Awaitable[str]] | None = None,
        unsubscribe: Callable[[Mail], str] = lambda _: "",
    ) -> None:  # fmt: skip
        """`reply_to(conversation id)`: the signed address replies to a conversation's mails
        go to ('' none); `before_round`: more work of each round (agents' lines to mail)."""
        self.outbox = outbox
        self.sender = sender
        self.mail_from = mail_from
        self.now_ms = clock
        self.claim_ms = claim_ms
        self.retry_max_ms = retry_max_ms
        self.max_tries = max_tries
        self.reply_to = reply_to
        self.before_round = before_round
        self.links = links  # the signed URLs of attachments a mail shows
        self.site_sender = site_sender  # a site's own From ('' none: `mail_from`)
        self.unsubscribe = unsubscribe  # a mail's List-Unsubscribe URL ('' none)
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="mail-worker")

    async def stop(self) -> None:
        """Stop after the round under way (bounded), else cancel: the flag is what ends the
        loop, since redis-py may turn a cancel during a blocking read into a TimeoutError."""
        self._stopping = True
        if self._task is None:
            return
        done, _ = await asyncio.wait({self._task}, timeout=STOP_WAIT_SECONDS)
        if not done:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await self._task

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self._round()
            except (StorageError, OSError) as exc:  # Redis down or restarting: wait, go on
                if not self._stopping:
                    log.warning("mail outbox round skipped: %s", exc)
                await asyncio.sleep(1.0)
            except Exception:
                log.exception("mail outbox round failed")
                await asyncio.sleep(1.0)

    async def _round(self) -> None:
        if self.before_round is not None:
            await self.before_round()
        await self.outbox.promote(self.now_ms())
        batch = await self.outbox.claim(self.claim_ms)
        if not batch:
            batch = await self.outbox.read(BLOCK_MS)
        for stream_id, record in batch:
            await self._deliver(stream_id, record)
        for state, count in (await self.outbox.figures()).items():  # /metrics
            metrics.MAIL_OUTBOX.labels(state).set(count)

    async def _deliver(self, stream_id: str, record: dict[str, Any]) -> None:
        mail, tries = from_record(record)
        if await self.outbox.was_sent(mail.key):  # sent by a process that died before settling
            await self.outbox.settle(stream_id, record, "sent")
            return
        try:
            reply_to = self.reply_to(mail.thread) if mail.thread else ""
            sender = await self.site_sender(mail.site) if self.site_sender and mail.site else ""
            message = compose(mail, sender or self.mail_from, time.time(), reply_to, self.links,
                              self.unsubscribe(mail))  # fmt: skip
            await self.sender.send(message)
        except MailError as exc:
            await self._failed(stream_id, to_record(mail, tries + 1), exc)
            return
        await self.outbox.settle(stream_id, record, "sent")
        metrics.MAIL_SENT.inc()
        log.info("mail %s sent to %s", mail.key, mail.to)

    async def _failed(self, stream_id: str, record: dict[str, Any], exc: MailError) -> None:
        tries = int(record["tries"])
        if exc.permanent or gives_up(tries, self.max_tries):
            log.error("mail %s given up after %d tries: %s", record["key"], tries, exc)
            await self.outbox.settle(stream_id, record, "dead")
            metrics.MAIL_DEAD.inc()
            return
        delay = retry_delay_ms(tries, self.retry_max_ms)
        log.warning("mail %s failed (%s); retry in %d ms", record["key"], exc, delay)
        await self.outbox.settle(stream_id, record, "retry", self.now_ms() + delay)
        metrics.MAIL_RETRIES.inc()
