"""What a site tells its storefront widget: language, texts, theme, pre-chat fields and
business hours (sans I/O: the clock is passed in).

Every field is optional: a site saved before these settings existed gets the defaults (the
shopper's browser language, the built-in texts and colours, no pre-chat fields, always open).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

LANGUAGES = ("en", "zh-CN")
PRECHAT_FIELDS = ("name", "email", "department")
POSITIONS = ("right", "left")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_TEXT = 500


class WidgetSettingsError(ValueError):
    """A setting breaks a rule (model.py imports this module: it cannot import model's
    ValidationError, which is a ValueError too)."""


_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_TEXT_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
_RANGE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


@dataclass(frozen=True, slots=True)
class WidgetSettings:
    """A site's widget settings. `hours` maps a day ('mon'..'sun') to opening ranges
    ('09:00-12:00,13:00-18:00') in `timezone`; no hours at all means always open, and a day
    left out is closed. `reply_hours` is what the acknowledgement of a message left while
    nobody is available promises (when the store is open)."""

    language: str = ""  # '' = the shopper's browser language
    color: str = ""  # '#rrggbb'; '' = the built-in accent
    position: str = "right"
    texts: dict[str, dict[str, str]] = field(default_factory=dict, hash=False)
    prechat: tuple[str, ...] = ()
    timezone: str = "UTC"
    hours: dict[str, str] = field(default_factory=dict, hash=False)
    reply_hours: int = 24

    def __post_init__(self) -> None:
        _check(not self.language or self.language in LANGUAGES, "language", self.language)
        _check(not self.color or bool(_COLOR.fullmatch(self.color)), "color", self.color)
        _check(self.position in POSITIONS, "position", self.position)
        _check(all(f in PRECHAT_FIELDS for f in self.prechat), "prechat", self.prechat)
        _check(isinstance(self.reply_hours, int) and 1 <= self.reply_hours <= 24 * 14,
               "reply_hours", self.reply_hours)  # fmt: skip
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise WidgetSettingsError(f"widget timezone: unknown zone {self.timezone!r}") from None
        for day, ranges in self.hours.items():
            _check(day in DAYS, "hours day", day)
            _check(all(_RANGE.fullmatch(r.strip()) for r in ranges.split(",")), "hours", ranges)
        for lang, texts in self.texts.items():
            _check(lang in LANGUAGES, "texts language", lang)
            for key, text in texts.items():
                _check(bool(_TEXT_KEY.fullmatch(key)), "text key", key)
                _check(isinstance(text, str) and len(text) <= MAX_TEXT, "text", key)

    def is_open(self, now_ms: int) -> bool:
        """Whether `now_ms` falls within the business hours (always, without hours)."""
        if not self.hours:
            return True
        now = self._local(now_ms)
        return any(start <= now < end for start, end in self._ranges_around(now))

    def next_open_ms(self, now_ms: int) -> int | None:
        """When the store next opens after `now_ms` (None: open now, or never opens)."""
        if self.is_open(now_ms):
            return None
        now = self._local(now_ms)
        starts = [start for start, _ in self._ranges_around(now) if start > now]
        return int(min(starts).timestamp() * 1000) if starts else None

    def _local(self, now_ms: int) -> datetime:
        return datetime.fromtimestamp(now_ms / 1000, ZoneInfo(self.timezone))

    def _ranges_around(self, now: datetime) -> list[tuple[datetime, datetime]]:
        """Opening ranges from yesterday to a week ahead, as local datetimes."""
        ranges = []
        for offset in range(-1, 8):
            day = (now + timedelta(days=offset)).replace(hour=0, minute=0, second=0,
                                                         microsecond=0)  # fmt: skip
            for text in self.hours.get(DAYS[day.weekday()], "").split(","):
                match = _RANGE.fullmatch(text.strip())
                if match:
                    h1, m1, h2, m2 = (int(g) for g in match.groups())
                    start = day + timedelta(hours=h1, minutes=m1)
                    end = day + timedelta(hours=h2, minutes=m2)
                    if end > start:
                        ranges.append((start, end))
        return ranges


def to_dict(settings: WidgetSettings) -> dict[str, Any]:
    """The settings as JSON-ready values (only those that differ from the defaults)."""
    default = WidgetSettings()
    out: dict[str, Any] = {}
    for name in WidgetSettings.__dataclass_fields__:
        value = getattr(settings, name)
        if value != getattr(default, name):
            out[name] = list(value) if isinstance(value, tuple) else value
    return out


def from_dict(data: dict[str, Any] | None) -> WidgetSettings:
    """Settings from JSON values; unknown names are refused (a typo must not pass silently)."""
    data = dict(data or {})
    unknown = set(data) - set(WidgetSettings.__dataclass_fields__)
    if unknown:
        raise WidgetSettingsError(f"unknown widget settings: {', '.join(sorted(unknown))}")
    if "prechat" in data:
        data["prechat"] = tuple(data["prechat"])
    try:
        return WidgetSettings(**data)
    except TypeError as exc:
        raise WidgetSettingsError(f"widget settings: {exc}") from None


def _check(ok: bool, what: str, value: object) -> None:
    if not ok:
        raise WidgetSettingsError(f"widget {what}: invalid value {value!r}")
