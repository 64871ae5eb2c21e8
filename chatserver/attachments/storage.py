"""Where attachment files live, behind one small interface: local files under the data
directory (the embedded default) or an S3-compatible object store (production).

Keys are 'CONVERSATION/ATTACHMENT/VARIANT': a conversation's files share a prefix, which is
how they are deleted together when the conversation expires.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qs, unquote, urlparse

import anyio
import anyio.to_thread

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

CHUNK = 64 * 1024


class Missing(Exception):
    """No object under that key."""


class Unavailable(OSError):
    """The object store did not answer, or refused (the API answers 503 unavailable)."""


@contextlib.asynccontextmanager
async def _s3_errors() -> AsyncIterator[None]:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except (BotoCoreError, ClientError) as exc:
        raise Unavailable(f"object store: {exc}") from exc


@dataclass(frozen=True, slots=True)
class Blob:
    """An object being read: its size and its bytes, chunk by chunk."""

    size: int
    chunks: AsyncIterator[bytes]


class Storage(Protocol):
    async def start(self) -> None: ...
    async def close(self) -> None: ...
    async def put(self, key: str, data: bytes, content_type: str) -> None: ...
    async def get(self, key: str) -> Blob:
        """The object under `key`, or Missing."""
        ...

    async def delete_prefix(self, prefix: str) -> int:
        """Delete every object whose key starts with `prefix` + '/'; returns how many."""
        ...


def from_url(url: str, data_dir: Path) -> Storage:
    """The storage an --attachments-url names: '' (data dir), file:///path or s3://..."""
    if not url:
        return LocalStorage(data_dir / "attachments")
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return LocalStorage(Path(unquote(parsed.path)))
    if parsed.scheme == "s3":
        return S3Storage.from_url(url)
    raise ValueError(f"attachments URL must be file:///path or s3://...: {parsed.scheme}://")


def check_url(url: str) -> str:
    """'' if `url` is a valid attachments URL, else why not (for config validation)."""
    if url in ("", "off"):
        return ""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        absolute = parsed.netloc in ("", "localhost") and parsed.path.startswith("/")
        return "" if absolute else "must be file:///absolute/path (three slashes)"
    if parsed.scheme == "s3":
        if not parsed.hostname or not parsed.path.strip("/"):
            return "must be s3://ACCESS:SECRET@host[:port]/bucket[/prefix][?secure=0]"
        return ""
    return "must be 'off', file:///path or s3://ACCESS:SECRET@host[:port]/bucket"


def _safe_key(key: str) -> str:
    parts = key.split("/")
    if any(p in ("", ".", "..") or "\\" in p for p in parts):
        raise ValueError(f"bad storage key {key!r}")
    return key


class LocalStorage:
    """Files under a directory; written to a temporary name, then renamed (never half a
    file under its key)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    async def start(self) -> None:
        await anyio.to_thread.run_sync(lambda: self.root.mkdir(parents=True, exist_ok=True))

    async def close(self) -> None:
        return None

    def _path(self, key: str) -> Path:
        return self.root / _safe_key(key)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)

        def write() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            temp = path.with_name(path.name + f".{os.getpid()}.part")
            temp.write_bytes(data)
            os.replace(temp, path)

        await anyio.to_thread.run_sync(write)

    async def get(self, key: str) -> Blob:
        path = self._path(key)
        try:
            size = (await anyio.Path(path).stat()).st_size
        except FileNotFoundError:
            raise Missing(key) from None

        async def chunks() -> AsyncIterator[bytes]:  # opened once read (never left open)
            async with await anyio.open_file(path, "rb") as handle:
                while chunk := await handle.read(CHUNK):
                    yield chunk

        return Blob(size, chunks())

    async def delete_prefix(self, prefix: str) -> int:
        folder = self._path(prefix)

        def remove() -> int:
            if not folder.is_dir():
                return 0
            count = sum(1 for p in folder.rglob("*") if p.is_file())
            shutil.rmtree(folder, ignore_errors=True)
            return count

        return await anyio.to_thread.run_sync(remove)


class S3Storage:
    """Objects in a bucket of any S3-compatible store (AWS S3, MinIO, Ceph, R2...)."""

    def __init__(
        self, endpoint: str, access_key: str, secret_key: str, bucket: str, prefix: str = "",
        region: str = "us-east-1",
    ) -> None:  # fmt: skip
        self.endpoint, self.bucket, self.prefix, self.region = endpoint, bucket, prefix, region
        self._credentials = (access_key, secret_key)
        self._stack = contextlib.AsyncExitStack()
        self._client: S3Client | None = None

    @classmethod
    def from_url(cls, url: str) -> S3Storage:
        """s3://ACCESS:SECRET@host[:port]/bucket[/prefix][?secure=0&region=eu-west-1]"""
        parsed = urlparse(url)
        query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        secure = query.get("secure", "1") not in ("0", "false", "no")
        host = parsed.hostname or ""
        netloc = f"[{host}]" if ":" in host else host
        if parsed.port:
            netloc += f":{parsed.port}"
        bucket, _, prefix = parsed.path.strip("/").partition("/")
        return cls(
            f"{'https' if secure else 'http'}://{netloc}", unquote(parsed.username or ""),
            unquote(parsed.password or ""), bucket, prefix.strip("/"),
            query.get("region", "us-east-1"),
        )  # fmt: skip

    async def start(self) -> None:
        from aiobotocore.config import AioConfig
        from aiobotocore.session import get_session

        config = AioConfig(s3={"addressing_style": "path"}, retries={"max_attempts": 3},
                           connect_timeout=5, read_timeout=30)  # fmt: skip
        client = get_session().create_client(
            "s3", endpoint_url=self.endpoint, region_name=self.region, config=config,
            aws_access_key_id=self._credentials[0] or None,
            aws_secret_access_key=self._credentials[1] or None,
        )  # fmt: skip
        self._client = await self._stack.enter_async_context(client)
        async with _s3_errors():
            await self._ensure_bucket()

    async def _ensure_bucket(self) -> None:
        from botocore.exceptions import ClientError

        try:
            await self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if _code(exc) not in ("404", "NoSuchBucket", "NotFound"):
                raise
            await self.client.create_bucket(Bucket=self.bucket)

    async def close(self) -> None:
        await self._stack.aclose()
        self._client = None

    @property
    def client(self) -> S3Client:
        if self._client is None:
            raise RuntimeError("S3 storage not started")
        return self._client

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{_safe_key(key)}" if self.prefix else _safe_key(key)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        async with _s3_errors():
            await self.client.put_object(
                Bucket=self.bucket, Key=self._key(key), Body=data, ContentType=content_type
            )

    async def get(self, key: str) -> Blob:
        from botocore.exceptions import ClientError

        async with _s3_errors():  # Missing passes through it
            try:
                reply = await self.client.get_object(Bucket=self.bucket, Key=self._key(key))
            except ClientError as exc:
                if _code(exc) in ("NoSuchKey", "404", "NotFound"):
                    raise Missing(key) from None
                raise
        body = reply["Body"]

        async def chunks() -> AsyncIterator[bytes]:
            async with body:
                async for chunk in body.iter_chunks(CHUNK):
                    yield chunk

        return Blob(int(reply["ContentLength"]), chunks())

    async def delete_prefix(self, prefix: str) -> int:
        async with _s3_errors():
            return await self._delete_prefix(prefix)

    async def _delete_prefix(self, prefix: str) -> int:
        deleted = 0
        paginator = self.client.get_paginator("list_objects_v2")
        async for page in paginator.paginate(Bucket=self.bucket, Prefix=self._key(prefix) + "/"):
            objects: list[Any] = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if objects:
                await self.client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": objects, "Quiet": True}
                )
                deleted += len(objects)
        return deleted


def _code(exc: Exception) -> str:
    response: dict[str, Any] = getattr(exc, "response", {})
    return str(response.get("Error", {}).get("Code", ""))
