"""Signed tokens, sans I/O: visitor tokens (ours) and customer identity (signed by the store).

The clock and the secrets are passed in, so these are plain functions of their arguments.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

VISITOR_TOKEN_SECONDS = 180 * 24 * 3600


def new_visitor_id() -> str:
    return secrets.token_urlsafe(12)


def sign_visitor(secret: bytes, site: str, visitor: str, now_s: int) -> str:
    """A token that proves its holder is `visitor` of `site` (until VISITOR_TOKEN_SECONDS)."""
    payload = f"v1|{site}|{visitor}|{now_s + VISITOR_TOKEN_SECONDS}".encode()
    body = base64.urlsafe_b64encode(payload).rstrip(b"=").decode()
    return f"{body}.{_mac(secret, payload)}"


def verify_visitor(secret: bytes, token: str, site: str, now_s: int) -> str | None:
    """The visitor id a token proves for `site`, or None if forged, foreign or expired."""
    body, _, mac = token.partition(".")
    try:
        payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except ValueError:
        return None
    # Compared as bytes: compare_digest raises TypeError on non-ASCII str (a forged token).
    if not hmac.compare_digest(_mac(secret, payload).encode(), mac.encode()):
        return None
    parts = payload.decode(errors="replace").split("|")
    if len(parts) != 4 or parts[0] != "v1" or parts[1] != site or not parts[3].isdigit():
        return None
    return parts[2] if int(parts[3]) > now_s else None


def sign_customer(identity_secret: str, customer_id: str, expires_s: int) -> str:
    """What a store's backend computes: hex HMAC-SHA256 of 'customer_id:expires'."""
    message = f"{customer_id}:{expires_s}".encode()
    return hmac.new(identity_secret.encode(), message, hashlib.sha256).hexdigest()


def verify_customer(
    identity_secret: str, customer_id: str, expires_s: int, signature: str, now_s: int
) -> bool:
    """Whether the store really vouched for `customer_id`, and its signature has not expired."""
    if not identity_secret or expires_s <= now_s:
        return False
    expected = sign_customer(identity_secret, customer_id, expires_s)
    return hmac.compare_digest(expected.encode(), signature.lower().encode())


def _mac(secret: bytes, payload: bytes) -> str:
    digest = hmac.new(secret, payload, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
