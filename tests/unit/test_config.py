"""Settings from CHAT_* variables: types, booleans, and the limits' validation."""

from __future__ import annotations

import pytest

from chatserver import config
from chatserver.config import OPTIONS, ConfigError


def test_booleans_read_the_usual_words_and_refuse_others() -> None:
    for word in ("1", "true", "Yes", "on"):
        assert config.from_env({"CHAT_ALLOW_DEMO_PASSWORDS": word}).allow_demo_passwords
    for word in ("0", "false", "No", "off", ""):
        assert not config.from_env({"CHAT_ALLOW_DEMO_PASSWORDS": word}).allow_demo_passwords
    with pytest.raises(ConfigError, match="CHAT_ALLOW_DEMO_PASSWORDS"):
        config.from_env({"CHAT_ALLOW_DEMO_PASSWORDS": "perhaps"})


def test_settings_survive_the_trip_to_worker_processes() -> None:
    settings = config.from_env({}, demo=True, sockets_per_address=7, retention_days=1.5)
    assert config.from_env(settings.to_env()) == settings


def test_every_limit_must_be_positive() -> None:
    for name in ("sockets_per_address", "conversations_per_visitor", "max_entries",
                 "password_checks"):  # fmt: skip
        with pytest.raises(ConfigError, match=name.replace("_", "-")):
            config.from_env({}, **{name: 0})


def test_demo_mode_is_not_a_flag_of_serve() -> None:
    assert [o.name for o in OPTIONS if not o.cli] == ["demo"]
