"""The storage interface, the same tests against both backends: local files under a directory,
and an S3-compatible store (moto's server, started by the suite)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chatserver.attachments.storage import (
    LocalStorage,
    Missing,
    S3Storage,
    Storage,
    Unavailable,
    from_url,
)
from tests.integration.attachments.conftest import s3_url


@pytest.fixture(params=["local", "s3"])
async def storage(
    request: pytest.FixtureRequest, tmp_path: Path, s3_endpoint: str
) -> AsyncIterator[Storage]:
    if request.param == "local":
        backend = from_url(f"file://{tmp_path}/files", tmp_path)
    else:  # a bucket of its own, created by start()
        backend = from_url(s3_url(s3_endpoint, "b" + uuid.uuid4().hex[:12]), tmp_path)
    await backend.start()
    yield backend
    await backend.close()


async def _read(storage: Storage, key: str) -> bytes:
    blob = await storage.get(key)
    data = b"".join([chunk async for chunk in blob.chunks])
    assert blob.size == len(data)
    return data


async def test_a_file_put_is_read_back_whole(storage: Storage) -> None:
    data = bytes(range(256)) * 1000  # several read chunks
    await storage.put("conv1/att1/file", data, "application/pdf")
    assert await _read(storage, "conv1/att1/file") == data


async def test_a_missing_key_raises_missing(storage: Storage) -> None:
    with pytest.raises(Missing):
        await storage.get("conv1/none/file")


async def test_put_replaces_what_the_key_held(storage: Storage) -> None:
    await storage.put("c/a/file", b"first", "text/plain")
    await storage.put("c/a/file", b"second", "text/plain")
    assert await _read(storage, "c/a/file") == b"second"


async def test_delete_prefix_deletes_one_conversations_files_only(storage: Storage) -> None:
    for key in ("conv1/a/file", "conv1/a/thumb", "conv1/b/file", "conv10/c/file"):
        await storage.put(key, key.encode(), "text/plain")
    assert await storage.delete_prefix("conv1") == 3
    for key in ("conv1/a/file", "conv1/a/thumb", "conv1/b/file"):
        with pytest.raises(Missing):
            await storage.get(key)
    assert await _read(storage, "conv10/c/file") == b"conv10/c/file"  # a longer id survives
    assert await storage.delete_prefix("conv1") == 0  # deleting again is harmless


@pytest.mark.parametrize("key", ["../escape/file", "c/../../x", "/abs/file", "c//file"])
async def test_keys_cannot_leave_their_place(storage: Storage, key: str) -> None:
    with pytest.raises(ValueError, match="bad storage key"):
        await storage.put(key, b"x", "text/plain")


def test_urls_name_the_backend(tmp_path: Path) -> None:
    default = from_url("", tmp_path)
    assert isinstance(default, LocalStorage) and default.root == tmp_path / "attachments"
    s3 = from_url("s3://AK:S%2Fk@minio.local:9000/chat/files?secure=0&region=eu-west-1", tmp_path)
    assert isinstance(s3, S3Storage)
    assert (s3.endpoint, s3.bucket, s3.prefix, s3.region) == (
        "http://minio.local:9000", "chat", "files", "eu-west-1")  # fmt: skip
    assert from_url("s3://AK:SK@s3.amazonaws.com/b", tmp_path).endpoint.startswith("https://")  # type: ignore[attr-defined]


async def test_an_unreachable_object_store_is_unavailable() -> None:
    """Unavailable is an OSError: the API answers it 503 unavailable, the server's start fails
    with the reason."""
    from chatserver.store.embedded import free_port

    dead = S3Storage(f"http://127.0.0.1:{free_port()}", "k", "s", "bucket")
    with pytest.raises(Unavailable, match="object store"):
        await dead.start()
    await dead.close()
    assert issubclass(Unavailable, OSError)
