"""A site's widget settings: defaults, validation, and business hours in the site's zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from chatserver.core.widget_settings import (
    WidgetSettings,
    WidgetSettingsError,
    from_dict,
    to_dict,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
WEEKDAYS = {"mon": "09:00-12:00,13:00-18:00", "tue": "09:00-18:00"}


def _ms(*args: int, tz: ZoneInfo = SHANGHAI) -> int:
    return int(datetime(*args, tzinfo=tz).timestamp() * 1000)  # type: ignore[misc]


def test_a_site_without_settings_gets_the_defaults_and_is_always_open() -> None:
    settings = from_dict(None)
    assert settings == WidgetSettings()
    assert to_dict(settings) == {}
    assert settings.is_open(_ms(2026, 11, 22, 3, 0)) and settings.next_open_ms(0) is None


def test_settings_survive_a_round_trip_through_json_values() -> None:
    settings = WidgetSettings(language="zh-CN", color="#8c2f39", position="left",
                              texts={"en": {"welcome": "Hi"}}, prechat=("name", "email"),
                              timezone="Asia/Shanghai", hours=WEEKDAYS, reply_hours=8)  # fmt: skip
    assert from_dict(to_dict(settings)) == settings


@pytest.mark.parametrize(
    ("when", "is_open"),
    [
        ((2026, 11, 23, 8, 59), False),  # Monday, before opening
        ((2026, 11, 23, 9, 0), True),
        ((2026, 11, 23, 12, 30), False),  # lunch
        ((2026, 11, 23, 17, 59), True),
        ((2026, 11, 23, 18, 0), False),
        ((2026, 11, 28, 10, 0), False),  # Saturday: not listed, closed
    ],
)
def test_business_hours_are_read_in_the_sites_zone(when: tuple[int, ...], is_open: bool) -> None:
    settings = WidgetSettings(timezone="Asia/Shanghai", hours=WEEKDAYS)
    assert settings.is_open(_ms(*when)) is is_open


def test_the_same_wall_time_elsewhere_is_a_different_moment() -> None:
    settings = WidgetSettings(timezone="Asia/Shanghai", hours=WEEKDAYS)
    utc = ZoneInfo("UTC")
    assert settings.is_open(_ms(2026, 11, 23, 9, 30, tz=utc))  # 17:30 in Shanghai
    assert not settings.is_open(_ms(2026, 11, 23, 10, 30, tz=utc))  # 18:30 in Shanghai


def test_the_next_opening_is_the_next_range_start_even_days_ahead() -> None:
    settings = WidgetSettings(timezone="Asia/Shanghai", hours=WEEKDAYS)
    assert settings.next_open_ms(_ms(2026, 11, 23, 12, 30)) == _ms(2026, 11, 23, 13, 0)
    assert settings.next_open_ms(_ms(2026, 11, 24, 19, 0)) == _ms(2026, 11, 30, 9, 0)
    assert settings.next_open_ms(_ms(2026, 11, 23, 10, 0)) is None  # open now


@pytest.mark.parametrize(
    "bad",
    [
        {"language": "fr"},
        {"color": "red"},
        {"position": "top"},
        {"prechat": ["phone"]},
        {"timezone": "Mars/Olympus"},
        {"hours": {"mon": "9-5"}},
        {"hours": {"funday": "09:00-17:00"}},
        {"texts": {"de": {"welcome": "Hallo"}}},
        {"texts": {"en": {"welcome": "x" * 501}}},
        {"reply_hours": 0},
        {"colour": "#ffffff"},
    ],
)
def test_invalid_settings_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(WidgetSettingsError):
        from_dict(bad)
