"""Visitor tokens (ours) and customer signatures (the store's): forged, foreign or expired
ones prove nothing, and never raise."""

from __future__ import annotations

import base64

import pytest

from chatserver.core import tokens
from chatserver.core.tokens import VISITOR_TOKEN_SECONDS

SECRET = b"s3cret-of-the-deployment"
NOW = 1_700_000_000


def test_visitor_token_proves_its_visitor_for_its_site() -> None:
    visitor = tokens.new_visitor_id()
    token = tokens.sign_visitor(SECRET, "shop", visitor, NOW)
    assert tokens.verify_visitor(SECRET, token, "shop", NOW) == visitor
    assert tokens.verify_visitor(SECRET, token, "shop", NOW + VISITOR_TOKEN_SECONDS - 1) == visitor


def test_new_visitor_ids_are_unique_and_url_safe() -> None:
    ids = {tokens.new_visitor_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(i.replace("-", "").replace("_", "").isalnum() for i in ids)


def test_visitor_token_of_another_site_proves_nothing() -> None:
    token = tokens.sign_visitor(SECRET, "shop", "v1", NOW)
    assert tokens.verify_visitor(SECRET, token, "other", NOW) is None


def test_visitor_token_signed_with_another_secret_proves_nothing() -> None:
    token = tokens.sign_visitor(b"another secret", "shop", "v1", NOW)
    assert tokens.verify_visitor(SECRET, token, "shop", NOW) is None


def test_expired_visitor_token_proves_nothing() -> None:
    token = tokens.sign_visitor(SECRET, "shop", "v1", NOW)
    assert tokens.verify_visitor(SECRET, token, "shop", NOW + VISITOR_TOKEN_SECONDS) is None


def test_visitor_token_with_a_changed_payload_is_forged() -> None:
    token = tokens.sign_visitor(SECRET, "shop", "v1", NOW)
    _, _, mac = token.partition(".")
    payload = f"v1|shop|v2|{NOW + VISITOR_TOKEN_SECONDS}".encode()
    body = base64.urlsafe_b64encode(payload).rstrip(b"=").decode()
    assert tokens.verify_visitor(SECRET, f"{body}.{mac}", "shop", NOW) is None


@pytest.mark.parametrize(
    "token",
    ["", ".", "abc", "abc.", ".abc", "!!!.???", "a.b.c", "é.abc", "dGVzdA.é", "dGVzdA.\x00"],
)
def test_garbage_visitor_token_proves_nothing_and_does_not_raise(token: str) -> None:
    assert tokens.verify_visitor(SECRET, token, "shop", NOW) is None


def test_visitor_token_with_a_non_ascii_mac_is_refused_not_raised() -> None:
    body = tokens.sign_visitor(SECRET, "shop", "v1", NOW).partition(".")[0]
    assert tokens.verify_visitor(SECRET, f"{body}.ünïcode", "shop", NOW) is None


def test_customer_signature_made_by_the_store_is_valid_until_it_expires() -> None:
    signature = tokens.sign_customer("store-secret", "cust-42", NOW + 60)
    assert tokens.verify_customer("store-secret", "cust-42", NOW + 60, signature, NOW)
    assert not tokens.verify_customer("store-secret", "cust-42", NOW + 60, signature, NOW + 60)


def test_customer_signature_is_the_documented_hex_hmac() -> None:
    # What a store's backend computes: HMAC-SHA256(secret, "customer_id:expires"), hex.
    import hashlib
    import hmac

    expected = hmac.new(b"k", b"cust-42:1700000060", hashlib.sha256).hexdigest()
    assert tokens.sign_customer("k", "cust-42", 1_700_000_060) == expected


@pytest.mark.parametrize(
    ("secret", "customer", "expires", "signature_of"),
    [
        ("store-secret", "cust-43", NOW + 60, ("store-secret", "cust-42", NOW + 60)),
        ("store-secret", "cust-42", NOW + 61, ("store-secret", "cust-42", NOW + 60)),
        ("store-secret", "cust-42", NOW + 60, ("other-secret", "cust-42", NOW + 60)),
    ],
)
def test_customer_signature_for_other_values_is_wrong(
    secret: str, customer: str, expires: int, signature_of: tuple[str, str, int]
) -> None:
    signature = tokens.sign_customer(*signature_of)
    assert not tokens.verify_customer(secret, customer, expires, signature, NOW)


def test_site_without_identity_secret_trusts_no_customer_signature() -> None:
    signature = tokens.sign_customer("", "cust-42", NOW + 60)
    assert not tokens.verify_customer("", "cust-42", NOW + 60, signature, NOW)


@pytest.mark.parametrize("signature", ["", "00", "é" * 64, "zz" * 32])
def test_garbage_customer_signature_is_wrong_and_does_not_raise(signature: str) -> None:
    assert not tokens.verify_customer("store-secret", "cust-42", NOW + 60, signature, NOW)
