"""Cookies and CSRF tokens of the console, sans I/O (the secret is passed in).

The console's session is the same opaque token `POST /api/v1/login` returns, kept in an
HttpOnly cookie; the agent socket and the REST API accept it from the cookie. Every request
that changes state and rides on that cookie must also carry a CSRF token: a MAC of the session
token (in the `X-CSRF-Token` header or a `csrf` form field). The login form, which has no
session yet, is protected the same way with a MAC of a random nonce kept in its own cookie.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from chatserver.gateway.agent import SESSION_COOKIE as SESSION_COOKIE  # the socket reads it

LOGIN_COOKIE = "chat_login_nonce"
LANG_COOKIE = "chat_lang"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LANGUAGES = ("en", "zh-CN")


def new_nonce() -> str:
    return secrets.token_urlsafe(24)


def csrf_for_session(secret: bytes, session_token: str) -> str:
    """The CSRF token of a console session (stable for the session's life)."""
    return _mac(secret, "session|" + hashlib.sha256(session_token.encode()).hexdigest())


def csrf_for_login(secret: bytes, nonce: str) -> str:
    """The CSRF token of a login form whose browser holds `nonce` in its login cookie."""
    return _mac(secret, "login|" + nonce)


def same(expected: str, given: str | None) -> bool:
    """Constant-time comparison that is False for a missing value."""
    return bool(given) and hmac.compare_digest(expected.encode(), str(given).encode())


def pick_language(query: str | None, cookie: str | None, accept_language: str) -> str:
    """The console's language: ?lang=, then the cookie, then the browser's preference."""
    for choice in (query, cookie):
        if choice in LANGUAGES:
            return str(choice)
    for part in accept_language.split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return "en"


def _mac(secret: bytes, message: str) -> str:
    digest = hmac.new(secret, message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
