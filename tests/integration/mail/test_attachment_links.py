"""A mailed transcript links the conversation's files with signed URLs that work long enough for
mail (CHAT_MAIL_FILE_URL_SECONDS, 7 days by default) and then expire: real server processes,
a real SMTP server, a scripted clock."""

from __future__ import annotations

import io
import re
from collections.abc import Callable

import httpx
from PIL import Image
from redis.asyncio import Redis

from tests.conftest import scaled
from tests.integration.conftest import StartServer
from tests.integration.mail.conftest import Clock, SmtpSink
from tests.integration.mail.test_replies import chat_with_email
from tests.integration.world import login
from tests.unit.attachments import samples


async def test_a_mailed_transcript_links_an_uploaded_image_for_days(
    redis: Redis, site_key: str, servers: StartServer, smtp_sink: Callable[[], SmtpSink],
    clock: Clock,
) -> None:  # fmt: skip
    sink = smtp_sink()
    await sink.start()
    server = await servers(CHAT_SMTP_URL=sink.url, **clock.env())
    email = f"li-{site_key}@example.com"
    shopper, agent, conv = await chat_with_email(server, redis, site_key, email)
    token = await login(server, f"{site_key}-ann")
    async with httpx.AsyncClient(base_url=server.base_url, trust_env=False,
                                 headers={"Authorization": f"Bearer {token}"}) as http:  # fmt: skip
        answer = await http.post(
            f"/api/v1/conversations/{conv}/attachments", data={"client_msg_id": "label"},
            files={"file": ("return label.jpg", samples.phone_photo(), "image/jpeg")},
        )  # fmt: skip
    assert answer.status_code == 201, answer.text
    await agent.send({"type": "message", "conversation_id": conv, "client_msg_id": "label",
                      "text": "Here is your return label",
                      "attachment_id": answer.json()["attachment"]["id"]})  # fmt: skip
    await agent.wait_for("ack", scaled(10), client_msg_id="label")

    await shopper.send({"type": "transcript", "conversation_id": conv, "email": email})
    [mail] = await sink.wait_for(email, 1, scaled(20))
    text, html = mail.get_body(("plain",)), mail.get_body(("html",))
    assert text is not None and html is not None
    found = re.search(r"Here is your return label \[return label\.jpg: (\S+)\]", text.get_content())
    assert found, text.get_content()
    url = found.group(1)
    assert url.startswith(f"{server.base_url}/files/{conv}/")
    assert f'<a href="{url.replace("&", "&amp;")}">return label.jpg</a>' in html.get_content()

    clock.advance(3 * 86_400)  # read days later: an in-app URL (1 hour) would be gone
    async with httpx.AsyncClient(trust_env=False) as anyone:
        image = await anyone.get(url)
        assert image.status_code == 200, image.text
        assert image.headers["content-type"] == "image/jpeg"
        with Image.open(io.BytesIO(image.content)) as img:
            assert img.format == "JPEG" and img.size == (300, 400)  # upright, as uploaded
        clock.advance(5 * 86_400)  # 8 days after it was mailed
        expired = await anyone.get(url)
        assert expired.status_code == 410 and expired.json()["error"] == "expired"
    await shopper.close()
    await agent.close()
