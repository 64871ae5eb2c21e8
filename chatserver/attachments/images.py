"""What an uploaded file becomes before it is stored (plain functions, run in a worker thread:
decoding an image takes tens of milliseconds of CPU, which the event loop must never wait for).

Images are decoded and encoded again by Pillow: nothing of the original file survives but its
pixels (and its colour profile). EXIF goes (a phone photo carries where it was taken), the
orientation EXIF asked for is applied to the pixels, and a thumbnail is made. A file that does
not decode, or claims more pixels than allowed (a decompression bomb), is refused.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import IO

from PIL import Image, ImageOps, UnidentifiedImageError

from chatserver.core.attachments import is_image, is_plain_text

THUMB_SIZE = (320, 320)
_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF", "image/webp": "WEBP"}


class BadFile(Exception):
    """The file is not what its bytes claim (undecodable, a decompression bomb, bad text)."""


@dataclass(frozen=True, slots=True)
class Prepared:
    """A file as it will be stored: its bytes, and for images the size and a thumbnail."""

    data: bytes
    width: int | None = None
    height: int | None = None
    thumb: bytes = b""
    thumb_type: str = ""


def prepare(source: IO[bytes], content_type: str, max_pixels: int) -> Prepared:
    """The stored form of an upload whose sniffed type is `content_type`. Raises BadFile."""
    source.seek(0)
    if is_image(content_type):
        return _image(source, content_type, max_pixels)
    data = source.read()
    if content_type == "text/plain" and not is_plain_text(data):
        raise BadFile("the text file is not UTF-8 text")
    return Prepared(data)


def _image(source: IO[bytes], content_type: str, max_pixels: int) -> Prepared:
    fmt = _FORMATS[content_type]
    try:
        with Image.open(source, formats=[fmt]) as img:
            width, height = img.size
            if width * height > max_pixels:
                raise BadFile(f"the image has more than {max_pixels} pixels")
            frames = getattr(img, "n_frames", 1)
            if frames > 1:
                return _animated(img, fmt, max_pixels)
            img.load()
            upright = ImageOps.exif_transpose(img)
            data = _encode(upright, fmt, img.info.get("icc_profile"))
            thumb, thumb_type = _thumbnail(upright)
            return Prepared(data, upright.width, upright.height, thumb, thumb_type)
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning,
            OSError, ValueError, SyntaxError, EOFError) as exc:  # fmt: skip
        raise BadFile(f"the image cannot be decoded ({type(exc).__name__})") from None


def _animated(img: Image.Image, fmt: str, max_pixels: int) -> Prepared:
    """An animated GIF or WebP keeps its frames (re-encoded; no metadata but the timing)."""
    if getattr(img, "n_frames", 1) * img.width * img.height > 4 * max_pixels:
        raise BadFile("the animation has too many frames")
    out = io.BytesIO()
    img.save(out, fmt, save_all=True, loop=img.info.get("loop", 0),
             duration=img.info.get("duration", 100))  # fmt: skip
    img.seek(0)
    thumb, thumb_type = _thumbnail(img.convert("RGBA"))
    return Prepared(out.getvalue(), img.width, img.height, thumb, thumb_type)


def _encode(img: Image.Image, fmt: str, icc: bytes | None) -> bytes:
    out = io.BytesIO()
    options: dict[str, object] = {"icc_profile": icc} if icc else {}
    if fmt == "JPEG":
        if img.mode not in ("RGB", "L", "CMYK"):
            img = img.convert("RGB")
        options.update(quality=90, optimize=True)
    elif fmt == "WEBP":
        options.update(quality=90)
    img.save(out, fmt, **options)  # no exif= given: none is written
    return out.getvalue()


def _thumbnail(img: Image.Image) -> tuple[bytes, str]:
    """A small copy (at most THUMB_SIZE): PNG when it has transparency, else JPEG."""
    small = img.copy()
    small.thumbnail(THUMB_SIZE)
    out = io.BytesIO()
    if small.mode in ("RGBA", "LA", "PA") or "transparency" in small.info:
        small.convert("RGBA").save(out, "PNG", optimize=True)
        return out.getvalue(), "image/png"
    small.convert("RGB").save(out, "JPEG", quality=80)
    return out.getvalue(), "image/jpeg"
