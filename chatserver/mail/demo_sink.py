"""The demo's mail: `chatserver demo` without --smtp-url runs a local SMTP sink (aiosmtpd) that
keeps what it gets in Redis for the /demo/mailbox page (chatserver/web/demo_store.py), and gives
the mails a reply address at a made-up domain: a reply written on that page enters through the
same path as a real one (`inbound.receive`)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import Any

from aiosmtpd.smtp import SMTP

from chatserver.config import Settings, host_port
from chatserver.store.embedded import free_port
from chatserver.store.outbox import DemoMailbox

log = logging.getLogger(__name__)
DEMO_INBOUND_DOMAIN = "reply.demo.invalid"  # .invalid: no mail can ever go there for real


def with_sink(settings: Settings) -> Settings:
    """The demo's settings: without an SMTP server of the operator's, mail goes to the local
    sink on a free port, and replies come back through the mailbox page."""
    if settings.smtp_url:
        return settings
    port = free_port()
    return dataclasses.replace(
        settings, smtp_url=f"smtp://127.0.0.1:{port}", demo_mail_sink=f"127.0.0.1:{port}",
        mail_inbound_domain=settings.mail_inbound_domain or DEMO_INBOUND_DOMAIN,
        mail_from=settings.mail_from or "Demo Tea & Crafts <help@demo-store.example>",
    )  # fmt: skip


class _Keep:
    def __init__(self, mailbox: DemoMailbox) -> None:
        self.mailbox = mailbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await self.mailbox.put(bytes(envelope.original_content or b""))
        return "250 OK"


async def start(settings: Settings, mailbox: DemoMailbox) -> asyncio.Server | None:
    """Run the sink in this process (every worker process may: SO_REUSEPORT)."""
    if not (settings.demo and settings.demo_mail_sink):
        return None
    host, port = host_port(settings.demo_mail_sink)
    handler = _Keep(mailbox)
    server = await asyncio.get_running_loop().create_server(
        lambda: SMTP(handler, enable_SMTPUTF8=True, ident="chatserver demo sink"),
        host, port, reuse_port=True,
    )  # fmt: skip
    log.info("demo SMTP sink on %s:%d (mail shows at /demo/mailbox)", host, port)
    return server
