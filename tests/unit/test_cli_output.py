"""What the CLI prints must never carry the embedded Redis's password."""

from __future__ import annotations

from chatserver.cli import _without_password


def test_a_password_in_a_redis_url_is_hidden_and_the_rest_kept() -> None:
    assert _without_password("redis://:s3cr3t@127.0.0.1:555/0") == "redis://:***@127.0.0.1:555/0"
    assert _without_password("redis://user:pw@host:1/2") == "redis://user:***@host:1/2"
    assert _without_password("redis://127.0.0.1:6380/0") == "redis://127.0.0.1:6380/0"
