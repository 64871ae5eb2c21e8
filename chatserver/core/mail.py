"""What mail the server sends and when to try again (sans I/O: no SMTP, no Redis, no clock).

A `Mail` is one message to one shopper, described by plain values: the template to render, the
language, the values the template reads, and an idempotency `key` that names it across every
process (enqueueing the same key twice sends it once; the key is also its Message-ID).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.headerregistry import Address
from email.utils import getaddresses
from typing import Any
from zoneinfo import ZoneInfo

from chatserver.core.widget_settings import WidgetSettings

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
    # The conversation the mail belongs to (and its site): replies to it come back into it
    # (a signed Reply-To), and its mails thread together (References).
    thread: str = ""
    site: str = ""


def language_of(wanted: str) -> str:
    """The language to write in: the site's, if we have templates in it, else English."""
    return wanted if wanted in LANGUAGES else "en"


def left_message_ack(
    conversation_id: str, to: str, site_name: str, name: str, reply_hours: int, language: str,
    site: str = "", opens: str = "",
) -> Mail:  # fmt: skip
    """The acknowledgement of a message left while nobody could answer (one per conversation:
    a second `leave_message` only updates the details). `opens` (`opening_time`): when the
    store opens again, for a message left out of business hours; '' promises `reply_hours`."""
    return Mail(
        key=f"ack.{conversation_id}",
        to=to,
        template="left_message",
        language=language_of(language),
        values={"site": site_name, "name": name, "reply_hours": reply_hours, "opens": opens},
        thread=conversation_id,
        site=site,
    )


_WEEKDAYS = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "zh-CN": ("周一", "周二", "周三", "周四", "周五", "周六", "周日"),
}


def opening_time(hours: WidgetSettings, now_ms: int, language: str) -> str:
    """When the store opens again, as the acknowledgement of a message left at `now_ms` says
    it: 'Monday 09:00 (Asia/Shanghai)' ('周一 09:00（Asia/Shanghai）'); '' when the store is open
    now (or has no hours, or never opens): then the mail promises the site's `reply_hours`."""
    opens_ms = hours.next_open_ms(now_ms)
    if opens_ms is None:
        return ""
    local = datetime.fromtimestamp(opens_ms / 1000, ZoneInfo(hours.timezone))
    lang = language_of(language)
    day = _WEEKDAYS[lang][local.weekday()]
    if lang == "zh-CN":
        return f"{day} {local:%H:%M}（{hours.timezone}）"
    return f"{day} {local:%H:%M} ({hours.timezone})"


def transcript(
    conversation_id: str, request: str, to: str, site_name: str, entries: Iterable[dict[str, Any]],
    language: str, site: str = "",
) -> Mail:  # fmt: skip
    """The transcript the shopper asked for; `request` names the request (each one is a mail)."""
    return Mail(
        key=f"transcript.{conversation_id}.{request}",
        to=to,
        template="transcript",
        language=language_of(language),
        values={"site": site_name, "lines": transcript_lines(entries)},
        thread=conversation_id,
        site=site,
    )


def agent_replies(
    conversation_id: str, upto: str, to: str, site_name: str, lines: list[dict[str, str]],
    language: str, site: str,
) -> Mail:  # fmt: skip
    """The agents' lines a shopper did not see in the widget, in one mail. `upto` is the
    last line's transcript id: the batch (after the previous one, up to it) is its key."""
    return Mail(
        key=f"reply.{conversation_id}.{upto}",
        to=to,
        template="agent_reply",
        language=language_of(language),
        values={"site": site_name, "lines": lines},
        thread=conversation_id,
        site=site,
    )


def unseen_agent_lines(
    entries: Iterable[tuple[str, dict[str, Any]]], seen: str
) -> tuple[list[dict[str, str]], list[str]]:
    """The agents' messages among `entries` (id, entry) after transcript id `seen` (what the
    shopper read in the widget, or was mailed already): their lines and their ids. Internal
    notes, events and the shopper's own messages are never mailed."""
    lines, ids = [], []
    for entry_id, entry in entries:
        if _id_key(entry_id) <= _id_key(seen):
            continue
        sender = entry.get("from") or {}
        if entry.get("kind") != "message" or entry.get("internal") or not isinstance(sender, dict):
            continue
        if sender.get("role") != "agent":
            continue
        lines.append({"who": str(sender.get("name") or ""), "text": str(entry.get("text", "")),
                      **_file_of(entry)})  # fmt: skip
        ids.append(entry_id)
    return lines, ids


def later_id(a: str, b: str) -> str:
    """The later of two transcript (stream) ids ('' counts as the start)."""
    return a if _id_key(a) >= _id_key(b) else b


def _id_key(stream_id: str) -> tuple[int, int]:
    if not stream_id or "-" not in stream_id:
        return (0, 0)
    ms, _, seq = stream_id.partition("-")
    return (int(ms), int(seq)) if ms.isdigit() and seq.isdigit() else (0, 0)


def contact_email(extra: Mapping[str, str], customer_email: str = "") -> str:
    """Where a conversation's mail goes: the address the shopper gave (a left message, the
    pre-chat form), else the verified customer's address from the store; '' if none."""
    return (extra.get("email") or customer_email or "").strip()


# --- the signed reply address -------------------------------------------------------------
# reply+TOKEN@inbound-domain: TOKEN is the conversation id (16 bytes) and an HMAC of it (10
# bytes: 80 bits, unguessable) in lowercase base32, 42 characters. Lowercase because some mail
# systems lowercase local parts; the whole local part stays under RFC 5321's 64 characters.
_TOKEN_MAC_BYTES = 10
_TOKEN = re.compile(r"^[a-z2-7]{42}$")
_CONV_ID = re.compile(r"^[0-9a-f]{32}$")


def reply_token(secret: bytes, conversation_id: str) -> str:
    """The token of a conversation's reply address ('' for an id that is not 32 hex digits)."""
    if not _CONV_ID.fullmatch(conversation_id):
        return ""
    raw = bytes.fromhex(conversation_id)
    return base64.b32encode(raw + _token_mac(secret, raw)).decode().rstrip("=").lower()


def token_conversation(secret: bytes, token: str) -> str:
    """The conversation a reply token names, or '' if it is malformed or not ours (forged)."""
    token = token.lower()
    if not _TOKEN.fullmatch(token):
        return ""
    try:
        raw = base64.b32decode(token.upper() + "======")
    except ValueError:
        return ""
    conv, mac = raw[:16], raw[16:]
    if reply_token(secret, conv.hex()) != token:  # one spelling per token (unused low bits)
        return ""
    return conv.hex() if hmac.compare_digest(mac, _token_mac(secret, conv)) else ""


def reply_address(secret: bytes, conversation_id: str, domain: str) -> str:
    """The conversation's signed reply address ('' without an inbound domain)."""
    token = reply_token(secret, conversation_id) if domain else ""
    return f"reply+{token}@{domain}" if token else ""


def token_of_address(address: str, domain: str) -> str:
    """The token of `reply+TOKEN@domain` ('' for any other address)."""
    local, _, at = address.strip().strip("<>").rpartition("@")
    if at.lower() != domain.lower() or not local.lower().startswith("reply+"):
        return ""
    return local[len("reply+") :]


# --- List-Unsubscribe (RFC 2369, one-click RFC 8058) ---------------------------------------
# Only the mails the shopper did not ask for: the agents' replies and the transcript on close
# (never the acknowledgement or a transcript they requested). It stops the agents' replies by
# mail and the transcript on close of that one conversation.
UNSUBSCRIBABLE = ("reply.", "closed.")


def unsubscribable(mail: Mail) -> bool:
    return bool(mail.thread) and mail.key.startswith(UNSUBSCRIBABLE)


def unsubscribe_token(secret: bytes, conversation_id: str) -> str:
    """CONV.MAC: the conversation and 128 bits of an HMAC of it ('' for a malformed id)."""
    if not _CONV_ID.fullmatch(conversation_id):
        return ""
    mac = hmac.new(secret, b"mail-unsubscribe|" + conversation_id.encode(), hashlib.sha256)
    return f"{conversation_id}.{mac.hexdigest()[:32]}"


def unsubscribe_conversation(secret: bytes, token: str) -> str:
    """The conversation an unsubscribe token names, or '' if it is malformed or forged."""
    conv, _, _ = token.partition(".")
    expected = unsubscribe_token(secret, conv)
    # As bytes: compare_digest raises TypeError on a non-ASCII str (a forged token).
    return conv if expected and hmac.compare_digest(expected.encode(), token.encode()) else ""


def _token_mac(secret: bytes, conversation: bytes) -> bytes:
    return hmac.new(secret, b"mail-reply|" + conversation, hashlib.sha256).digest()[
        :_TOKEN_MAC_BYTES
    ]


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
        lines.append({"who": who, "role": role, "text": str(entry.get("text", "")),
                      **_file_of(entry)})  # fmt: skip
    return lines


def _file_of(entry: dict[str, Any]) -> dict[str, Any]:
    """A message's attachment as a mail line shows it: {'file': {id, name, type}} (the mail
    links it with a signed URL when it is rendered), or nothing."""
    att = entry.get("attachment")
    if not isinstance(att, dict) or not att.get("id"):
        return {}
    return {"file": {"id": str(att["id"]), "name": str(att.get("name") or "file"),
                     "type": str(att.get("type") or "")}}  # fmt: skip


def retry_delay_ms(tries: int, last_ms: int = LAST_RETRY_MS) -> int:
    """How long to wait after the `tries`-th failed attempt (1-based): doubling, capped at
    `last_ms` (--mail-retry-max-seconds)."""
    return int(min(FIRST_RETRY_MS * 2 ** max(tries - 1, 0), last_ms))


def gives_up(tries: int, max_tries: int = MAX_TRIES) -> bool:
    """Whether a mail that failed `tries` times goes to the dead-letter list."""
    return tries >= max_tries


def message_id(key: str, domain: str) -> str:
    """The Message-ID of the mail with idempotency `key`: the same on every retry and every
    process, so a receiver that dedupes by Message-ID shows a resent mail once."""
    return f"<{key}@{domain}>"


def thread_id(conversation_id: str, domain: str) -> str:
    """The Message-ID every mail of a conversation refers to (In-Reply-To, References): mail
    clients show them as one thread."""
    return f"<thread.{conversation_id}@{domain}>"


# --- a site's mail settings (optional mails) -----------------------------------------------
_ADDRESS = re.compile(r"^[^@\s,]+@[^@\s,]+\.[^@\s,]+$")


@dataclass(frozen=True, slots=True)
class SiteMail:
    """What a site mails besides what shoppers ask for. `transcript_on_close`: the transcript
    goes to the conversation's contact address when it closes. `out_of_hours_notice`: who
    hears of a message left while the store is closed: '' nobody, 'department' the agents of
    its department whose login is an email address, else addresses (comma-separated)."""

    transcript_on_close: bool = False
    out_of_hours_notice: str = ""
    # The From of the site's mails ('Shop <help@shop.example>'); '' is the server's --mail-from.
    from_address: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.from_address, str) or (
            self.from_address and self.from_address != from_address(self.from_address)
        ):
            raise ValueError("from must be 'Name <address@domain>' or 'address@domain'")
        notice = self.out_of_hours_notice
        if not isinstance(self.transcript_on_close, bool):
            raise ValueError("transcript_on_close must be true or false")
        if not isinstance(notice, str) or len(notice) > 500:
            raise ValueError("out_of_hours_notice must be a string of at most 500 characters")
        if (
            notice
            and notice != "department"
            and not all(_ADDRESS.fullmatch(a.strip()) for a in notice.split(","))
        ):
            raise ValueError("out_of_hours_notice must be '', 'department' or email addresses")

    def notice_addresses(self, department_logins: Iterable[str]) -> list[str]:
        """Where the out-of-hours notice of a message left in a department goes."""
        if self.out_of_hours_notice == "department":
            return sorted({x for x in department_logins if _ADDRESS.fullmatch(x)})
        return [a.strip() for a in self.out_of_hours_notice.split(",") if a.strip()]


def from_address(value: str) -> str:
    """`value` as a From header: one address with an optional display name, quoted where it
    needs to be ('"Shop" <a@shop.example>' -> 'Shop <a@shop.example>'); '' if it is not one
    well-formed address (several, no domain, line breaks, over 200 characters; a name with a
    comma must be quoted)."""
    if not isinstance(value, str) or len(value) > 200 or any(c in value for c in "\r\n\0"):
        return ""
    found = getaddresses([value.strip()])
    if len(found) != 1 or not _ADDRESS.fullmatch(found[0][1]):
        return ""
    name, addr = found[0]
    try:
        return str(Address(display_name=name.strip(), addr_spec=addr))
    except (ValueError, IndexError):
        return ""


def transcript_on_close(
    conversation_id: str, to: str, site_name: str, entries: Iterable[dict[str, Any]],
    language: str, site: str,
) -> Mail:  # fmt: skip
    """The transcript of a closed conversation (one per conversation)."""
    return Mail(
        key=f"closed.{conversation_id}", to=to, template="transcript",
        language=language_of(language),
        values={"site": site_name, "lines": transcript_lines(entries)},
        thread=conversation_id, site=site,
    )  # fmt: skip


def out_of_hours_notice(
    conversation_id: str, to: str, site_name: str, department: str, name: str, email: str,
    console_url: str, site: str = "",
) -> Mail:  # fmt: skip
    """The team's notice of a message left while the store was closed (one per address and
    conversation). In English: it goes to the team, not to a shopper."""
    return Mail(
        key=f"notice.{conversation_id}.{to}", to=to, template="left_notice", language="en",
        values={"site": site_name, "department": department, "name": name, "email": email,
                "console_url": console_url}, site=site,
    )  # fmt: skip
