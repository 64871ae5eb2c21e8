"""What mail the server sends and when to try again (sans I/O: no SMTP, no Redis, no clock).

A `Mail` is one message to one shopper, described by plain values: the template to render, the
language, the values the template reads, and an idempotency `key` that names it across every
process (enqueueing the same key twice sends it once; the key is also its Message-ID).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

LANGUAGES = ("en", "zh-CN")
MAX_TRIES = 10  # then the mail goes to the dead-letter list
FIRST_RETRY_MS = 2_000
LAST_RETRY_MS = 300_000  # 2, 4, 8 ... s, then every 5 min: ~27 min in all before giving up


@dataclass(frozen=True, slots=True)
class Mail:
    """One mail to send: `template` names a pair of templates (text and HTML)."""

    key: str
    to: str
    template: str
    language: str
    values: dict[str, Any] = field(default_factory=dict, hash=False)
    reply_to: str = ""


def language_of(wanted: str) -> str:
    """The language to write in: the site's, if we have templates in it, else English."""
    return wanted if wanted in LANGUAGES else "en"


def left_message_ack(
    conversation_id: str, to: str, site_name: str, name: str, reply_hours: int, language: str
) -> Mail:
    """The acknowledgement of a message left while nobody could answer (one per conversation:
    a second `leave_message` only updates the details)."""
    return Mail(
        key=f"ack.{conversation_id}",
        to=to,
        template="left_message",
        language=language_of(language),
        values={"site": site_name, "name": name, "reply_hours": reply_hours},
    )


def transcript(
    conversation_id: str, request: str, to: str, site_name: str, entries: Iterable[dict[str, Any]],
    language: str,
) -> Mail:  # fmt: skip
    """The transcript the shopper asked for; `request` names the request (each one is a mail)."""
    return Mail(
        key=f"transcript.{conversation_id}.{request}",
        to=to,
        template="transcript",
        language=language_of(language),
        values={"site": site_name, "lines": transcript_lines(entries)},
    )


def transcript_lines(entries: Iterable[dict[str, Any]]) -> list[dict[str, str]]:
    """The lines of a transcript a shopper may read: messages only (never internal notes or
    system events), each with who wrote it ('you' for the shopper) and the text."""
    lines = []
    for entry in entries:
        if entry.get("kind") != "message" or entry.get("internal"):
            continue
        sender = entry.get("from") or {}
        role = sender.get("role", "") if isinstance(sender, dict) else ""
        who = "" if role == "shopper" else str(sender.get("name") or role or "")
        lines.append({"who": who, "role": role, "text": str(entry.get("text", ""))})
    return lines


def retry_delay_ms(tries: int) -> int:
    """How long to wait after the `tries`-th failed attempt (1-based): doubling, capped."""
    return int(min(FIRST_RETRY_MS * 2 ** max(tries - 1, 0), LAST_RETRY_MS))


def gives_up(tries: int, max_tries: int = MAX_TRIES) -> bool:
    """Whether a mail that failed `tries` times goes to the dead-letter list."""
    return tries >= max_tries


def message_id(key: str, domain: str) -> str:
    """The Message-ID of the mail with idempotency `key`: the same on every retry and every
    process, so a receiver that dedupes by Message-ID shows a resent mail once."""
    return f"<{key}@{domain}>"
