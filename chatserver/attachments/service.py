"""Attachments of one server process: taking an upload (sniff, prepare, store, record), the
ATTACHMENT objects with fresh signed URLs, serving the files, and the retention sweep.

The web layer authenticates the caller and streams the body in; everything after that is here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from dataclasses import dataclass
from typing import IO, Any

import anyio
import anyio.to_thread
from PIL import Image

from chatserver.attachments import images
from chatserver.attachments.images import BadFile, Prepared
from chatserver.attachments.storage import Blob, Storage, from_url
from chatserver.config import Settings
from chatserver.core.attachments import (
    SNIFF_BYTES,
    TYPES,
    Attachment,
    Signer,
    clean_name,
    signing_key,
    sniff,
)
from chatserver.hub import Hub
from chatserver.store.attachments import AttachmentIndex, Full
from chatserver.store.clients import StorageError

log = logging.getLogger(__name__)

SWEEP_SECONDS = 60.0  # how often a process deletes the files of expired conversations
PREPARE_AT_ONCE = 2  # images decoded at once per process (each may take ~200 MB)


class Refusal(Exception):
    """An upload refused with an API error (status, code, message)."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


@dataclass(frozen=True, slots=True)
class Uploader:
    """Who uploads into which conversation: `sender` is 'role:id'; `visitor` is set for
    shoppers (their uploads count against the hourly limit)."""

    site: str
    conversation_id: str
    sender: str
    visitor: str = ""


class Files:
    def __init__(self, hub: Hub, settings: Settings) -> None:
        self.hub = hub
        self.settings = settings
        self.enabled = settings.attachments_url != "off"
        self.index: AttachmentIndex = hub.attachments
        self._ttl_ms = int(settings.attachment_url_seconds * 1000)
        self.signer = Signer(b"", self._ttl_ms)  # keyed in start(), once the secret is known
        self.storage: Storage = from_url(
            "" if not self.enabled else settings.attachments_url, settings.data_path
        )
        self._limiter = anyio.CapacityLimiter(PREPARE_AT_ONCE)
        self._sweeper: asyncio.Task[None] | None = None
        # Pillow refuses (DecompressionBombError) past twice this; `prepare` refuses past it.
        Image.MAX_IMAGE_PIXELS = settings.max_image_pixels

    async def start(self, secret: bytes) -> None:
        """Key the URL signer with the deployment's secret; open the storage; start the sweep."""
        self.signer = Signer(signing_key(secret), self._ttl_ms)
        if not self.enabled:
            return
        await self.storage.start()
        self._sweeper = asyncio.create_task(self._sweep_loop(), name="attachment-sweep")

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        if self.enabled:
            await self.storage.close()

    def public_config(self) -> dict[str, Any] | None:
        """What the widget is told (widget-config `attachments`): null when disabled."""
        if not self.enabled:
            return None
        return {"max_bytes": self.settings.max_upload_bytes, "types": list(TYPES)}

    # --- what clients see -------------------------------------------------------------------
    def view(self, conversation_id: str, entry: dict[str, Any]) -> dict[str, Any]:
        """The ATTACHMENT object of a stored entry, with URLs signed now."""
        return self.signer.view(conversation_id, entry, self.hub.now_ms())

    def present(self, conversation_id: str, frame: dict[str, Any]) -> dict[str, Any]:
        """A `message` frame with its attachment (if any) as an ATTACHMENT object."""
        if isinstance(frame.get("attachment"), dict):
            return {**frame, "attachment": self.view(conversation_id, frame["attachment"])}
        return frame

    # --- uploads ----------------------------------------------------------------------------
    async def existing(self, who: Uploader, client_msg_id: str) -> Attachment | None:
        """The attachment a retry of this upload already stored, if any."""
        return await self.index.by_client_id(who.conversation_id, _dedupe(who, client_msg_id))

    async def take(
        self, who: Uploader, client_msg_id: str, filename: str, source: IO[bytes]
    ) -> tuple[Attachment, bool]:
        """Store an upload once; returns (attachment, new). Raises Refusal."""
        now = self.hub.now_ms()
        if who.visitor and not await self.hub.count_upload(who.site, who.visitor):
            raise Refusal(429, "rate_limited", "too many uploads this hour: try again later")
        head = await anyio.to_thread.run_sync(_head, source)
        content_type = sniff(head)
        if content_type is None:
            raise Refusal(415, "unsupported_type",
                          "only images (PNG, JPEG, GIF, WebP), PDF and plain text")  # fmt: skip
        prepared = await self._prepare(source, content_type)
        att = Attachment(
            id=secrets.token_hex(16), name=clean_name(filename, content_type),
            type=content_type, size=len(prepared.data) + len(prepared.thumb),
            width=prepared.width, height=prepared.height, thumb_type=prepared.thumb_type,
            sender=who.sender, created=now,
        )  # fmt: skip
        await self.index.schedule(who.conversation_id, now)  # before a file exists
        await self._store(who.conversation_id, att, prepared)
        try:
            kept = await self.index.record(who.conversation_id, _dedupe(who, client_msg_id), att)
        except Full:
            await self.storage.delete_prefix(f"{who.conversation_id}/{att.id}")
            raise Refusal(409, "conversation_full",
                          "this conversation holds its most bytes of files") from None  # fmt: skip
        if not kept.new:  # a retry raced us and won: one copy is enough
            await self.storage.delete_prefix(f"{who.conversation_id}/{att.id}")
        return kept.attachment, kept.new

    async def _prepare(self, source: IO[bytes], content_type: str) -> Prepared:
        try:
            return await anyio.to_thread.run_sync(
                images.prepare, source, content_type, self.settings.max_image_pixels,
                limiter=self._limiter,
            )  # fmt: skip
        except BadFile as exc:
            raise Refusal(422, "bad_file", str(exc)) from None

    async def _store(self, conversation_id: str, att: Attachment, prepared: Prepared) -> None:
        base = f"{conversation_id}/{att.id}"
        await self.storage.put(f"{base}/file", prepared.data, att.type)
        if prepared.thumb:
            await self.storage.put(f"{base}/thumb", prepared.thumb, prepared.thumb_type)

    # --- serving ----------------------------------------------------------------------------
    async def open(self, conversation_id: str, att: Attachment, variant: str) -> Blob:
        """The bytes of an attachment's file or thumbnail (storage.Missing if gone)."""
        return await self.storage.get(f"{conversation_id}/{att.id}/{variant}")

    # --- retention --------------------------------------------------------------------------
    async def sweep(self) -> int:
        """Delete the files of conversations whose records expired; returns how many
        conversations were cleaned."""
        now, cleaned = self.hub.now_ms(), 0
        for conversation_id in await self.index.due(now):
            if await self.index.settle(conversation_id, now):
                await self.storage.delete_prefix(conversation_id)
                await self.index.forget(conversation_id)
                cleaned += 1
        return cleaned

    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_SECONDS)  # a period timer, not a synchronisation
            try:
                await self.sweep()
            except (StorageError, OSError) as exc:
                log.warning("attachment sweep skipped: %s", exc)
            except Exception:
                log.exception("attachment sweep failed")


def _head(source: IO[bytes]) -> bytes:
    source.seek(0)
    return source.read(SNIFF_BYTES)


def _dedupe(who: Uploader, client_msg_id: str) -> str:
    return f"{who.sender}|{client_msg_id}"
