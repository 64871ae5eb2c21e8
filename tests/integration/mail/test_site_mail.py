"""A site's optional mails (PUT /api/v1/sites/{site}/mail): the transcript when a conversation
closes, and the team's notice of a message left while the store is closed."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import httpx
from redis.asyncio import Redis

from chatserver.core.model import Role
from chatserver.core.widget_settings import DAYS, WidgetSettings
from chatserver.store import sites
from tests.conftest import scaled
from tests.integration.conftest import StartServer
from tests.integration.mail.conftest import SmtpSink
from tests.integration.mail.test_replies import chat_with_email
from tests.integration.servers import ServerProcess
from tests.integration.world import login, make_agent, make_site, shopper_client


async def set_site_mail(
    server: ServerProcess, site: str, admin: str, **settings: object
) -> httpx.Response:
    token = await login(server, admin)
    async with httpx.AsyncClient(base_url=server.base_url, trust_env=False) as http:
        return await http.put(f"/api/v1/sites/{site}/mail", json=settings,
                              headers={"Authorization": f"Bearer {token}"})  # fmt: skip


async def test_a_site_that_wants_it_mails_the_transcript_when_a_chat_closes(
    redis: Redis, site_key: str, servers: StartServer, smtp_sink: Callable[[], SmtpSink]
) -> None:
    sink = smtp_sink()
    await sink.start()
    server = await servers(CHAT_SMTP_URL=sink.url)
    email = f"li-{site_key}@example.com"
    shopper, agent, conv = await chat_with_email(server, redis, site_key, email)
    site = await sites.load_site(redis, site_key)
    assert site is not None
    await make_agent(redis, site, f"{site_key}-boss", role=Role.ADMIN)
    bad = await set_site_mail(server, site_key, f"{site_key}-boss", out_of_hours_notice="nope")
    assert bad.status_code == 422
    ok = await set_site_mail(server, site_key, f"{site_key}-boss", transcript_on_close=True)
    assert ok.json() == {"enabled": True, "transcript_on_close": True, "out_of_hours_notice": "",
                         "from": ""}  # fmt: skip

    await agent.send({"type": "close", "conversation_id": conv, "outcome": "resolved"})
    [mail] = await sink.wait_for(email, 1, scaled(20))
    assert mail["Message-ID"].startswith(f"<closed.{conv}@")
    body = mail.get_body(("plain",))
    assert body is not None and "You: Is the teapot glazed inside?" in body.get_content()
    await shopper.close()
    await agent.close()


async def test_a_message_left_out_of_hours_is_told_to_the_configured_address(
    redis: Redis, site_key: str, servers: StartServer, smtp_sink: Callable[[], SmtpSink]
) -> None:
    sink = smtp_sink()
    await sink.start()
    server = await servers(CHAT_SMTP_URL=sink.url)
    today = DAYS[time.gmtime().tm_wday]
    other_day = DAYS[(time.gmtime().tm_wday + 3) % 7]
    site = await make_site(redis, site_key)
    closed_today = replace(site, widget=WidgetSettings(hours={other_day: "09:00-17:00"}))
    await sites.save_site(redis, closed_today)
    assert today != other_day
    await make_agent(redis, site, f"{site_key}-boss", role=Role.ADMIN)
    team = f"team-{site_key}@shop.example"
    ok = await set_site_mail(server, site_key, f"{site_key}-boss", out_of_hours_notice=team)
    assert ok.status_code == 200

    shopper, _ = await shopper_client(server, site)
    email = f"li-{site_key}@example.com"
    await shopper.send({"type": "start", "text": "Open on Sunday?", "email": email,
                        "client_msg_id": "m1", "name": "Li Lei",
                        "leave_message": True})  # fmt: skip
    await shopper.wait_for("ack", scaled(10), client_msg_id="m1")
    [notice] = await sink.wait_for(team, 1, scaled(20))
    body = notice.get_body(("plain",))
    assert body is not None and f"Li Lei <{email}>" in body.get_content()
    assert "sales" in str(notice["Subject"])
    await sink.wait_for(email, 1, scaled(20))  # the shopper's acknowledgement as ever
    await shopper.close()


async def test_a_sites_own_from_address_is_used_for_its_mails_and_others_keep_the_default(
    redis: Redis, site_key: str, servers: StartServer, smtp_sink: Callable[[], SmtpSink]
) -> None:
    sink = smtp_sink()
    await sink.start()
    server = await servers(CHAT_SMTP_URL=sink.url, CHAT_MAIL_FROM="Chat <chat@host.example>")
    site = await make_site(redis, site_key)
    other = await make_site(redis, f"{site_key}o")
    await make_agent(redis, site, f"{site_key}-boss", role=Role.ADMIN)
    boss = f"{site_key}-boss"
    for bad in ("two@a.example, three@b.example", "Tea <no-domain>", "Tea\r\nBcc: x@y.example"):
        refused = await set_site_mail(server, site_key, boss, **{"from": bad})
        assert refused.status_code == 422, bad
        assert refused.json()["error"] == "invalid_field"
    ok = await set_site_mail(
        server, site_key, boss, **{"from": '"Teahouse" <tea@teahouse.example>'}
    )
    assert ok.status_code == 200 and ok.json()["from"] == "Teahouse <tea@teahouse.example>"
    token = await login(server, boss)
    async with httpx.AsyncClient(base_url=server.base_url, trust_env=False) as http:
        got = await http.get(f"/api/v1/sites/{site_key}/mail",
                             headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert got.json()["from"] == "Teahouse <tea@teahouse.example>"

    for shop, email in (
        (site, f"li-{site_key}@example.com"),
        (other, f"wu-{site_key}@example.com"),
    ):
        shopper, _ = await shopper_client(server, shop)
        await shopper.send({"type": "start", "text": "Open on Sunday?", "email": email,
                            "client_msg_id": "m1", "leave_message": True})  # fmt: skip
        await shopper.wait_for("ack", scaled(10), client_msg_id="m1")
        await shopper.close()
    [own] = await sink.wait_for(f"li-{site_key}@example.com", 1, scaled(20))
    assert own["From"] == "Teahouse <tea@teahouse.example>"
    assert own["Message-ID"].endswith("@teahouse.example>")
    [default] = await sink.wait_for(f"wu-{site_key}@example.com", 1, scaled(20))
    assert default["From"] == "Chat <chat@host.example>"
