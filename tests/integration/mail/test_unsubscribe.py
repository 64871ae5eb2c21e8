"""List-Unsubscribe: the mails a shopper did not ask for (agents' replies, the transcript on
close) carry a one-click unsubscribe URL (RFC 8058) with a signed token; using it stops those
mails for the conversation. What the shopper asked for (a transcript) carries none."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx
from redis.asyncio import Redis

from chatserver.core.model import Role
from chatserver.store import keys, sites
from tests.conftest import scaled
from tests.integration.conftest import StartServer
from tests.integration.mail.conftest import Clock, SmtpSink
from tests.integration.mail.test_replies import FAST, chat_with_email, marker, replies, say
from tests.integration.mail.test_site_mail import set_site_mail
from tests.integration.world import make_agent

PUBLIC = "https://chat.shop.example"


async def test_one_click_unsubscribe_stops_the_replies_and_the_transcript_on_close(
    redis: Redis, site_key: str, servers: StartServer, smtp_sink: Callable[[], SmtpSink],
    clock: Clock,
) -> None:  # fmt: skip
    sink = smtp_sink()
    await sink.start()
    server = await servers(CHAT_SMTP_URL=sink.url, CHAT_PUBLIC_URL=PUBLIC, **FAST, **clock.env())
    email = f"li-{site_key}@example.com"
    shopper, agent, conv = await chat_with_email(server, redis, site_key, email)
    site = await sites.load_site(redis, site_key)
    assert site is not None
    await make_agent(redis, site, f"{site_key}-boss", role=Role.ADMIN)
    on_close = await set_site_mail(server, site_key, f"{site_key}-boss", transcript_on_close=True)
    assert on_close.status_code == 200
    await shopper.send({"type": "transcript", "conversation_id": conv, "email": email})
    [asked] = await sink.wait_for(email, 1, scaled(20))
    assert asked["List-Unsubscribe"] is None  # the shopper asked for it

    await say(agent, conv, "a1", "Yes, a food-safe glaze.")  # nobody reads it in the widget
    clock.advance(2)
    [_, reply] = await sink.wait_for(email, 2, scaled(20))
    assert reply["Message-ID"].startswith(f"<reply.{conv}.")
    assert reply["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = str(reply["List-Unsubscribe"]).strip("<>")
    assert url.startswith(f"{PUBLIC}/api/v1/mail/unsubscribe/{conv}.")
    path = urlsplit(url).path

    async with httpx.AsyncClient(base_url=server.base_url, trust_env=False) as http:
        forged = await http.post(path[:-1] + ("0" if path[-1] != "0" else "1"),
                                 data={"List-Unsubscribe": "One-Click"})  # fmt: skip
        assert forged.status_code == 404 and forged.json()["error"] == "not_found"
        page = await http.get(path)  # a link checker opening it changes nothing
        assert page.status_code == 200 and '<form method="post">' in page.text
        assert not await redis.exists(keys.mail_key(f"unsubscribed.{conv}"))
        done = await http.post(path, data={"List-Unsubscribe": "One-Click"})  # the mail client
        assert done.status_code == 200 and "no more emails" in done.text

    # An agent's line after it is settled without a mail (the mark moves past it) ...
    line = await say(agent, conv, "a2", "It ships tomorrow.")
    clock.advance(2)
    async with asyncio.timeout(scaled(20)):
        while await redis.get(keys.mail_mailed(conv)) != line:  # noqa: ASYNC110
            await asyncio.sleep(0.05)  # the worker's round: no event to await
    # ... and closing sends no transcript: a mail queued after both arrives, and only it.
    await agent.send({"type": "close", "conversation_id": conv, "outcome": "resolved"})
    await shopper.wait_for("event", scaled(10), event="closed")
    await marker(shopper, conv, sink, email, 3)
    assert len(replies(sink, email)) == 1
    assert [m["Message-ID"].split(".")[0] for m in sink.to(email)] == [
        "<transcript", "<reply", "<transcript"
    ]  # fmt: skip
    await shopper.close()
    await agent.close()
