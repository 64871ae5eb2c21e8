"""What a server process runs for mail: the outbox's worker (with the agents' replies to mail)
and, if configured, the SMTP receiver of replies. Started and stopped with the gateway."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from chatserver.config import Settings, host_port
from chatserver.mail import (
    demo_sink,
    file_links,
    notices,
    receiver,
    reply_to_for,
    sender_address,
    unsubscribe_links,
)
from chatserver.mail.replies import ReplyMailer
from chatserver.mail.smtp import SmtpSender
from chatserver.mail.worker import MailWorker

if TYPE_CHECKING:
    from chatserver.hub import Hub


class MailService:
    def __init__(self, hub: Hub, settings: Settings, secret: bytes) -> None:
        self.hub = hub
        self.settings = settings
        self.secret = secret
        self.worker: MailWorker | None = None
        self.receiver: asyncio.Server | None = None
        self.sink: asyncio.Server | None = None

    async def start(self) -> None:
        settings, hub = self.settings, self.hub
        self.sink = await demo_sink.start(settings, hub.mailbox)
        if hub.outbox is not None:
            claim_ms = int(settings.mail_claim_seconds * 1000)
            self.worker = MailWorker(
                hub.outbox, SmtpSender.from_url(settings.smtp_url), sender_address(settings),
                hub.now_ms, claim_ms,
                retry_max_ms=int(settings.mail_retry_max_seconds * 1000),
                max_tries=settings.mail_max_tries,
                reply_to=reply_to_for(settings, self.secret),
                before_round=ReplyMailer(hub, claim_ms).round,
                links=file_links(settings, self.secret, hub.now_ms),
                site_sender=lambda site: notices.site_sender(hub, site),
                unsubscribe=unsubscribe_links(settings, self.secret),
            )  # fmt: skip
            self.worker.start()
        if settings.mail_inbound_listen and settings.mail_inbound_domain:
            host, port = host_port(settings.mail_inbound_listen)
            self.receiver = await receiver.start(
                hub, self.secret, settings.mail_inbound_domain, host, port
            )

    async def stop(self) -> None:
        for server in (self.receiver, self.sink):
            if server is not None:
                server.close()
        if self.worker is not None:
            await self.worker.stop()
