"""What an upload becomes before it is stored: images re-encoded by Pillow without their EXIF
(no GPS position), upright, with a thumbnail; bombs and undecodable files refused."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from chatserver.attachments.images import THUMB_SIZE, BadFile, prepare
from tests.unit.attachments import samples

MAX_PIXELS = 50_000_000


def test_a_phone_photo_loses_its_gps_and_exif_and_is_turned_upright() -> None:
    original = samples.phone_photo(400, 300, orientation=6)
    assert samples.exif_of(original).get_ifd(samples.GPS_IFD)  # the sample does carry GPS
    done = prepare(io.BytesIO(original), "image/jpeg", MAX_PIXELS)
    exif = samples.exif_of(done.data)
    assert not exif.get_ifd(samples.GPS_IFD) and len(exif) == 0
    assert b"PhoneMaker" not in done.data and b"Exif" not in done.data
    assert (done.width, done.height) == (300, 400)  # orientation 6 applied to the pixels
    with Image.open(io.BytesIO(done.data)) as img:
        assert img.format == "JPEG" and img.size == (300, 400)
        r, _, b = img.convert("RGB").getpixel((250, 50))  # type: ignore[misc]
        assert b > 150 and r < 100  # the blue corner went to the top right


def test_an_image_gets_a_small_thumbnail() -> None:
    done = prepare(io.BytesIO(samples.phone_photo(2000, 1000, 1)), "image/jpeg", MAX_PIXELS)
    assert done.thumb_type == "image/jpeg"
    with Image.open(io.BytesIO(done.thumb)) as thumb:
        assert thumb.size == (THUMB_SIZE[0], 160)
        assert not thumb.getexif()


def test_transparency_keeps_a_png_thumbnail() -> None:
    done = prepare(io.BytesIO(samples.png_with_alpha()), "image/png", MAX_PIXELS)
    assert done.thumb_type == "image/png"
    with Image.open(io.BytesIO(done.data)) as img:
        assert img.format == "PNG" and img.mode == "RGBA"


def test_a_decompression_bomb_is_refused_before_it_is_decoded() -> None:
    with pytest.raises(BadFile):
        prepare(io.BytesIO(samples.png_bomb()), "image/png", MAX_PIXELS)


def test_an_image_over_the_pixel_limit_is_refused() -> None:
    with pytest.raises(BadFile, match="pixels"):
        prepare(io.BytesIO(samples.phone_photo(400, 300)), "image/jpeg", 400 * 300 - 1)


def test_an_image_that_does_not_decode_is_refused() -> None:
    broken = samples.phone_photo()[:200]
    with pytest.raises(BadFile):
        prepare(io.BytesIO(broken), "image/jpeg", MAX_PIXELS)
    with pytest.raises(BadFile):  # PNG magic, then nothing of a PNG
        prepare(io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100), "image/png", MAX_PIXELS)


def test_pdf_is_stored_as_it_came_and_text_must_be_text() -> None:
    assert prepare(io.BytesIO(samples.pdf()), "application/pdf", MAX_PIXELS).data == samples.pdf()
    assert prepare(io.BytesIO("订单 1042\n".encode()), "text/plain", MAX_PIXELS).thumb == b""
    with pytest.raises(BadFile):  # text in its first bytes, binary further on
        prepare(io.BytesIO(b"hello " * 200 + b"\x00\x01"), "text/plain", MAX_PIXELS)
