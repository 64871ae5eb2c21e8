"""Retention: an attachment's records live as long as its conversation's transcript, and the
files of a conversation whose records expired are deleted by the sweep (never before)."""

from __future__ import annotations

import asyncio
import io
import uuid
from pathlib import Path

from redis.asyncio import Redis

from chatserver.attachments.service import Files, Uploader
from chatserver.attachments.storage import Missing
from chatserver.config import Settings
from chatserver.hub import Hub
from chatserver.store import keys
from tests.conftest import scaled
from tests.unit.attachments import samples


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000_000

    def __call__(self) -> int:
        return self.now


async def _files(redis: Redis, tmp_path: Path, clock: Clock) -> Files:
    settings = Settings(data_dir=str(tmp_path), retention_days=1.0)
    files = Files(Hub(redis, settings, clock), settings)
    await files.storage.start()  # (not start(): no periodic sweep; the test calls sweep())
    return files


async def _gone(redis: Redis, key: str) -> None:
    async with asyncio.timeout(scaled(10)):
        while await redis.exists(key):  # noqa: ASYNC110 (a key's expiry sets no Event)
            await asyncio.sleep(0.01)


async def test_files_of_an_expired_conversation_are_deleted_and_no_others(
    redis: Redis, tmp_path: Path
) -> None:
    clock = Clock()
    files = await _files(redis, tmp_path, clock)
    ended, going_on = uuid.uuid4().hex, uuid.uuid4().hex
    kept = {}
    for conv in (ended, going_on):
        who = Uploader("site", conv, "shopper:v1", "")
        kept[conv], _ = await files.take(who, "m1", "mug.jpg", io.BytesIO(samples.pdf()))
    await files.hub.attachments.expire(ended, 50, clock.now)  # the conversation ended
    clock.now += 1000
    await _gone(redis, keys.attachments(ended))
    assert await files.sweep() == 1
    try:
        await files.open(ended, kept[ended], "file")
        raise AssertionError("the expired conversation's file is still there")
    except Missing:
        pass
    assert (await files.open(going_on, kept[going_on], "file")).size == len(samples.pdf())
    assert ended not in await redis.zrange(keys.ATTACHMENTS_DUE, 0, -1)
    clock.now += 2 * 24 * 3600 * 1000  # past the open one's due time: its records still live
    await redis.pexpire(keys.attachments(going_on), 3_600_000)
    assert await files.sweep() == 0
    assert (await files.open(going_on, kept[going_on], "file")).size == len(samples.pdf())
    score = await redis.zscore(keys.ATTACHMENTS_DUE, going_on)
    assert score is not None and score > clock.now  # looked at again when its records expire
