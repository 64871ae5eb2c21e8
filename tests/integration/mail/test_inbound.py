"""Shoppers' replies by mail back into their conversation: through the HTTP inbound endpoint
and the built-in SMTP receiver, real server processes, a real SMTP server for what goes out."""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

import aiosmtplib
import httpx
import pytest
from redis.asyncio import Redis

from chatserver.client import Client
from tests.conftest import scaled
from tests.integration.conftest import StartServer
from tests.integration.mail.conftest import Clock, SmtpSink, free_port
from tests.integration.mail.test_replies import chat_with_email, say
from tests.integration.servers import ServerProcess

DOMAIN = "in.shop.example"
SECRET = "inbound-secret-0123456789"
INBOUND: dict[str, Any] = {"CHAT_MAIL_REPLY_DELAY_SECONDS": 1, "CHAT_MAIL_INBOUND_DOMAIN": DOMAIN,
           "CHAT_MAIL_INBOUND_SECRET": SECRET, "CHAT_MAIL_FROM": "help@shop.example"}  # fmt: skip


def reply(
    sender: str, to: str, text: str, quoted: str = "", message_id: str = "", **headers: str
) -> EmailMessage:
    """A reply as a mail client writes it: the new text above the quoted mail."""
    msg = EmailMessage()
    msg["From"] = f"Li Lei <{sender}>"
    msg["To"] = to
    msg["Subject"] = "Re: New reply"
    msg["Date"] = formatdate()
    msg["Message-ID"] = message_id or make_msgid(domain="example.com")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    body = text
    if quoted:
        body += "\n\nOn Tue, 1 Dec 2026 at 10:00, Shop <help@shop.example> wrote:\n"
        body += "\n".join(f"> {line}" for line in quoted.splitlines())
    msg.set_content(body + "\n")
    return msg


async def post(
    server: ServerProcess, msg: EmailMessage | bytes, secret: str = SECRET
) -> httpx.Response:
    raw = msg if isinstance(msg, bytes) else msg.as_bytes()
    async with httpx.AsyncClient(base_url=server.base_url, trust_env=False) as http:
        return await http.post("/api/v1/mail/inbound", content=raw, auth=("inbound", secret),
                               headers={"Content-Type": "message/rfc822"})  # fmt: skip


async def mailed_conversation(
    server: ServerProcess, redis: Redis, site_key: str, sink: SmtpSink, clock: Clock
) -> tuple[Client, str, str, str]:
    """An agent's reply mailed to a shopper who left: (agent, conversation, shopper's address,
    the mail's Reply-To)."""
    email = f"li-{site_key}@example.com"
    shopper, agent, conv = await chat_with_email(server, redis, site_key, email)
    await shopper.close()
    await say(agent, conv, "a1", "Which colour would you like?")
    clock.advance(2)
    [mail] = await sink.wait_for(email, 1, scaled(20))
    return agent, conv, email, str(mail["Reply-To"])


async def shopper_lines(agent: Client, conv: str) -> list[dict[str, object]]:
    """The shopper's messages the agent received so far, once a new line of the agent's came
    back (the conversation's entries arrive in order: any earlier one is here by then)."""
    marker = await say(agent, conv, f"m{len(agent.received)}", "(checking)")
    await agent.wait_for("message", scaled(10), id=marker)
    return [f for f in agent.received
            if f["type"] == "message" and (f.get("from") or {}).get("role") == "shopper"
            and f["conversation_id"] == conv]  # fmt: skip


async def test_a_reply_through_the_http_endpoint_lands_once_without_the_quote(
    redis: Redis, site_key: str, servers: StartServer, smtp_sink: Callable[[], SmtpSink],
    clock: Clock,
) -> None:  # fmt: skip
    sink = smtp_sink()
    await sink.start()
    server = await servers(CHAT_SMTP_URL=sink.url, **INBOUND, **clock.env())
    agent, conv, email, reply_to = await mailed_conversation(server, redis, site_key, sink, clock)

    answer = reply(email, reply_to, "The green one, please.", "Which colour would you like?")
    first = await post(server, answer)
    async with httpx.AsyncClient(base_url=server.base_url, trust_env=False) as http:
        again = await http.post(  # delivered twice, the second time as Mailgun posts it
            "/api/v1/mail/inbound", auth=("inbound", SECRET),
            files={"body-mime": (None, answer.as_bytes()), "recipient": (None, reply_to)},
        )  # fmt: skip
    assert first.json() == {"status": "appended", "reason": None}
    assert again.json() == {"status": "duplicate", "reason": None}

    line = await agent.wait_for("message", scaled(10), conversation_id=conv, via="email")
    assert line["text"] == "The green one, please."
    assert [f["text"] for f in await shopper_lines(agent, conv)] == [
        "Is the teapot glazed inside?", "The green one, please."]  # fmt: skip
    await agent.close()


async def test_forged_tokens_bounces_auto_replies_and_strangers_are_refused(
    redis: Redis, site_key: str, servers: StartServer, smtp_sink: Callable[[], SmtpSink],
    clock: Clock,
) -> None:  # fmt: skip
    sink = smtp_sink()
    await sink.start()
    server = await servers(CHAT_SMTP_URL=sink.url, **INBOUND, **clock.env())
    agent, conv, email, reply_to = await mailed_conversation(server, redis, site_key, sink, clock)
    local, _, domain = reply_to.partition("@")
    forged = local[:-5] + ("a" if local[-5] != "a" else "b") + local[-4:] + "@" + domain

    assert (await post(server, reply(email, reply_to, "hi"), secret="wrong" * 5)).status_code == 401
    refusals = {
        "forged_token": reply(email, forged, "let me in"),
        "unknown_recipient": reply(email, f"sales@{DOMAIN}", "hello"),
        "sender_mismatch": reply(f"mallory-{site_key}@example.com", reply_to, "I am Li"),
        "bounce": reply(email, reply_to, "Delivery failed", Return_Path="<>"),
        "auto_reply": reply(email, reply_to, "I am on holiday", Auto_Submitted="auto-replied"),
    }
    bulk = reply(email, reply_to, "Newsletter", Precedence="bulk")
    report = reply(email, reply_to, "x")
    report.make_mixed()
    report.replace_header(
        "Content-Type", 'multipart/report; report-type=delivery-status; boundary="b"'
    )
    for reason, msg in refusals.items():
        response = await post(server, msg)
        assert response.json() == {"status": "refused", "reason": reason}, reason
    assert (await post(server, bulk)).json()["reason"] == "auto_reply"
    assert (await post(server, report)).json()["reason"] == "bounce"
    assert [f["text"] for f in await shopper_lines(agent, conv)] == ["Is the teapot glazed inside?"]
    await agent.close()


async def test_a_reply_through_the_smtp_receiver_lands_once(
    redis: Redis, site_key: str, servers: StartServer, smtp_sink: Callable[[], SmtpSink],
    clock: Clock,
) -> None:  # fmt: skip
    sink = smtp_sink()
    await sink.start()
    port = free_port()
    server = await servers(CHAT_SMTP_URL=sink.url, CHAT_MAIL_INBOUND_LISTEN=f"127.0.0.1:{port}",
                           **INBOUND, **clock.env())  # fmt: skip
    agent, conv, email, reply_to = await mailed_conversation(server, redis, site_key, sink, clock)

    answer = reply(email, reply_to, "Green, thanks!", "Which colour would you like?")
    for _ in range(2):  # the sender's system delivers it twice
        await aiosmtplib.send(answer, hostname="127.0.0.1", port=port, timeout=scaled(10))
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
        await aiosmtplib.send(reply(email, f"reply+{'a' * 42}@{DOMAIN}", "forged"),
                              hostname="127.0.0.1", port=port, timeout=scaled(10))  # fmt: skip
    # A bounce (null sender) and an out-of-office answer are taken (no bounce of a bounce)
    # and dropped.
    await aiosmtplib.send(reply(email, reply_to, "Undeliverable"), sender="",
                          recipients=[reply_to], hostname="127.0.0.1", port=port,
                          timeout=scaled(10))  # fmt: skip
    await aiosmtplib.send(reply(email, reply_to, "Out of office", Auto_Submitted="auto-replied"),
                          hostname="127.0.0.1", port=port, timeout=scaled(10))  # fmt: skip

    line = await agent.wait_for("message", scaled(10), conversation_id=conv, via="email")
    assert line["text"] == "Green, thanks!"
    assert [f["text"] for f in await shopper_lines(agent, conv)] == [
        "Is the teapot glazed inside?", "Green, thanks!"]  # fmt: skip
    await agent.close()


async def test_a_reply_to_a_closed_conversation_continues_in_a_new_one_with_the_same_agent(
    redis: Redis, site_key: str, servers: StartServer, smtp_sink: Callable[[], SmtpSink],
    clock: Clock,
) -> None:  # fmt: skip
    sink = smtp_sink()
    await sink.start()
    server = await servers(CHAT_SMTP_URL=sink.url, **INBOUND, **clock.env())
    agent, conv, email, reply_to = await mailed_conversation(server, redis, site_key, sink, clock)
    await agent.send({"type": "close", "conversation_id": conv, "outcome": "resolved"})
    await agent.wait_for("conversation", scaled(10), conversation_id=conv, state="closed")

    assert (await post(server, reply(email, reply_to, "Actually, one more question"))).json()[
        "status"] == "appended"  # fmt: skip
    summary = await agent.wait_for("conversation", scaled(10), state="assigned",
                                   where=lambda f: f["conversation_id"] != conv)  # fmt: skip
    line = await agent.wait_for("message", scaled(10), via="email",
                                conversation_id=summary["conversation_id"])  # fmt: skip
    assert line["text"] == "Actually, one more question"
    await agent.close()
