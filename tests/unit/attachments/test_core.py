"""Attachments, sans I/O: types come from the bytes (never the name), names are made safe, and
file URLs are signed, expire, and prove nothing once tampered with."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from chatserver.core.attachments import (
    Attachment,
    Signer,
    clean_name,
    content_disposition,
    signing_key,
    sniff,
)

SIGNER = Signer(signing_key(b"deployment secret"), ttl_ms=3_600_000)
NOW = 1_700_000_000_000


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"GIF89a\x01\x00", "image/gif"),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"%PDF-1.7\n", "application/pdf"),
        ("Order 1042: the mug arrived cracked. 杯子碎了\n".encode(), "text/plain"),
        ("cut in the middle of 碎".encode()[:-1], "text/plain"),  # the sniffed head's end
    ],
)
def test_sniff_recognises_the_types_we_take(head: bytes, expected: str) -> None:
    assert sniff(head) == expected


@pytest.mark.parametrize(
    "head",
    [
        b"<!DOCTYPE html><html><script>alert(1)</script>",
        b"\n  <html><body onload=alert(1)>",
        b"\xef\xbb\xbf<svg xmlns='http://www.w3.org/2000/svg'>",
        b"<?xml version='1.0'?>",
        b"MZ\x90\x00\x03\x00",  # a Windows executable
        b"PK\x03\x04\x14\x00",  # a zip (docx, apk...)
        b"text with a \x00 NUL",
        b"\xff\xfe\x00\x00 not utf-8",
        b"",
    ],
)
def test_sniff_refuses_markup_binaries_and_other_types(head: bytes) -> None:
    assert sniff(head) is None


def test_an_html_page_named_png_is_not_an_image() -> None:
    assert sniff(b"<html><script>document.cookie</script></html>") is None


@pytest.mark.parametrize(
    ("name", "content_type", "expected"),
    [
        ("IMG_0042.JPG", "image/jpeg", "IMG_0042.JPG"),
        ("photo.png", "image/jpeg", "photo.jpg"),  # the bytes decide the extension
        ("label.html", "application/pdf", "label.pdf"),
        ("../../etc/passwd", "text/plain", "passwd.txt"),
        ("C:\\Users\\me\\invoice.pdf", "application/pdf", "invoice.pdf"),
        ("evil\u202egnp.exe", "image/png", "evilgnp.png"),  # no bidi override, no .exe
        ('say "hi"\r\n.txt', "text/plain", 'say "hi".txt'),
        ("", "image/gif", "file.gif"),
        ("v1.2 draft", "text/plain", "v1.2 draft.txt"),
    ],
)
def test_clean_name_strips_paths_controls_and_wrong_extensions(
    name: str, content_type: str, expected: str
) -> None:
    assert clean_name(name, content_type) == expected


def test_clean_name_is_bounded() -> None:
    assert len(clean_name("a" * 500 + ".pdf", "application/pdf")) == 120


def test_content_disposition_shows_images_and_downloads_the_rest() -> None:
    assert content_disposition("mug.jpg", "image/jpeg").startswith("inline;")
    pdf = content_disposition('退货 "label".pdf', "application/pdf")
    assert pdf.startswith('attachment; filename="')
    assert "filename*=UTF-8''%E9%80%80%E8%B4%A7%20%22label%22.pdf" in pdf
    assert "\r" not in pdf and "\n" not in pdf


def _parts(url: str) -> tuple[list[str], str, str]:
    parsed = urlparse(url)
    query = parse_qs(parsed.query)
    return parsed.path.split("/")[2:], query["e"][0], query["s"][0]


def test_a_signed_url_is_good_until_it_expires() -> None:
    url = SIGNER.url("conv1", "att1", "file", NOW)
    (conv, att, variant), expires, sig = _parts(url)
    assert url.startswith("/files/conv1/att1/file?")
    assert int(expires) == NOW + 3_600_000
    assert SIGNER.check(conv, att, variant, expires, sig, NOW) == ""
    assert SIGNER.check(conv, att, variant, expires, sig, NOW + 3_599_999) == ""
    assert SIGNER.check(conv, att, variant, expires, sig, NOW + 3_600_000) == "expired"


def test_a_url_signed_with_a_clock_in_the_past_is_expired_now() -> None:
    url = SIGNER.url("conv1", "att1", "thumb", NOW - 3_600_001)
    (conv, att, variant), expires, sig = _parts(url)
    assert SIGNER.check(conv, att, variant, expires, sig, NOW) == "expired"


@pytest.mark.parametrize("change", ["conv", "att", "variant", "expires", "sig", "key"])
def test_a_tampered_url_proves_nothing(change: str) -> None:
    (conv, att, variant), expires, sig = _parts(SIGNER.url("conv1", "att1", "file", NOW))
    signer = SIGNER
    if change == "conv":
        conv = "conv2"
    elif change == "att":
        att = "att2"
    elif change == "variant":
        variant = "thumb"
    elif change == "expires":
        expires = str(int(expires) + 86_400_000)  # a longer life
    elif change == "sig":
        sig = sig[:-1] + ("0" if sig[-1] != "0" else "1")
    else:
        signer = Signer(signing_key(b"another deployment"), SIGNER.ttl_ms)
    assert signer.check(conv, att, variant, expires, sig, NOW) == "bad_signature"


@pytest.mark.parametrize("expires", ["", "soon", "１２", "-5"])
def test_a_malformed_expiry_is_a_bad_signature_not_an_error(expires: str) -> None:
    assert SIGNER.check("c", "a", "file", expires, "x", NOW) == "bad_signature"


def test_the_signing_key_is_not_the_secret_itself() -> None:
    assert signing_key(b"s") != b"s" and len(signing_key(b"s")) == 32


def test_the_view_signs_fresh_urls_and_hides_the_uploader() -> None:
    att = Attachment("a1", "mug.jpg", "image/jpeg", 1234, 640, 480, "image/jpeg", "shopper:v1",
                     NOW)  # fmt: skip
    assert Attachment.from_json(att.to_json()) == att
    view = SIGNER.view("c1", att.entry(), NOW)
    assert view["url"].startswith("/files/c1/a1/file?")
    assert view["thumb_url"].startswith("/files/c1/a1/thumb?")
    assert view["expires"] == NOW + 3_600_000
    assert {k: view[k] for k in ("id", "name", "type", "size", "width", "height")} == {
        "id": "a1", "name": "mug.jpg", "type": "image/jpeg", "size": 1234, "width": 640,
        "height": 480,
    }  # fmt: skip
    assert "sender" not in view
    pdf = Attachment("a2", "l.pdf", "application/pdf", 9, None, None, "", "agent:ann", NOW)
    assert SIGNER.view("c1", pdf.entry(), NOW)["thumb_url"] is None
