"""Turn a `core.mail.Mail` into the RFC 5322 message that goes out: a multipart (text and
HTML) rendered from the jinja2 templates in `templates/`, with the headers automatic mail
needs (Message-ID from the idempotency key, Auto-Submitted, Reply-To when there is one)."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import replace
from email import policy
from email.message import EmailMessage
from email.utils import formatdate
from importlib import resources
from typing import Any

import jinja2

from chatserver.core.mail import Mail, message_id, thread_id

_TEMPLATES = resources.files("chatserver.mail") / "templates"


# Headers unfolded up to RFC 5322's 998 characters: a long Message-ID stays on its line.
_POLICY = policy.default.clone(max_line_length=998)
HUMAN_TEMPLATES = ("agent_reply",)  # written by a person: not marked Auto-Submitted


def compose(
    mail: Mail, sender: str, now_s: float, reply_to: str = "",
    links: Callable[[str, str], str] | None = None, unsubscribe: str = "",
) -> EmailMessage:  # fmt: skip
    """The message for `mail`, from `sender` ('Name <addr@domain>' or 'addr@domain').
    `reply_to` (the conversation's signed inbound address) overrides `mail.reply_to`.
    `links(conversation id, attachment id)`: the absolute signed URL of an attachment a line
    shows ('' or no `links`: its name only). `unsubscribe`: the URL that stops the mails of
    the conversation (List-Unsubscribe; one-click, RFC 8058, when it is HTTPS)."""
    mail = _with_links(mail, links)
    msg = EmailMessage(policy=_POLICY)
    domain = domain_of(sender)
    msg["From"] = sender
    msg["To"] = mail.to
    msg["Subject"] = _subject(mail)
    msg["Date"] = formatdate(now_s, localtime=False)
    msg["Message-ID"] = message_id(mail.key, domain)
    if mail.template not in HUMAN_TEMPLATES:
        msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: auto-responders must not answer
    if mail.thread:  # every mail of a conversation in one thread of the shopper's mail client
        msg["In-Reply-To"] = thread_id(mail.thread, domain)
        msg["References"] = thread_id(mail.thread, domain)
    if unsubscribe:
        msg["List-Unsubscribe"] = f"<{unsubscribe}>"
        if unsubscribe.startswith("https://"):
            msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    reply_to = reply_to or mail.reply_to
    if reply_to:
        msg["Reply-To"] = reply_to
    msg.set_content(_render(mail, "txt", bool(reply_to)))
    msg.add_alternative(_render(mail, "html", bool(reply_to)), subtype="html")
    return msg


def _with_links(mail: Mail, links: Callable[[str, str], str] | None) -> Mail:
    """`mail` with each attachment of its lines given its URL (signed now, when it goes out)."""
    lines = mail.values.get("lines")
    if not isinstance(lines, list) or not any("file" in line for line in lines):
        return mail
    linked = []
    for line in lines:
        if "file" in line:
            url = links(mail.thread, line["file"]["id"]) if links and mail.thread else ""
            line = {**line, "file": {**line["file"], "url": url}}
        linked.append(line)
    return replace(mail, values={**mail.values, "lines": linked})


def domain_of(address: str) -> str:
    """The domain of an address ('Shop <a@shop.example>' -> 'shop.example')."""
    return address.rsplit("@", 1)[-1].strip().rstrip(">").strip() or "localhost"


def _render(mail: Mail, kind: str, can_reply: bool) -> str:
    template = _environment(kind == "html").get_template(f"{mail.template}.{mail.language}.{kind}")
    return template.render(**mail.values, can_reply=can_reply)


def _subject(mail: Mail) -> str:
    subjects: dict[str, dict[str, str]] = _subjects()
    return subjects[mail.template][mail.language].format(**_plain(mail.values))


def _plain(values: dict[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in values.items() if isinstance(v, str | int)}


@functools.cache
def _subjects() -> dict[str, dict[str, str]]:
    loaded: dict[str, dict[str, str]] = json.loads((_TEMPLATES / "subjects.json").read_text())
    return loaded


@functools.cache
def _environment(html: bool) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FunctionLoader(lambda name: (_TEMPLATES / name).read_text("utf-8")),
        autoescape=html,  # shoppers' and agents' words go into the HTML part
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
