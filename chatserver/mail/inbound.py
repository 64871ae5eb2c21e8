"""Shoppers' replies by mail, back into their conversation.

Every mail of a conversation carries `Reply-To: reply+TOKEN@<inbound domain>`, TOKEN signed
with the server's secret (`core.mail.reply_token`). A reply arrives through the built-in SMTP
receiver (`receiver.py`) or the HTTP endpoint (`web/mail_api.py`); both hand the raw message to
`receive`, which refuses and logs (never appends) bounces, auto-replies, unknown or forged
tokens and mail from another address than the conversation's contact, and otherwise appends
the new part of the reply (quoted history and signature stripped, HTML turned into text) as
the shopper's message, once per Message-ID:

- an open conversation gets the message (a queued one moves to the department's inbox: the
  shopper is answering by mail, not waiting in the widget);
- an ended one is never reopened (docs/protocol.md): the reply starts a new conversation of
  the same visitor in the same department, routed like any (to the agent who served them last
  if free), and left in the inbox when nobody can take it.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser
from typing import TYPE_CHECKING

from mailparser_reply import EmailReplyParser

from chatserver.core import mail
from chatserver.core.frames import MAX_TEXT_CHARS
from chatserver.core.model import ConversationState, FirstMessage
from chatserver.store.transcripts import Refused

if TYPE_CHECKING:
    from chatserver.hub import Hub

log = logging.getLogger(__name__)
MAX_BYTES = 10 * 1024 * 1024  # a larger reply is refused (attachments are not taken by mail)
PENDING_SECONDS = 300  # a reply being appended when its process died is taken again after this
_RECIPIENT_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "To", "Cc")
# Chinese mail clients' "On ... wrote:" lines: "在 2026年12月1日 10:00，Shop <a@b> 写道：" (Gmail,
# Apple Mail), "Shop <a@b> 于2026年12月1日周二 10:00写道：" (Gmail); the reply parser knows only a
# line that starts with the date.
_ZH_WROTE = re.compile(r"^\s*(?:>\s*)*(?:在.*|.*于.*)写道\s*[：:]\s*$", re.MULTILINE)
_PARSER = EmailReplyParser(languages=["en", "zh"])


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of a reply: status 'appended', 'duplicate', 'refused' or 'retry' (being
    appended by another delivery right now: try again later); `reason` says why it was
    refused."""

    status: str
    reason: str = ""
    conversation_id: str = ""


# --- reading the message (no I/O) ---------------------------------------------------------
def parse(raw: bytes) -> EmailMessage:
    msg = message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def automatic(msg: EmailMessage, envelope_from: str | None = None) -> str:
    """Why `msg` is no person's reply: 'bounce' (null sender, a delivery report, a mailer
    daemon), 'auto_reply' (RFC 3834 Auto-Submitted, Precedence bulk/junk/list, X-Autoreply),
    or '' (a person wrote it)."""
    return_path = str(msg.get("Return-Path", "") or "").strip()
    content_type = msg.get_content_type()
    sender = parseaddr(str(msg.get("From", "") or ""))[1].lower()
    if envelope_from == "" or return_path == "<>" or content_type == "multipart/report":
        return "bounce"
    if sender.split("@")[0] in ("mailer-daemon", "postmaster"):
        return "bounce"
    if str(msg.get("Auto-Submitted", "no") or "no").strip().lower().split(";")[0] != "no":
        return "auto_reply"
    if str(msg.get("Precedence", "") or "").strip().lower() in ("bulk", "junk", "list"):
        return "auto_reply"
    if any(msg.get(h) is not None for h in ("X-Autoreply", "X-Autorespond", "X-Auto-Reply")):
        return "auto_reply"
    return ""


def recipients(msg: EmailMessage, envelope_to: list[str] | None = None) -> list[str]:
    """Where the message was sent: the envelope's recipients, else its headers'."""
    if envelope_to:
        return list(envelope_to)
    values = [str(v) for h in _RECIPIENT_HEADERS for v in msg.get_all(h, [])]
    return [address for _, address in getaddresses(values) if address]


def sender_of(msg: EmailMessage) -> str:
    return parseaddr(str(msg.get("From", "") or ""))[1].strip().lower()


def reply_text(msg: EmailMessage) -> str:
    """What the sender wrote in this reply: the text part (else the HTML part as text), its
    quoted history and signature removed, at most MAX_TEXT_CHARS."""
    part = msg.get_body(("plain", "html"))
    if part is None:
        return ""
    try:
        body = str(part.get_content())
    except (LookupError, ValueError):  # an unknown charset
        payload = part.get_payload(decode=True)
        body = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    if part.get_content_type() == "text/html":
        body = html_to_text(body)
    return strip_quoted(body)[:MAX_TEXT_CHARS]


def strip_quoted(body: str) -> str:
    """The new part of a reply's text: before "On ... wrote:" (en, zh) or a forwarded header,
    without the quoted lines and the signature (mail-parser-reply)."""
    body = body.replace("\r\n", "\n")
    zh = _ZH_WROTE.search(body)
    if zh is not None:
        body = body[: zh.start()]
    parsed = _PARSER.read(body)
    text = parsed.replies[0].body if parsed.replies else body
    lines = [line for line in text.split("\n") if not line.lstrip().startswith(">")]
    return "\n".join(lines).strip()


class _TextOfHtml(HTMLParser):
    """The text of an HTML mail: no markup, no scripts or styles, no quoted history (a
    blockquote, Gmail's gmail_quote); blocks and <br> become line breaks."""

    _BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6",
                         "table", "ul", "ol", "pre", "hr"})  # fmt: skip
    _SKIPPED = frozenset({"script", "style", "head", "title", "blockquote"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip: list[str] = []  # the tags being skipped (nested)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = " ".join(v or "" for k, v in attrs if k in ("class", "id"))
        if self._skip or tag in self._SKIPPED or "gmail_quote" in classes:
            if tag not in ("br", "hr", "img", "meta", "link", "input"):
                self._skip.append(tag)
            return
        if tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self._skip:
            if self._skip[-1] == tag:
                self._skip.pop()
            return
        if tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _TextOfHtml()
    parser.feed(html)
    parser.close()
    text = re.sub(r"[ \t\r\f\v]+", " ", "".join(parser.parts))
    return re.sub(r"\n\s*\n+", "\n\n", "\n".join(line.strip() for line in text.split("\n")))


def client_msg_id(msg: EmailMessage, raw: bytes) -> str:
    """The message's client message id: from its Message-ID (the same mail delivered twice
    has the same), else from its bytes."""
    source = str(msg.get("Message-ID", "") or "").strip().encode() or raw
    return "mail-" + hashlib.sha256(source).hexdigest()[:32]


# --- into the conversation --------------------------------------------------------------
async def receive(
    hub: Hub, secret: bytes, domain: str, raw: bytes, envelope_from: str | None = None,
    envelope_to: list[str] | None = None,
) -> Outcome:  # fmt: skip
    """Append the reply `raw` to its conversation once, or refuse it (logged)."""
    outcome = await _receive(hub, secret, domain, raw, envelope_from, envelope_to)
    if outcome.status == "refused":
        log.warning("inbound mail refused (%s) for conversation %r", outcome.reason,
                    outcome.conversation_id)  # fmt: skip
    else:
        log.info("inbound mail %s in conversation %s", outcome.status, outcome.conversation_id)
    return outcome


async def _receive(
    hub: Hub, secret: bytes, domain: str, raw: bytes, envelope_from: str | None,
    envelope_to: list[str] | None,
) -> Outcome:  # fmt: skip
    if len(raw) > MAX_BYTES:
        return Outcome("refused", "too_large")
    msg = parse(raw)
    why = automatic(msg, envelope_from)
    if why:
        return Outcome("refused", why)
    tokens = [t for t in (mail.token_of_address(a, domain) for a in recipients(msg, envelope_to))
              if t]  # fmt: skip
    if not tokens:
        return Outcome("refused", "unknown_recipient")
    conv_id = next((c for c in (mail.token_conversation(secret, t) for t in tokens) if c), "")
    if not conv_id:
        return Outcome("refused", "forged_token")
    site_key = await hub.outbox.thread_site(conv_id) if hub.outbox is not None else ""
    conv = await hub.conversation(site_key, conv_id) if site_key else None
    if conv is None:
        return Outcome("refused", "unknown_conversation", conv_id)
    customer = await hub.customers.get(site_key, conv.customer) if conv.customer else None
    contact = mail.contact_email(conv.extra, customer.email if customer else "").lower()
    if not contact or sender_of(msg) != contact:
        return Outcome("refused", "sender_mismatch", conv_id)
    text = reply_text(msg)
    if not text:
        return Outcome("refused", "empty", conv_id)
    cmid = client_msg_id(msg, raw)
    assert hub.outbox is not None
    done = await hub.outbox.inbound_claim(cmid, PENDING_SECONDS * 1000)
    if done == "pending":
        return Outcome("retry", "being_appended", conv_id)
    if done:
        return Outcome("duplicate", "", done)
    try:
        target = await _append(hub, conv_id, site_key, cmid, text)
    except Refused as exc:
        await hub.outbox.inbound_release(cmid)
        return Outcome("refused", f"conversation_{exc.reason}", conv_id)
    except BaseException:
        await hub.outbox.inbound_release(cmid)
        raise
    await hub.outbox.inbound_done(cmid, target)
    return Outcome("appended", "", target)


async def _append(hub: Hub, conv_id: str, site_key: str, cmid: str, text: str) -> str:
    """Append the reply where the routing rules put it; returns that conversation's id."""
    conv = await hub.conversation(site_key, conv_id)
    site = await hub.site(site_key)
    if conv is None or site is None:
        raise Refused("gone")
    sender = {"role": "shopper", "id": conv.visitor}
    if not conv.open:  # ended conversations never reopen: a new one continues it
        extra = {k: v for k, v in conv.extra.items() if k in ("name", "email")}
        extra.update(left_message="1", continues=conv.id)
        department = conv.department if conv.department in site.departments else ""
        conv = await hub.start_conversation(
            site, conv.visitor, department or site.default_department, customer=conv.customer,
            extra=extra, first=FirstMessage(sender, cmid, text, via="email"),
        )  # fmt: skip
        await hub.event(conv_id, "continued", continued_in=conv.id, via="email", internal=True)
    await hub.post(conv, sender, cmid, text, via="email")  # stored once (deduplicated)
    if conv.state is ConversationState.QUEUED:  # answering by mail, not waiting in the widget
        await hub.leave_message(conv)
    return conv.id
