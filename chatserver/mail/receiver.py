"""The built-in SMTP receiver for shoppers' replies (`--mail-inbound-listen host:port`): point
the inbound domain's MX record at it (port 25 in production, behind nothing that rewrites).

It runs in the server process's event loop (aiosmtpd's protocol on a plain asyncio server,
SO_REUSEPORT so every worker process of a host may listen). A recipient is refused at RCPT
unless it is a well-signed reply address; the message then goes through `inbound.receive`:
appended (250), a duplicate (250), refused as a bounce or an auto-reply (250, dropped: a
refusal would make the sender's system mail a bounce of it), refused otherwise (550), or
storage unavailable / being appended by another delivery (451: the sender retries).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from aiosmtpd.smtp import SMTP

from chatserver.core import mail
from chatserver.mail import inbound
from chatserver.store.clients import StorageError

if TYPE_CHECKING:
    from chatserver.hub import Hub

log = logging.getLogger(__name__)
_DROPPED = ("bounce", "auto_reply")


class InboundHandler:
    """aiosmtpd's handler: what the receiver answers."""

    def __init__(self, hub: Hub, secret: bytes, domain: str) -> None:
        self.hub = hub
        self.secret = secret
        self.domain = domain

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        token = mail.token_of_address(address, self.domain)
        if not token:
            return "550 5.1.1 No such recipient here"
        if not mail.token_conversation(self.secret, token):
            log.warning("inbound mail refused (forged_token) at RCPT")
            return "550 5.7.1 Unknown reply address"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        sender = envelope.mail_from
        null_sender = sender in ("", "<>") or sender is None
        try:
            outcome = await inbound.receive(
                self.hub, self.secret, self.domain, bytes(envelope.original_content or b""),
                "" if null_sender else str(sender), list(envelope.rcpt_tos),
            )  # fmt: skip
        except (StorageError, OSError, TimeoutError) as exc:
            log.warning("inbound mail deferred: %s", exc)
            return "451 4.3.0 Temporarily unavailable, try again later"
        if outcome.status in ("appended", "duplicate") or outcome.reason in _DROPPED:
            return "250 OK"
        if outcome.status == "retry":
            return "451 4.3.0 Being delivered, try again later"
        return f"550 5.7.1 Refused: {outcome.reason}"


async def start(hub: Hub, secret: bytes, domain: str, host: str, port: int) -> asyncio.Server:
    """Listen on host:port; the caller closes the returned server."""
    handler = InboundHandler(hub, secret, domain)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, data_size_limit=inbound.MAX_BYTES, enable_SMTPUTF8=True,
                     hostname=domain or None, ident="chatserver"),
        host, port, reuse_port=True,
    )  # fmt: skip
    log.info("SMTP receiver for replies listening on %s:%d", host, port)
    return server
