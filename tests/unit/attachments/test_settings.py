"""The attachment options: URLs checked at start (never echoing a secret), limits positive."""

from __future__ import annotations

import pytest

from chatserver import config
from chatserver.config import ConfigError


@pytest.mark.parametrize(
    "url", ["", "off", "file:///srv/files", "s3://AK:SK@minio:9000/chat?secure=0", "s3://h/b/p"]
)
def test_good_attachment_urls_are_taken(url: str) -> None:
    assert config.from_env({"CHAT_ATTACHMENTS_URL": url}).attachments_url == url


@pytest.mark.parametrize("url", ["ftp://h/b", "s3://AK:topsecret@minio:9000", "file://rel/x"])
def test_bad_attachment_urls_stop_the_server_without_showing_the_secret(url: str) -> None:
    with pytest.raises(ConfigError, match="--attachments-url / CHAT_ATTACHMENTS_URL") as err:
        config.from_env({"CHAT_ATTACHMENTS_URL": url})
    assert "topsecret" not in str(err.value)


@pytest.mark.parametrize(
    "name", ["MAX_UPLOAD_BYTES", "UPLOADS_PER_VISITOR", "CONVERSATION_UPLOAD_BYTES",
             "MAX_IMAGE_PIXELS", "ATTACHMENT_URL_SECONDS"],
)  # fmt: skip
def test_attachment_limits_must_be_positive(name: str) -> None:
    with pytest.raises(ConfigError, match=name):
        config.from_env({f"CHAT_{name}": "0"})
