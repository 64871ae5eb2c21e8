"""Outbound mail: what the server sends shoppers by email, through a durable outbox in Redis.

`core.mail` decides what to send (plain values); `store.outbox` keeps it until it is sent;
`compose` renders it; `smtp` hands it to the SMTP server; `worker` is the background task of
each server process that drains the outbox. docs/email.md says what holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, fields
from typing import Any
from urllib.parse import urlparse

from chatserver.config import Settings
from chatserver.core.attachments import Signer, signing_key
from chatserver.core.mail import Mail, reply_address, unsubscribable, unsubscribe_token

_MAIL_FIELDS = {f.name for f in fields(Mail)}


def sender_address(settings: Settings) -> str:
    """The From address: `mail_from`, else chat@ the SMTP server's host."""
    return settings.mail_from or f"chat@{urlparse(settings.smtp_url).hostname or 'localhost'}"


def to_record(mail: Mail, tries: int = 0) -> dict[str, Any]:
    """The JSON-able record of `mail` the outbox keeps (with how often it failed)."""
    return {**asdict(mail), "tries": tries}


def from_record(record: dict[str, Any]) -> tuple[Mail, int]:
    """The mail and its failed tries from an outbox record."""
    return Mail(**{k: v for k, v in record.items() if k in _MAIL_FIELDS}), int(record["tries"])


def reply_to_for(settings: Settings, secret: bytes) -> Callable[[str], str]:
    """The signed reply address of a conversation ('' without --mail-inbound-domain)."""
    domain = settings.mail_inbound_domain

    def reply_to(conversation_id: str) -> str:
        return reply_address(secret, conversation_id, domain)

    return reply_to


def public_base(settings: Settings) -> str:
    """Where links in mails point: `public_url`, else the address the server listens on when
    it is a definite one (the demo's 127.0.0.1:8000); '' (no links) behind 0.0.0.0 or ::."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    if settings.host in ("", "0.0.0.0", "::"):
        return ""
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    return f"http://{host}:{settings.port}"


def file_links(
    settings: Settings, secret: bytes, clock: Callable[[], int]
) -> Callable[[str, str], str]:
    """The signed URL of an attachment for a mail (valid `mail_file_url_seconds` from when the
    mail goes out: long enough for a shopper reading it days later); '' without a base URL."""
    base = public_base(settings)
    signer = Signer(signing_key(secret), int(settings.mail_file_url_seconds * 1000))

    def link(conversation_id: str, attachment_id: str) -> str:
        return (
            f"{base}{signer.url(conversation_id, attachment_id, 'file', clock())}" if base else ""
        )

    return link


UNSUBSCRIBE_PATH = "/api/v1/mail/unsubscribe/"


def unsubscribe_links(settings: Settings, secret: bytes) -> Callable[[Mail], str]:
    """The List-Unsubscribe URL of a mail ('' for mails the shopper asked for, or without a
    base URL)."""
    base = public_base(settings)

    def link(mail: Mail) -> str:
        if not base or not unsubscribable(mail):
            return ""
        return f"{base}{UNSUBSCRIBE_PATH}{unsubscribe_token(secret, mail.thread)}"

    return link
