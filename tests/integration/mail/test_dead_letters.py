"""The operator's side of the outbox: mails given up on show in /metrics and in `chatserver mail
dead-letters`, which queues one again (it is then delivered) or drops one (never sent)."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
from redis.asyncio import Redis

from chatserver.client import Client
from chatserver.store import keys
from chatserver.store.embedded import EmbeddedRedis
from tests.conftest import scaled
from tests.integration.conftest import StartServer
from tests.integration.mail.conftest import SmtpSink
from tests.integration.servers import ServerProcess
from tests.integration.world import make_site, shopper_client

TOKEN = "metrics-token-for-mail-tests-0123"


class RefusingSink(SmtpSink):
    """Refuses for good (550) the mail to the addresses in `refused`, takes the rest."""

    def __init__(self) -> None:
        super().__init__()
        self.refused: set[str] = set()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if set(envelope.rcpt_tos) & self.refused:
            return "550 5.1.1 No such mailbox"
        return await super().handle_DATA(server, session, envelope)


async def _cli(redis_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CHAT_")}
    command = [sys.executable, "-m", "chatserver", "mail", "dead-letters", *args,
               "--redis-url", redis_url]  # fmt: skip
    return await asyncio.to_thread(
        subprocess.run, command, capture_output=True, text=True, env=clean, timeout=scaled(60)
    )


async def _left_message(shopper: Client, email: str, cmid: str) -> str:
    await shopper.send({"type": "start", "text": "Do you ship to Hangzhou?", "client_msg_id": cmid,
                        "email": email, "leave_message": True})  # fmt: skip
    ack = await shopper.wait_for("ack", scaled(10), client_msg_id=cmid)
    return str(ack["conversation_id"])


async def _dead_keys(redis: Redis) -> list[str]:
    return [orjson.loads(raw)["key"] for raw in await redis.lrange(keys.MAIL_DEAD, 0, -1)]


async def _metric(server: ServerProcess, pattern: str, wanted: Callable[[float], bool]) -> None:
    """Wait until /metrics shows a value of `pattern` that `wanted` accepts (each mail worker
    round refreshes the outbox's figures)."""
    async with (
        asyncio.timeout(scaled(15)),
        httpx.AsyncClient(headers={"authorization": f"Bearer {TOKEN}"}, trust_env=False) as http,
    ):
        while True:
            text = (await http.get(f"{server.base_url}/metrics")).text
            found = re.search(rf"^{pattern} (\S+)$", text, re.M)
            if found and wanted(float(found.group(1))):
                return
            await asyncio.sleep(0.2)  # polling a scrape: no event to wait on


async def test_dead_letters_are_counted_listed_retried_and_dropped(
    redis: Redis, redis_server: EmbeddedRedis, site_key: str, servers: StartServer,
) -> None:  # fmt: skip
    sink = RefusingSink()
    await sink.start()
    try:
        server = await servers(CHAT_SMTP_URL=sink.url, CHAT_METRICS_TOKEN=TOKEN)
        site = await make_site(redis, site_key)
        first, second = f"one-{site_key}@example.com", f"two-{site_key}@example.com"
        sink.refused = {first, second}
        shopper, _ = await shopper_client(server, site)
        conv1 = await _left_message(shopper, first, "m1")
        other, _ = await shopper_client(server, site)
        conv2 = await _left_message(other, second, "m2")
        mine = {f"ack.{conv1}", f"ack.{conv2}"}
        async with asyncio.timeout(scaled(20)):
            while not mine <= set(await _dead_keys(redis)):  # noqa: ASYNC110 (no event to await)
                await asyncio.sleep(0.1)
        await _metric(server, r'chat_mail_outbox\{state="dead"\}', lambda v: v >= 2)
        await _metric(server, "chat_mail_dead_total", lambda v: v >= 2)

        listed = await _cli(redis_server.url, "--json")
        assert listed.returncode == 0, listed.stderr
        rows = [orjson.loads(line) for line in listed.stdout.splitlines()]
        found = {row["key"]: row for row in rows if row["key"] in mine}
        assert found[f"ack.{conv1}"]["to"] == first and found[f"ack.{conv1}"]["tries"] == 1
        assert found[f"ack.{conv2}"]["conversation"] == conv2

        sink.refused = set()  # the mailbox exists now: retry the first, drop the second
        retried = await _cli(redis_server.url, "--retry", f"ack.{conv1}")
        assert retried.returncode == 0 and f"queued again ack.{conv1}" in retried.stdout
        [mail] = await sink.wait_for(first, 1, scaled(20))
        assert mail["Message-ID"].startswith(f"<ack.{conv1}@")
        dropped = await _cli(redis_server.url, "--drop", f"ack.{conv2}")
        assert dropped.returncode == 0 and f"dropped ack.{conv2}" in dropped.stdout
        dead = await _dead_keys(redis)
        assert f"ack.{conv1}" not in dead and f"ack.{conv2}" not in dead
        again = await _cli(redis_server.url, "--retry", f"ack.{conv2}")
        assert again.returncode != 0 and "no dead letter" in again.stderr
        both = await _cli(redis_server.url, "--retry", "x", "--drop", "y")
        assert both.returncode != 0 and "one of" in both.stderr

        # A mail queued after the retry and the drop arrives; the dropped one never does.
        await other.send({"type": "transcript", "conversation_id": conv2, "email": first})
        await sink.wait_for(first, 2, scaled(20))
        assert sink.to(second) == []
        await _metric(server, "chat_mail_sent_total", lambda v: v >= 2)
        await shopper.close()
        await other.close()
    finally:
        sink.stop()


async def test_retry_all_queues_every_dead_mail_once(tmp_path: Path) -> None:
    """On a Redis of its own (the session's holds other tests' dead letters)."""
    own = EmbeddedRedis(data_dir=tmp_path / "redis")
    own.start()
    try:
        redis = Redis.from_url(own.url, decode_responses=True)
        for n in (1, 2):
            record = {"key": f"ack.c{n}", "to": f"x{n}@example.com", "template": "left_message",
                      "language": "en", "values": {}, "tries": 10}  # fmt: skip
            await redis.lpush(keys.MAIL_DEAD, orjson.dumps(record).decode())
        retried = await _cli(own.url, "--retry-all")
        assert retried.returncode == 0, retried.stderr
        assert sorted(retried.stdout.split()) == sorted(
            ["queued", "again", "ack.c1", "queued", "again", "ack.c2"]
        )
        assert await redis.llen(keys.MAIL_DEAD) == 0
        rows: list[Any] = list(await redis.xrange(keys.MAIL_OUTBOX) or [])
        queued = [orjson.loads(fields["m"]) for _, fields in rows]
        assert sorted((m["key"], m["tries"]) for m in queued) == [("ack.c1", 0), ("ack.c2", 0)]
        assert await redis.get(keys.mail_key("ack.c1")) == "queued"
        empty = await _cli(own.url)
        assert empty.returncode == 0 and empty.stdout.strip() == "no dead letters"
        await redis.aclose()
    finally:
        own.stop()
