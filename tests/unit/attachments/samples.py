"""Files the attachment tests upload, made here (nothing downloaded): a phone photo with GPS
EXIF and an orientation, a PDF, an HTML page, a decompression bomb."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

GPS_IFD = 0x8825
ORIENTATION = 0x0112
LATITUDE = (48.0, 51.0, 29.0)  # where the shopper lives


def phone_photo(width: int = 400, height: int = 300, orientation: int = 6) -> bytes:
    """A JPEG as a phone writes it: GPS position and camera in EXIF, rotated by EXIF (6: the
    pixels are stored 90 degrees off and must be turned clockwise to be upright)."""
    img = Image.new("RGB", (width, height), (200, 30, 30))
    img.paste((20, 20, 200), (0, 0, width // 2, height // 2))  # a mark: top-left is blue
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[ORIENTATION] = orientation
    exif.get_ifd(GPS_IFD).update({1: "N", 2: LATITUDE, 3: "E", 4: (2.0, 17.0, 40.0)})
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif.tobytes(), quality=90)
    return out.getvalue()


def png_with_alpha() -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (64, 48), (0, 128, 0, 100)).save(out, "PNG")
    return out.getvalue()


def pdf() -> bytes:
    """A minimal PDF (a return label)."""
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    )


def html_page() -> bytes:
    return b"<!DOCTYPE html><html><body><script>fetch('/api/v1/me')</script></body></html>"


def png_bomb(side: int = 30_000) -> bytes:
    """A PNG that claims side x side pixels in a few hundred bytes (decoding it would take
    `side`^2 bytes of memory): only its header matters to the check."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)  # 8-bit greyscale
    rows = zlib.compress(b"\x00" * (side + 1) * 16)  # a few rows: the rest is "missing"
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows)
            + chunk(b"IEND", b""))  # fmt: skip


def exif_of(data: bytes) -> Image.Exif:
    with Image.open(io.BytesIO(data)) as img:
        return img.getexif()
