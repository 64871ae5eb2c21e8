"""Outbound mail: what the server sends shoppers by email, through a durable outbox in Redis.

`core.mail` decides what to send (plain values); `store.outbox` keeps it until it is sent;
`compose` renders it; `smtp` hands it to the SMTP server; `worker` is the background task of
each server process that drains the outbox. docs/email.md says what holds.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any
from urllib.parse import urlparse

from chatserver.config import Settings
from chatserver.core.mail import Mail

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
