"""Attachments in mails: a line shows its file's name, linked with the URL signed when the mail
goes out; without a public base URL, the name alone."""

from __future__ import annotations

from typing import Any

from chatserver.config import Settings
from chatserver.core import mail
from chatserver.core.attachments import Signer, signing_key
from chatserver.mail import file_links, public_base
from chatserver.mail.compose import compose

CONV = "0123456789abcdef0123456789abcdef"
PHOTO = {"id": "a1", "name": "mug <cracked>.jpg", "type": "image/jpeg", "size": 10}


def _agent_lines() -> list[dict[str, str]]:
    entries: list[tuple[str, dict[str, Any]]] = [
        ("1-0", {"kind": "message", "from": {"role": "agent", "name": "Ann"}, "text": "",
                 "attachment": PHOTO}),
        ("2-0", {"kind": "note", "internal": True, "from": {"role": "agent", "name": "Ann"},
                 "text": "secret", "attachment": PHOTO}),
    ]  # fmt: skip
    lines, ids = mail.unseen_agent_lines(entries, "")
    assert ids == ["1-0"]  # never a note, with or without a file
    return lines


def test_an_agents_file_is_linked_in_the_reply_mail_and_escaped_in_html() -> None:
    sent = mail.agent_replies(CONV, "1-0", "li@example.com", "Shop", _agent_lines(), "en", "s1")
    links = file_links(Settings(public_url="https://chat.shop.example/"), b"k" * 32, lambda: 1000)
    msg = compose(sent, "Shop <help@shop.example>", 0, links=links)
    text, html = msg.get_body(("plain",)), msg.get_body(("html",))
    assert text is not None and html is not None
    url = links(CONV, "a1")
    assert url.startswith(f"https://chat.shop.example/files/{CONV}/a1/file?e=")
    expires = int(url.split("e=")[1].split("&")[0])
    assert expires == 1000 + 7 * 86_400_000  # the default: a week
    signer = Signer(signing_key(b"k" * 32), 0)
    assert signer.check(CONV, "a1", "file", str(expires), url.split("s=")[1], 2000) == ""
    assert f"Ann: [mug <cracked>.jpg: {url}]" in text.get_content()
    assert (
        f'<a href="{url.replace("&", "&amp;")}">mug &lt;cracked&gt;.jpg</a>' in html.get_content()
    )


def test_without_a_base_url_the_file_is_named_not_linked() -> None:
    assert public_base(Settings(host="0.0.0.0", port=8000)) == ""
    assert public_base(Settings(host="127.0.0.1", port=8000)) == "http://127.0.0.1:8000"
    links = file_links(Settings(host="0.0.0.0"), b"k" * 32, lambda: 0)
    entries = [{"kind": "message", "from": {"role": "shopper"}, "text": "look",
                "attachment": PHOTO}]  # fmt: skip
    sent = mail.transcript(CONV, "3-0", "li@example.com", "商店", entries, "zh-CN")
    text = compose(sent, "chat@shop.example", 0, links=links).get_body(("plain",))
    assert text is not None and "您：look [mug <cracked>.jpg]" in text.get_content()
