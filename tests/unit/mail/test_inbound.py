"""Reading shoppers' replies: what is new in them, what is automatic, the signed address."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

import pytest

from chatserver.core import mail
from chatserver.mail.inbound import automatic, html_to_text, reply_text, strip_quoted

CONV = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(
    ("body", "new"),
    [
        ("Yes, the blue one.\n\nOn Tue, 1 Dec 2026 at 10:00, Shop <a@shop.example> wrote:\n"
         "> Which colour?\n> Thanks", "Yes, the blue one."),
        ("好的，谢谢！\n\n在 2026年12月1日 10:00，Shop <a@shop.example> 写道：\n> 您好",
         "好的，谢谢！"),
        ("要蓝色的\n\nShop <a@shop.example> 于2026年12月1日周二 10:00写道：\n> 哪个颜色？",
         "要蓝色的"),
        ("Sure thing.\n\n-- \nLi Lei\nSent from my phone", "Sure thing."),
        ("Two lines\nof news", "Two lines\nof news"),
    ],
)  # fmt: skip
def test_only_the_new_part_of_a_reply_is_kept(body: str, new: str) -> None:
    assert strip_quoted(body) == new


def test_html_only_mail_becomes_text_without_markup_scripts_or_the_quote() -> None:
    html = ('<div dir="ltr">Hi <b>there</b> &amp; &lt;you&gt;<br>line two'
            '<script>alert(1)</script><style>p{}</style></div>'
            '<div class="gmail_quote">On Tue wrote:'
            '<blockquote>old text</blockquote></div>')  # fmt: skip
    assert html_to_text(html).strip() == "Hi there & <you>\nline two"
    msg = EmailMessage()
    msg.set_content(html, subtype="html")
    assert reply_text(msg) == "Hi there & <you>\nline two"


def _mail(**headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = headers.pop("From", "li@example.com")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content("text")
    return msg


def test_bounces_and_auto_replies_are_told_apart_from_a_person() -> None:
    assert automatic(_mail()) == ""
    assert automatic(_mail(Auto_Submitted="no")) == ""
    assert automatic(_mail(), envelope_from="") == "bounce"
    assert automatic(_mail(Return_Path="<>")) == "bounce"
    assert automatic(_mail(From="MAILER-DAEMON@mx.example")) == "bounce"
    assert automatic(_mail(Auto_Submitted="auto-replied")) == "auto_reply"
    assert automatic(_mail(Precedence="bulk")) == "auto_reply"
    assert automatic(_mail(Precedence="list")) == "auto_reply"
    assert automatic(_mail(X_Autoreply="yes")) == "auto_reply"


def test_a_reply_token_names_its_conversation_and_cannot_be_forged() -> None:
    token = mail.reply_token(b"secret", CONV)
    assert len(f"reply+{token}") <= 64 and token == token.lower()
    assert mail.token_conversation(b"secret", token) == CONV
    assert mail.token_conversation(b"secret", token.upper()) == CONV  # case-folding relays
    assert mail.token_conversation(b"other", token) == ""
    for at in range(len(token)):  # any other spelling, even of the last character's unused bits
        forged = token[:at] + ("a" if token[at] != "a" else "b") + token[at + 1 :]
        assert mail.token_conversation(b"secret", forged) == ""
    assert mail.token_conversation(b"secret", "nonsense") == ""
    address = mail.reply_address(b"secret", CONV, "in.shop.example")
    assert mail.token_of_address(f"<{address}>", "IN.shop.example") == token
    assert mail.token_of_address(address, "other.example") == ""
    assert mail.reply_address(b"secret", CONV, "") == ""


def test_only_the_agents_unseen_messages_are_mailed() -> None:
    entries: list[tuple[str, dict[str, Any]]] = [
        ("1-0", {"kind": "message", "from": {"role": "agent", "name": "Ann"}, "text": "seen"}),
        ("2-0", {"kind": "message", "from": {"role": "shopper"}, "text": "mine"}),
        ("3-0", {"kind": "note", "internal": True, "from": {"role": "agent"}, "text": "note"}),
        ("4-0", {"kind": "event", "event": "assigned"}),
        ("5-0", {"kind": "message", "from": {"role": "agent", "name": "Ann"}, "text": "new"}),
    ]
    lines, ids = mail.unseen_agent_lines(entries, seen="1-0")
    assert lines == [{"who": "Ann", "text": "new"}] and ids == ["5-0"]
    assert mail.later_id("5-0", "10-0") == "10-0" and mail.later_id("", "1-0") == "1-0"


def test_a_site_mail_setting_is_checked() -> None:
    assert mail.SiteMail(out_of_hours_notice="a@x.example, b@y.example").notice_addresses(
        ["amy"]) == ["a@x.example", "b@y.example"]  # fmt: skip
    team = mail.SiteMail(out_of_hours_notice="department")
    assert team.notice_addresses(["amy", "bo@shop.example"]) == ["bo@shop.example"]
    with pytest.raises(ValueError):
        mail.SiteMail(out_of_hours_notice="not an address")
