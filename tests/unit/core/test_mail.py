"""What mail is sent and when it is tried again: plain values in, plain values out."""

from __future__ import annotations

from chatserver.core import mail


def test_retry_delay_doubles_from_two_seconds_and_stops_growing_at_five_minutes() -> None:
    delays = [mail.retry_delay_ms(n) for n in range(1, 12)]
    assert delays[:4] == [2_000, 4_000, 8_000, 16_000]
    assert delays == sorted(delays)
    assert max(delays) == mail.LAST_RETRY_MS


def test_a_mail_is_given_up_after_max_tries() -> None:
    assert not mail.gives_up(mail.MAX_TRIES - 1)
    assert mail.gives_up(mail.MAX_TRIES)


def test_transcript_lines_keep_messages_and_never_internal_notes_or_events() -> None:
    entries = [
        {"kind": "event", "event": "created"},
        {"kind": "message", "from": {"role": "shopper", "id": "v1"}, "text": "hi"},
        {"kind": "note", "from": {"role": "agent", "name": "Ann"}, "text": "VIP",
         "internal": True},
        {"kind": "message", "from": {"role": "agent", "name": "Ann"}, "text": "hello"},
        {"kind": "message", "from": {"role": "agent", "name": "Ann"}, "text": "x", "internal": 1},
    ]  # fmt: skip
    assert mail.transcript_lines(entries) == [
        {"who": "", "role": "shopper", "text": "hi"},
        {"who": "Ann", "role": "agent", "text": "hello"},
    ]


def test_the_acknowledgement_is_one_per_conversation_and_the_transcript_one_per_request() -> None:
    first = mail.left_message_ack("c1", "li@example.com", "Shop", "Li", 24, "zh-CN")
    again = mail.left_message_ack("c1", "other@example.com", "Shop", "", 24, "en")
    assert first.key == again.key == "ack.c1"
    assert first.language == "zh-CN"
    one = mail.transcript("c1", "1-0", "li@example.com", "Shop", [], "fr")
    two = mail.transcript("c1", "2-0", "li@example.com", "Shop", [], "")
    assert one.key != two.key
    assert one.language == two.language == "en"  # no templates in French: English


def test_message_id_is_the_key_at_the_senders_domain() -> None:
    assert mail.message_id("ack.c1", "shop.example") == "<ack.c1@shop.example>"


def test_an_unsubscribe_token_names_its_conversation_and_a_forged_one_nothing() -> None:
    secret, conv = b"s" * 32, "4bf1d6f0d9024a6eb61a15bba12c7751"
    token = mail.unsubscribe_token(secret, conv)
    assert mail.unsubscribe_conversation(secret, token) == conv
    assert mail.unsubscribe_conversation(b"t" * 32, token) == ""
    assert mail.unsubscribe_conversation(secret, token[:-1] + "é") == ""  # not a TypeError
    assert mail.unsubscribe_conversation(secret, "../x.y") == ""
