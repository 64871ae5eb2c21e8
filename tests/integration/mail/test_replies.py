"""Agents' lines a shopper did not see in the widget reach them by mail: real server
processes, the session's Redis, a real SMTP server (aiosmtpd in the test process)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis

from chatserver.client import Client
from tests.conftest import scaled
from tests.integration.conftest import StartServer
from tests.integration.mail.conftest import Clock, SmtpSink
from tests.integration.servers import ServerProcess
from tests.integration.world import agent_client, make_agent, make_site, shopper_client

FAST: dict[str, Any] = {
    "CHAT_MAIL_REPLY_DELAY_SECONDS": 1,
    "CHAT_MAIL_INBOUND_DOMAIN": "in.shop.example",
}


async def chat_with_email(
    server: ServerProcess, redis: Redis, site_key: str, email: str
) -> tuple[Client, Client, str]:
    """A shopper who gave their email in the pre-chat form, chatting with agent Ann."""
    site = await make_site(redis, site_key)
    await make_agent(redis, site, f"{site_key}-ann")
    agent = await agent_client(server, f"{site_key}-ann")
    shopper, _ = await shopper_client(server, site)
    await shopper.send({"type": "start", "text": "Is the teapot glazed inside?",
                        "client_msg_id": "s1", "email": email, "name": "Li Lei"})  # fmt: skip
    conv = str((await shopper.wait_for("ack", scaled(10), client_msg_id="s1"))["conversation_id"])
    await agent.wait_for("conversation", scaled(10), conversation_id=conv, state="assigned")
    return shopper, agent, conv


async def say(agent: Client, conv: str, cmid: str, text: str) -> str:
    await agent.send({"type": "message", "conversation_id": conv, "client_msg_id": cmid,
                      "text": text})  # fmt: skip
    return str((await agent.wait_for("ack", scaled(10), client_msg_id=cmid))["id"])


def replies(sink: SmtpSink, email: str) -> list[str]:
    """The text parts of the agent-reply mails to `email`."""
    found = []
    for msg in sink.to(email):
        if msg["Message-ID"].startswith("<reply."):
            body = msg.get_body(("plain",))
            assert body is not None
            found.append(str(body.get_content()))
    return found


async def marker(shopper: Client, conv: str, sink: SmtpSink, email: str, count: int) -> None:
    """Mail queued after everything before it: once the transcript is here, any mail queued
    before it is too (one outbox, read in order)."""
    await shopper.send({"type": "transcript", "conversation_id": conv, "email": email})
    await shopper.wait_for("event", scaled(10), event="transcript_requested")
    await sink.wait_for(email, count, scaled(20))


async def test_lines_written_after_the_shopper_left_arrive_in_one_mail_once(
    redis: Redis, site_key: str, servers: StartServer, smtp_sink: Callable[[], SmtpSink],
    clock: Clock,
) -> None:  # fmt: skip
    sink = smtp_sink()
    await sink.start()
    server = await servers(CHAT_SMTP_URL=sink.url, CHAT_MAIL_FROM="help@shop.example", **FAST,
                           **clock.env())  # fmt: skip
    email = f"li-{site_key}@example.com"
    shopper, agent, conv = await chat_with_email(server, redis, site_key, email)
    await shopper.close()  # the shopper left the page
    first = await say(agent, conv, "a1", "Yes, a food-safe glaze.")
    second = await say(agent, conv, "a2", "It holds 600 ml <b>exactly</b>.")
    clock.advance(2)  # past the delay of both lines

    [mail] = await sink.wait_for(email, 1, scaled(20))
    assert mail["Message-ID"] == f"<reply.{conv}.{second}@shop.example>"
    assert mail["Reply-To"].startswith("reply+") and mail["Reply-To"].endswith("@in.shop.example")
    assert mail["References"] == f"<thread.{conv}@shop.example>"
    assert mail["Auto-Submitted"] is None  # a person wrote it
    body = replies(sink, email)[0]
    assert "Yes, a food-safe glaze." in body and "600 ml <b>exactly</b>" in body
    html = mail.get_body(("html",))
    assert html is not None and "&lt;b&gt;exactly&lt;/b&gt;" in html.get_content()
    # The console marks the lines that went out by mail.
    emailed = await agent.wait_for("event", scaled(10), event="emailed")
    assert emailed["entries"] == [first, second]

    # Each line once: the next mail holds only what was written since.
    await say(agent, conv, "a3", "One more thing: it ships tomorrow.")
    clock.advance(2)
    await sink.wait_for(email, 2, scaled(20))
    later = replies(sink, email)
    assert len(later) == 2
    assert "ships tomorrow" in later[1] and "food-safe" not in later[1]
    await agent.close()


async def test_no_mail_for_lines_the_shopper_read_in_the_widget(
    redis: Redis, site_key: str, servers: StartServer, smtp_sink: Callable[[], SmtpSink],
    clock: Clock,
) -> None:  # fmt: skip
    sink = smtp_sink()
    await sink.start()
    server = await servers(CHAT_SMTP_URL=sink.url, **FAST, **clock.env())
    email = f"li-{site_key}@example.com"
    shopper, agent, conv = await chat_with_email(server, redis, site_key, email)
    seen = await say(agent, conv, "a1", "Seen live in the widget.")
    await shopper.wait_for("message", scaled(10), id=seen)
    await shopper.send({"type": "read", "conversation_id": conv, "up_to": seen})
    await agent.wait_for("read", scaled(10), conversation_id=conv, up_to=seen)
    await say(agent, conv, "a2", "Written while the tab was in the background.")
    clock.advance(2)

    [mail] = await sink.wait_for(email, 1, scaled(20))
    assert mail["Message-ID"].startswith("<reply.")
    body = replies(sink, email)[0]
    assert "in the background" in body and "Seen live" not in body
    await marker(shopper, conv, sink, email, 2)
    assert len(replies(sink, email)) == 1
    await shopper.close()
    await agent.close()
