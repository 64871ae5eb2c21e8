"""Turn a `core.mail.Mail` into the RFC 5322 message that goes out: a multipart (text and
HTML) rendered from the jinja2 templates in `templates/`, with the headers automatic mail
needs (Message-ID from the idempotency key, Auto-Submitted, Reply-To when there is one)."""

from __future__ import annotations

import functools
import json
from email.message import EmailMessage
from email.utils import formatdate
from importlib import resources
from typing import Any

import jinja2

from chatserver.core.mail import Mail, message_id

_TEMPLATES = resources.files("chatserver.mail") / "templates"


def compose(mail: Mail, sender: str, now_s: float) -> EmailMessage:
    """The message for `mail`, from `sender` ('Name <addr@domain>' or 'addr@domain')."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = mail.to
    msg["Subject"] = _subject(mail)
    msg["Date"] = formatdate(now_s, localtime=False)
    msg["Message-ID"] = message_id(mail.key, domain_of(sender))
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: auto-responders must not answer it
    if mail.reply_to:
        msg["Reply-To"] = mail.reply_to
    msg.set_content(_render(mail, "txt"))
    msg.add_alternative(_render(mail, "html"), subtype="html")
    return msg


def domain_of(address: str) -> str:
    """The domain of an address ('Shop <a@shop.example>' -> 'shop.example')."""
    return address.rsplit("@", 1)[-1].strip().rstrip(">").strip() or "localhost"


def _render(mail: Mail, kind: str) -> str:
    template = _environment(kind == "html").get_template(f"{mail.template}.{mail.language}.{kind}")
    return template.render(**mail.values)


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
