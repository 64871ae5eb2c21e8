"""Outbound mail end to end: real server processes, the session's Redis, a real SMTP server."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from redis.asyncio import Redis

from chatserver.client import Client
from tests.conftest import scaled
from tests.integration.conftest import StartServer
from tests.integration.mail.conftest import SmtpSink, free_port
from tests.integration.world import agent_client, make_agent, make_site, shopper_client


async def _leave_message(shopper: Client, email: str) -> str:
    await shopper.send({"type": "start", "text": "Is the red one in stock?", "client_msg_id": "m1",
                        "email": email, "name": "Li Lei", "leave_message": True})  # fmt: skip
    event = await shopper.wait_for("event", scaled(10), event="contact")
    return str(event["conversation_id"])


async def _ask_transcript(shopper: Client, conv: str, email: str) -> None:
    await shopper.send({"type": "transcript", "conversation_id": conv, "email": email})
    await shopper.wait_for("event", scaled(10), event="transcript_requested")


async def test_a_left_message_gets_exactly_one_acknowledgement_mail(
    redis: Redis, site_key: str, servers: StartServer, smtp_sink: Callable[[], SmtpSink]
) -> None:
    sink = smtp_sink()
    await sink.start()
    server = await servers(CHAT_SMTP_URL=sink.url, CHAT_MAIL_FROM="help@shop.example")
    site = await make_site(redis, site_key)
    shopper, _ = await shopper_client(server, site)
    email = f"li-{site_key}@example.com"
    conv = await _leave_message(shopper, email)
    await shopper.send({"type": "leave_message", "conversation_id": conv, "email": email})

    [ack] = await sink.wait_for(email, 1, scaled(20))
    assert ack["Message-ID"] == f"<ack.{conv}@shop.example>"
    assert ack["Auto-Submitted"] == "auto-generated"
    assert ack["From"] == "help@shop.example"
    text, html = ack.get_body(("plain",)), ack.get_body(("html",))
    assert text is not None and html is not None
    assert "Hello Li Lei" in text.get_content() and "24 hours" in text.get_content()
    assert "<html" in html.get_content()

    # The outbox is one stream read in order: once the transcript is here, a second
    # acknowledgement (the second leave_message) would be here too.
    await _ask_transcript(shopper, conv, email)
    mails = await sink.wait_for(email, 2, scaled(20))
    assert [m["Message-ID"].startswith("<ack.") for m in mails] == [True, False]
    await shopper.close()


async def test_a_transcript_has_the_conversations_messages_and_never_internal_notes(
    redis: Redis, site_key: str, servers: StartServer, smtp_sink: Callable[[], SmtpSink]
) -> None:
    sink = smtp_sink()
    await sink.start()
    server = await servers(CHAT_SMTP_URL=sink.url)
    site = await make_site(redis, site_key)
    await make_agent(redis, site, f"{site_key}-ann")
    agent = await agent_client(server, f"{site_key}-ann")
    shopper, _ = await shopper_client(server, site)
    await shopper.send({"type": "start", "text": "Do you ship to Lyon?", "client_msg_id": "s1"})
    conv = str((await shopper.wait_for("ack", scaled(10), client_msg_id="s1"))["conversation_id"])
    await agent.wait_for("conversation", scaled(10), conversation_id=conv, state="assigned")
    await agent.send({"type": "note", "conversation_id": conv, "client_msg_id": "n1",
                      "text": "SECRET internal remark"})  # fmt: skip
    await agent.send({"type": "message", "conversation_id": conv, "client_msg_id": "a1",
                      "text": "Yes, in 3 days <b>free</b>"})  # fmt: skip
    await agent.wait_for("ack", scaled(10), client_msg_id="a1")

    email = f"li-{site_key}@example.com"
    await _ask_transcript(shopper, conv, email)
    [mail] = await sink.wait_for(email, 1, scaled(20))
    text, html = mail.get_body(("plain",)), mail.get_body(("html",))
    assert text is not None and html is not None
    body = text.get_content()
    assert "You: Do you ship to Lyon?" in body
    assert f"{site_key}-ann".title() + ": Yes, in 3 days <b>free</b>" in body
    assert "&lt;b&gt;free&lt;/b&gt;" in html.get_content()
    assert "SECRET" not in mail.as_string()
    await agent.close()
    await shopper.close()


async def test_mail_waits_while_the_smtp_server_is_down_and_none_is_lost(
    redis: Redis, site_key: str, servers: StartServer, smtp_sink: Callable[[], SmtpSink]
) -> None:
    sink = smtp_sink()  # not started: nothing listens on its port
    server = await servers(CHAT_SMTP_URL=sink.url)
    site = await make_site(redis, site_key)
    shopper, _ = await shopper_client(server, site)
    email = f"li-{site_key}@example.com"
    await _leave_message(shopper, email)
    assert not sink.received

    await sink.start()
    [ack] = await sink.wait_for(email, 1, scaled(30))
    assert ack["Message-ID"].startswith("<ack.")
    await shopper.close()


async def test_a_mail_held_by_a_killed_process_is_sent_once_by_another(
    redis: Redis, site_key: str, servers: StartServer, smtp_sink: Callable[[], SmtpSink]
) -> None:
    # An SMTP server that accepts and never answers: the first process's send hangs, so the
    # mail stays read but unsettled (pending in the consumer group) when it is killed.
    connected = asyncio.Event()
    hung: list[asyncio.StreamWriter] = []

    def hang(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        hung.append(writer)
        connected.set()

    black_hole = await asyncio.start_server(hang, "127.0.0.1", free_port())
    port = black_hole.sockets[0].getsockname()[1]
    first = await servers(CHAT_SMTP_URL=f"smtp://127.0.0.1:{port}", CHAT_MAIL_CLAIM_SECONDS=1)
    site = await make_site(redis, site_key)
    shopper, welcome = await shopper_client(first, site)
    email = f"li-{site_key}@example.com"
    conv = await _leave_message(shopper, email)
    async with asyncio.timeout(scaled(10)):
        await connected.wait()
    await first.kill()
    for writer in hung:
        writer.close()
    black_hole.close()

    sink = smtp_sink()
    await sink.start()
    second = await servers(CHAT_SMTP_URL=sink.url, CHAT_MAIL_CLAIM_SECONDS=1)
    [ack] = await sink.wait_for(email, 1, scaled(30))
    assert ack["Message-ID"].startswith(f"<ack.{conv}@")

    # Still one acknowledgement once a later mail of the same shopper went through.
    shopper, _ = await shopper_client(second, site, token=str(welcome["token"]))
    await shopper.send({"type": "transcript", "conversation_id": conv, "email": email})
    mails = await sink.wait_for(email, 2, scaled(20))
    assert sum(m["Message-ID"].startswith("<ack.") for m in mails) == 1
    await shopper.close()


async def test_a_conversation_mails_its_transcript_three_times_at_most(
    redis: Redis, site_key: str, servers: StartServer, smtp_sink: Callable[[], SmtpSink]
) -> None:
    """An anonymous shopper names any address: the server must not mail it without end."""
    sink = smtp_sink()
    await sink.start()
    server = await servers(CHAT_SMTP_URL=sink.url, CHAT_MAIL_FROM="help@shop.example")
    site = await make_site(redis, site_key)
    shopper, _ = await shopper_client(server, site)
    await shopper.send({"type": "start", "text": "hello", "client_msg_id": "m1"})
    conv = str((await shopper.wait_for("ack", scaled(10), client_msg_id="m1"))["conversation_id"])
    victim = f"victim-{site_key}@example.com"
    for _ in range(3):
        await _ask_transcript(shopper, conv, victim)
    await shopper.send({"type": "transcript", "conversation_id": conv, "email": victim})
    refused = await shopper.wait_for("error", scaled(10), conversation_id=conv)
    assert refused["code"] == "rate_limited"
    assert len(await sink.wait_for(victim, 3, scaled(20))) == 3
    # A fourth would be queued behind a marker mail: once the marker is here, it is not.
    await _leave_message_in(shopper, conv, f"marker-{site_key}@example.com")
    await sink.wait_for(f"marker-{site_key}@example.com", 1, scaled(20))
    assert len(sink.to(victim)) == 3
    await shopper.close()


async def _leave_message_in(shopper: Client, conv: str, email: str) -> None:
    await shopper.send({"type": "leave_message", "conversation_id": conv, "email": email})
    await shopper.wait_for("event", scaled(10), event="contact")


async def test_thirty_seconds_without_the_smtp_server_delay_every_mail_and_lose_none(
    redis: Redis, site_key: str, servers: StartServer, smtp_sink: Callable[[], SmtpSink]
) -> None:
    """The retries wait at most 1 s here (--mail-retry-max-seconds) and never give up within
    the outage (--mail-max-tries): mail is sent within a second or two of the server's return."""
    sink = smtp_sink()  # not started: nothing listens on its port
    server = await servers(CHAT_SMTP_URL=sink.url, CHAT_MAIL_RETRY_MAX_SECONDS=1,
                           CHAT_MAIL_MAX_TRIES=1000)  # fmt: skip
    site = await make_site(redis, site_key)
    addresses = [f"li{n}-{site_key}@example.com" for n in range(3)]
    for address in addresses:
        shopper, _ = await shopper_client(server, site)
        await _leave_message(shopper, address)
        await shopper.close()
    await asyncio.sleep(30)  # the outage itself (what the test is about), not a wait for work
    assert not sink.received
    await sink.start()
    for address in addresses:
        [ack] = await sink.wait_for(address, 1, scaled(10))
        assert ack["Message-ID"].startswith("<ack.")
    assert await redis.llen("chat:{mail}:dead") == 0
