"""Attachments, sans I/O: what a file is (sniffed from its bytes, never its name), its record,
the ATTACHMENT object clients see, and the signed URLs it is served at.

The secret and the clock are passed in, so every function here is a function of its arguments.
docs/api.md (attachments) and docs/protocol.md 5.5 describe what clients see.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import quote

IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
TYPES = (*IMAGE_TYPES, "application/pdf", "text/plain")
EXTENSIONS = {
    "image/png": (".png",), "image/jpeg": (".jpg", ".jpeg"), "image/gif": (".gif",),
    "image/webp": (".webp",), "application/pdf": (".pdf",), "text/plain": (".txt", ".log", ".csv"),
}  # fmt: skip
SNIFF_BYTES = 512  # what `sniff` needs to see of a file
MAX_NAME_CHARS = 120
VARIANTS = ("file", "thumb")
_MARKUP = re.compile(rb"^<[!?a-zA-Z/]")  # HTML, XML, SVG...: never served as text
_CONTROL = frozenset(range(32)) - {9, 10, 12, 13}


def sniff(head: bytes) -> str | None:
    """The type of a file from its first SNIFF_BYTES bytes, or None if it is not one we take.

    Text is UTF-8 without control characters and not markup: an HTML page renamed .txt (or
    .png) is refused, whatever its name says."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    return "text/plain" if is_plain_text(head, partial=True) else None


def is_plain_text(data: bytes, partial: bool = False) -> bool:
    """UTF-8 (a multi-byte character may be cut at the end when `partial`), no NUL or other
    control characters but tab, newlines and form feed, and not starting like markup."""
    if not data:
        return False
    body = data.removeprefix(b"\xef\xbb\xbf")
    if _MARKUP.match(body.lstrip()):
        return False
    if any(byte in _CONTROL for byte in body):
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return partial and exc.start >= len(body) - 3 and exc.reason == "unexpected end of data"
    return True


def is_image(content_type: str) -> bool:
    return content_type in IMAGE_TYPES


def clean_name(name: str, content_type: str) -> str:
    """A file name safe to show and to put in a Content-Disposition header: no path, no
    control or separator characters, at most MAX_NAME_CHARS, and an extension that matches
    the sniffed type (report.html holding a PDF becomes report.pdf)."""
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] not in "CZ" or c == " ")
    name = re.sub(r"\s+", " ", name).strip(" .") or "file"
    stem, dot, ext = name.rpartition(".")
    if not (dot and stem and _EXTENSION.fullmatch(ext)):
        stem, ext = name, ""  # no extension ("notes", "v1.2 draft")
    allowed = EXTENSIONS.get(content_type, (".bin",))
    if f".{ext.lower()}" not in allowed:
        ext = allowed[0][1:]
    return f"{stem[: MAX_NAME_CHARS - len(ext) - 1]}.{ext}"


_EXTENSION = re.compile(r"[A-Za-z0-9]{1,5}")


@dataclass(frozen=True, slots=True)
class Attachment:
    """A stored file of a conversation (what Redis keeps; the transcript entry holds `entry()`).

    `sender` is 'role:id' of who uploaded it; `thumb_type` is '' when there is no thumbnail."""

    id: str
    name: str
    type: str
    size: int
    width: int | None
    height: int | None
    thumb_type: str
    sender: str
    created: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Attachment:
        return cls(**{k: data.get(k) for k in cls.__slots__})  # type: ignore[arg-type]

    def entry(self) -> dict[str, Any]:
        """What a transcript entry keeps of it (no uploader, no URL: URLs are signed per
        delivery)."""
        return {"id": self.id, "name": self.name, "type": self.type, "size": self.size,
                "width": self.width, "height": self.height,
                "thumb_type": self.thumb_type}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Signer:
    """Signs and checks the URLs files are served at: /files/CONV/ATTACHMENT/VARIANT?e=..&s=..

    `key` is a secret of the deployment; the signature binds the conversation, the attachment,
    the variant (file or thumb) and the expiry (ms epoch)."""

    key: bytes
    ttl_ms: int

    def url(self, conversation_id: str, attachment_id: str, variant: str, now_ms: int) -> str:
        expires = self.expiry(now_ms)
        sig = self.signature(conversation_id, attachment_id, variant, expires)
        path = "/".join(quote(p, safe="") for p in (conversation_id, attachment_id, variant))
        return f"/files/{path}?e={expires}&s={sig}"

    def expiry(self, now_ms: int) -> int:
        return now_ms + self.ttl_ms

    def signature(
        self, conversation_id: str, attachment_id: str, variant: str, expires: int
    ) -> str:
        message = f"file|{conversation_id}|{attachment_id}|{variant}|{expires}".encode()
        return hmac.new(self.key, message, hashlib.sha256).hexdigest()[:40]

    def check(
        self, conversation_id: str, attachment_id: str, variant: str, expires: str, sig: str,
        now_ms: int,
    ) -> str:  # fmt: skip
        """'' if the URL is genuine and current, else 'bad_signature' or 'expired'."""
        if not expires.isascii() or not expires.isdigit() or variant not in VARIANTS:
            return "bad_signature"
        expected = self.signature(conversation_id, attachment_id, variant, int(expires))
        if not hmac.compare_digest(expected.encode(), sig.encode(errors="replace")):
            return "bad_signature"
        return "expired" if int(expires) <= now_ms else ""

    def view(self, conversation_id: str, entry: dict[str, Any], now_ms: int) -> dict[str, Any]:
        """The ATTACHMENT object of a stored entry, with fresh signed URLs."""
        att_id = str(entry.get("id", ""))
        return {
            "id": att_id, "name": entry.get("name"), "type": entry.get("type"),
            "size": entry.get("size"), "width": entry.get("width"),
            "height": entry.get("height"),
            "url": self.url(conversation_id, att_id, "file", now_ms),
            "thumb_url": self.url(conversation_id, att_id, "thumb", now_ms)
            if entry.get("thumb_type") else None,
            "expires": self.expiry(now_ms),
        }  # fmt: skip


def signing_key(secret: bytes) -> bytes:
    """The key of file URLs, derived from the deployment's secret (a URL signature can never
    double as a visitor token's, nor the other way round)."""
    return hmac.new(secret, b"attachments-url-v1", hashlib.sha256).digest()


def content_disposition(name: str, content_type: str) -> str:
    """Images inline (a store page shows them), everything else downloaded, never rendered."""
    kind = "inline" if is_image(content_type) else "attachment"
    ascii_name = name.encode("ascii", "replace").decode().replace('"', "'").replace("?", "_")
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"
