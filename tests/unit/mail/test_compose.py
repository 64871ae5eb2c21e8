"""The message a mail becomes: multipart text + HTML, headers of automatic mail, escaping."""

from __future__ import annotations

from chatserver.core import mail
from chatserver.mail import from_record, to_record
from chatserver.mail.compose import compose, domain_of


def test_an_acknowledgement_has_both_parts_and_the_headers_of_automatic_mail() -> None:
    ack = mail.left_message_ack("c1", "li@example.com", "Shop & Co", "Li", 12, "en")
    msg = compose(ack, "Shop <help@shop.example>", 0)
    assert msg["Message-ID"] == "<ack.c1@shop.example>"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["To"] == "li@example.com"
    assert msg["Reply-To"] is None  # inbound replies are not handled yet
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert text is not None and html is not None
    assert "12 hours" in text.get_content() and "Shop & Co" in text.get_content()
    assert "Shop &amp; Co" in html.get_content()


def test_the_chinese_transcript_escapes_what_people_wrote_in_the_html_part() -> None:
    entries = [{"kind": "message", "from": {"role": "shopper"}, "text": "<b>你好</b>"}]
    sent = mail.transcript("c1", "1-0", "li@example.com", "商店", entries, "zh-CN")
    msg = compose(sent, "chat@shop.example", 0)
    assert "对话记录" in str(msg["Subject"])
    html = msg.get_body(("html",))
    text = msg.get_body(("plain",))
    assert html is not None and text is not None
    assert "&lt;b&gt;你好&lt;/b&gt;" in html.get_content()
    assert "您：<b>你好</b>" in text.get_content()


def test_a_record_round_trips_with_its_tries() -> None:
    ack = mail.left_message_ack("c1", "li@example.com", "Shop", "", 24, "en")
    assert from_record(to_record(ack, 3)) == (ack, 3)


def test_domain_of_reads_bare_and_named_addresses() -> None:
    assert domain_of("a@b.example") == "b.example"
    assert domain_of("Shop <a@b.example>") == "b.example"
