"""Attachments end to end, against real server processes: a shopper's photo reaches the agent
without its GPS position, an agent's PDF reaches the shopper, bad uploads get their documented
errors, signed URLs expire, and a retried upload is stored once."""

from __future__ import annotations

import asyncio
import io
import os
import time
from pathlib import Path
from typing import Any

import httpx
from PIL import Image
from redis.asyncio import Redis

from chatserver.client import Client
from chatserver.core.model import Site
from tests.conftest import scaled
from tests.integration.servers import ServerProcess
from tests.integration.world import (
    agent_client,
    login,
    make_agent,
    make_site,
    shopper_client,
    start_chat,
)
from tests.unit.attachments import samples

SHOP = "https://shop.example"
TEN_MB = 10 * 1024 * 1024


def _http(server: ServerProcess, token: str, origin: str = "") -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"}
    if origin:
        headers["Origin"] = origin
    return httpx.AsyncClient(base_url=server.base_url, trust_env=False, headers=headers,
                             timeout=scaled(20))  # fmt: skip


async def _upload(
    http: httpx.AsyncClient, conv: str, name: str, data: bytes, cmid: str = "up1",
    content_type: str = "application/octet-stream",
) -> httpx.Response:  # fmt: skip
    return await http.post(
        f"/api/v1/conversations/{conv}/attachments",
        data={"client_msg_id": cmid}, files={"file": (name, data, content_type)},
    )  # fmt: skip


async def _chat(
    redis: Redis, site_key: str, server: ServerProcess
) -> tuple[Site, Client, Client, str, str]:
    """A site, its agent online, a shopper whose chat the agent has: (site, agent socket,
    shopper socket, conversation id, the shopper's visitor token)."""
    site = await make_site(redis, site_key, departments=("support",), origins=(SHOP,))
    await make_agent(redis, site, f"{site_key}-ann")
    agent = await agent_client(server, f"{site_key}-ann")
    shopper, welcome = await shopper_client(server, site)
    conv = await start_chat(shopper, "the mug arrived cracked")
    await agent.wait_for("synced", scaled(10), conversation_id=conv)
    return site, agent, shopper, conv, str(welcome["token"])


async def _send_file(client: Client, conv: str, attachment: dict[str, Any], cmid: str,
                     text: str = "") -> None:  # fmt: skip
    await client.send({"type": "message", "conversation_id": conv, "client_msg_id": cmid,
                       "text": text, "attachment_id": attachment["id"]})  # fmt: skip
    await client.wait_for("ack", scaled(10), client_msg_id=cmid)


async def test_a_shoppers_photo_reaches_the_agent_as_thumbnail_and_image_without_gps(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    _, agent, shopper, conv, token = await _chat(redis, site_key, server)
    photo = samples.phone_photo(1200, 900, orientation=6)
    async with _http(server, token, SHOP) as http:
        answer = await _upload(http, conv, "IMG_2041.JPG", photo, "p1", "image/jpeg")
        assert answer.status_code == 201, answer.text
        assert answer.headers["access-control-allow-origin"] == SHOP
        uploaded = answer.json()["attachment"]
    await _send_file(shopper, conv, uploaded, "p1", "see the crack")
    message = await agent.wait_for("message", scaled(10), client_msg_id="p1")
    att = message["attachment"]
    assert message["text"] == "see the crack"
    assert (att["id"], att["name"], att["type"]) == (uploaded["id"], "IMG_2041.JPG", "image/jpeg")
    assert (att["width"], att["height"]) == (900, 1200)  # turned upright
    async with httpx.AsyncClient(base_url=server.base_url, trust_env=False) as anyone:
        full = await anyone.get(att["url"])  # the signed URL is the permission
        thumb = await anyone.get(att["thumb_url"])
    assert full.status_code == 200 and thumb.status_code == 200
    assert full.headers["content-type"] == "image/jpeg"
    assert full.headers["x-content-type-options"] == "nosniff"
    assert full.headers["content-security-policy"] == "default-src 'none'; img-src 'self'; sandbox"
    assert full.headers["content-disposition"].startswith("inline;")
    assert full.headers["cross-origin-resource-policy"] == "cross-origin"
    assert samples.exif_of(photo).get_ifd(samples.GPS_IFD)  # the original had a position
    assert not samples.exif_of(full.content).get_ifd(samples.GPS_IFD)
    assert b"PhoneMaker" not in full.content
    with Image.open(io.BytesIO(full.content)) as img:
        assert img.size == (900, 1200)
    with Image.open(io.BytesIO(thumb.content)) as small:
        assert max(small.size) <= 320 and not small.getexif()
    for client in (agent, shopper):
        await client.close()


async def test_an_agents_pdf_reaches_the_shopper_as_a_download(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    _, agent, shopper, conv, _ = await _chat(redis, site_key, server)
    async with _http(server, await login(server, f"{site_key}-ann")) as http:
        answer = await _upload(http, conv, "return-label.pdf", samples.pdf(), "l1")
        assert answer.status_code == 201, answer.text
        label = answer.json()["attachment"]
        await _send_file(agent, conv, label, "l1")  # no caption
        listed = (await http.get(f"/api/v1/conversations/{conv}/attachments")).json()
        transcript = (await http.get(f"/api/v1/conversations/{conv}/transcript")).json()
    assert [a["id"] for a in listed["attachments"]] == [label["id"]]
    in_transcript = [e for e in transcript["entries"] if e.get("attachment")]
    assert in_transcript[0]["attachment"]["url"].startswith(f"/files/{conv}/{label['id']}/file?")
    message = await shopper.wait_for("message", scaled(10), client_msg_id="l1")
    att = message["attachment"]
    assert message["text"] == "" and att["type"] == "application/pdf" and att["thumb_url"] is None
    assert "id" not in message["from"]  # shoppers see agents by name only, files or not
    async with httpx.AsyncClient(base_url=server.base_url, trust_env=False) as anyone:
        pdf = await anyone.get(att["url"])
    assert pdf.status_code == 200 and pdf.content == samples.pdf()
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"].startswith('attachment; filename="return-label.pdf"')
    assert pdf.headers["x-content-type-options"] == "nosniff"
    for client in (agent, shopper):
        await client.close()


async def test_bad_uploads_get_their_documented_errors(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site, agent, shopper, conv, token = await _chat(redis, site_key, server)
    other, welcome = await shopper_client(server, site)
    other_conv = await start_chat(other, "me too")
    async with _http(server, token) as http:
        html = await _upload(http, conv, "cute.png", samples.html_page(), "h", "image/png")
        big = await _upload(http, conv, "big.txt", b"a" * (TEN_MB + 1), "b")
        bomb = await _upload(http, conv, "bomb.png", samples.png_bomb(), "x", "image/png")
        foreign = await _upload(http, other_conv, "mug.jpg", samples.phone_photo(), "f")
        no_id = await _upload(http, conv, "a.txt", b"hello", "")
    async with _http(server, "forged.token") as forged:
        anonymous = await _upload(forged, conv, "a.txt", b"hello")
    assert (html.status_code, html.json()["error"]) == (415, "unsupported_type")
    assert (big.status_code, big.json()["error"]) == (413, "too_large")
    assert (bomb.status_code, bomb.json()["error"]) == (422, "bad_file")
    assert (foreign.status_code, foreign.json()["error"]) == (403, "forbidden")
    assert (no_id.status_code, no_id.json()["error"]) == (422, "invalid_field")
    assert (anonymous.status_code, anonymous.json()["error"]) == (401, "not_authenticated")
    async with _http(server, token, "https://evil.example") as elsewhere:
        foreign_origin = await _upload(elsewhere, conv, "a.txt", b"hello")
    assert (foreign_origin.status_code, foreign_origin.json()["error"]) == (403, "forbidden")
    async with _http(server, str(welcome["token"])) as http:  # the other shopper
        assert (await http.get(f"/api/v1/conversations/{conv}/attachments")).status_code == 403
    assert not await redis.keys(f"chat:{{c:{conv}}}:files")  # nothing was kept
    for client in (agent, shopper, other):
        await client.close()


async def test_an_oversize_upload_is_refused_before_it_is_read(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    """A body declared far past the limit is answered 413 at once: the server reads none of
    it (the client has sent only its headers when the answer comes)."""
    _, agent, shopper, conv, token = await _chat(redis, site_key, server)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(
        f"POST /api/v1/conversations/{conv}/attachments HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {token}\r\n"
        f"Content-Type: multipart/form-data; boundary=zz\r\n"
        f"Content-Length: {50 * TEN_MB}\r\n\r\n--zz\r\n".encode()
    )  # and not one byte of the 500 MB more
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), scaled(10))
    assert head.startswith(b"HTTP/1.1 413 ")
    writer.close()
    for client in (agent, shopper):
        await client.close()


async def test_a_message_may_carry_only_its_senders_file_of_that_conversation(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    _, agent, shopper, conv, _ = await _chat(redis, site_key, server)
    async with _http(server, await login(server, f"{site_key}-ann")) as http:
        agents_file = (await _upload(http, conv, "a.pdf", samples.pdf(), "a1")).json()
    await shopper.send({"type": "message", "conversation_id": conv, "client_msg_id": "s1",
                        "attachment_id": agents_file["attachment"]["id"]})  # fmt: skip
    error = await shopper.wait_for("error", scaled(10), ref="s1")
    assert error["code"] == "forbidden"
    await shopper.send({"type": "message", "conversation_id": conv, "client_msg_id": "s2",
                        "attachment_id": "0" * 32})  # fmt: skip
    assert (await shopper.wait_for("error", scaled(10), ref="s2"))["code"] == "not_found"
    await shopper.send({"type": "message", "conversation_id": conv, "client_msg_id": "s3"})
    assert (await shopper.wait_for("error", scaled(10), ref="s3"))["code"] == "missing_field"
    for client in (agent, shopper):
        await client.close()


async def test_a_retried_upload_is_stored_once(
    redis: Redis, site_key: str, servers: Any, tmp_path: Path
) -> None:
    server = await servers()
    _, agent, shopper, conv, token = await _chat(redis, site_key, server)
    photo = samples.phone_photo()
    async with _http(server, token) as http:
        first = await _upload(http, conv, "mug.jpg", photo, "same")
        again = await _upload(http, conv, "mug.jpg", photo, "same")  # the answer was lost
        other = await _upload(http, conv, "mug.jpg", photo, "another")
        listed = (await http.get(f"/api/v1/conversations/{conv}/attachments")).json()
    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 201)
    assert first.json()["attachment"]["id"] == again.json()["attachment"]["id"]
    assert len(listed["attachments"]) == 2
    stored = server.workdir / "data" / "attachments" / conv
    assert len(list(stored.iterdir())) == 2  # one folder per attachment kept
    await _send_file(shopper, conv, first.json()["attachment"], "same")
    await _send_file(shopper, conv, first.json()["attachment"], "same")  # a resent frame
    await agent.wait_for("message", scaled(10), client_msg_id="same")
    await shopper.send({"type": "ping"})
    await shopper.wait_for("pong", scaled(10))
    entries = await redis.xrange(f"chat:{{c:{conv}}}:stream")
    assert sum(1 for _, e in entries if '"attachment"' in e["e"]) == 1
    for client in (agent, shopper):
        await client.close()


async def test_a_signed_url_expires_and_a_fresh_one_is_given(
    redis: Redis, site_key: str, servers: Any, tmp_path: Path
) -> None:
    clock = tmp_path / "clock"
    now = int(time.time() * 1000)
    _set(clock, now)
    server = await servers(CHAT_TEST_CLOCK_FILE=clock, CHAT_SWEEP_SECONDS=3600,
                           CHAT_ATTACHMENT_URL_SECONDS=60)  # fmt: skip
    _, agent, shopper, conv, token = await _chat(redis, site_key, server)
    async with _http(server, token) as http:
        att = (await _upload(http, conv, "mug.jpg", samples.phone_photo())).json()["attachment"]
        assert att["expires"] == now + 60_000
        assert (await http.get(att["url"])).status_code == 200
        _set(clock, now + 60_000)  # the server's clock reaches the expiry
        expired = await http.get(att["url"])
        assert (expired.status_code, expired.json()["error"]) == (410, "expired")
        tampered = await http.get(att["url"].replace("&s=", "&s=0"))
        assert (tampered.status_code, tampered.json()["error"]) == (403, "bad_signature")
        fresh = (await http.get(f"/api/v1/conversations/{conv}/attachments/{att['id']}")).json()
        assert fresh["attachment"]["expires"] == now + 120_000
        assert (await http.get(fresh["attachment"]["url"])).status_code == 200
    for client in (agent, shopper):
        await client.close()


async def test_the_widget_learns_the_limits_and_the_preflight_answers(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key, origins=(SHOP,))
    async with httpx.AsyncClient(base_url=server.base_url, trust_env=False) as http:
        config = (await http.get(f"/api/v1/sites/{site.key}/widget-config")).json()
        preflight = await http.options(
            "/api/v1/conversations/c1/attachments",
            headers={"Origin": SHOP, "Access-Control-Request-Method": "POST",
                     "Access-Control-Request-Headers": "authorization"},
        )  # fmt: skip
    assert config["attachments"]["max_bytes"] == TEN_MB
    assert "application/pdf" in config["attachments"]["types"]
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == SHOP
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()


def _set(clock: Path, ms: int) -> None:
    part = clock.with_suffix(".tmp")
    part.write_text(str(ms))
    os.replace(part, clock)  # never a half-written file for a reading server


async def test_the_hourly_count_the_byte_limit_and_a_closed_conversation_refuse_uploads(
    redis: Redis, site_key: str, servers: Any
) -> None:
    server = await servers(CHAT_UPLOADS_PER_VISITOR=3, CHAT_CONVERSATION_UPLOAD_BYTES=1000)
    _, agent, shopper, conv, token = await _chat(redis, site_key, server)
    async with _http(server, token) as http:
        first = await _upload(http, conv, "a.txt", b"a" * 600, "t1")
        full = await _upload(http, conv, "b.txt", b"b" * 600, "t2")
        small = await _upload(http, conv, "c.txt", b"c" * 300, "t3")
        over = await _upload(http, conv, "d.txt", b"d", "t4")  # the 4th this hour
        retry = await _upload(http, conv, "a.txt", b"a" * 600, "t1")  # retries never count
        assert [r.status_code for r in (first, small, retry)] == [201, 201, 200]
        assert (full.status_code, full.json()["error"]) == (409, "conversation_full")
        assert (over.status_code, over.json()["error"]) == (429, "rate_limited")
        await shopper.send({"type": "close", "conversation_id": conv})
        await agent.wait_for("conversation", scaled(10), conversation_id=conv, state="closed")
        closed = await _upload(http, conv, "e.txt", b"e", "t5")
        after = await _upload(http, conv, "a.txt", b"a" * 600, "t1")
    assert (closed.status_code, closed.json()["error"]) == (409, "conversation_closed")
    assert after.status_code == 200  # a retry of a stored upload still gets its answer
    for client in (agent, shopper):
        await client.close()


async def test_the_console_uploads_with_its_cookie_and_csrf_token(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    from tests.integration.web.test_login import console_session

    _, agent, shopper, conv, _ = await _chat(redis, site_key, server)
    async with console_session(server, f"{site_key}-ann") as (http, csrf):
        without = await _upload(http, conv, "label.pdf", samples.pdf(), "c1")
        http.headers["X-CSRF-Token"] = csrf
        with_token = await _upload(http, conv, "label.pdf", samples.pdf(), "c1")
    assert (without.status_code, without.json()["error"]) == (403, "csrf")
    assert with_token.status_code == 201, with_token.text
    for client in (agent, shopper):
        await client.close()
