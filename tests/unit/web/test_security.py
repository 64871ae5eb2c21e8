"""CSRF tokens and the console's language choice."""

from __future__ import annotations

from chatserver.web import security

SECRET = b"k" * 32


def test_a_session_csrf_token_is_stable_and_belongs_to_its_session() -> None:
    token = security.csrf_for_session(SECRET, "session-a")
    assert token == security.csrf_for_session(SECRET, "session-a")
    assert token != security.csrf_for_session(SECRET, "session-b")
    assert token != security.csrf_for_session(b"other secret", "session-a")
    assert "session-a" not in token


def test_a_login_csrf_token_is_not_a_session_token() -> None:
    assert security.csrf_for_login(SECRET, "n") != security.csrf_for_session(SECRET, "n")


def test_same_refuses_missing_and_different_values() -> None:
    assert security.same("abc", "abc")
    assert not security.same("abc", None)
    assert not security.same("abc", "")
    assert not security.same("abc", "abd")


def test_the_language_comes_from_the_query_then_the_cookie_then_the_browser() -> None:
    assert security.pick_language("zh-CN", "en", "en-US") == "zh-CN"
    assert security.pick_language(None, "zh-CN", "en-US") == "zh-CN"
    assert security.pick_language("fr", None, "zh-TW,zh;q=0.9") == "zh-CN"
    assert security.pick_language(None, None, "de-DE,en;q=0.5") == "en"
    assert security.pick_language(None, None, "") == "en"
