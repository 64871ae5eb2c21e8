"""The acknowledgement of a left message says when to expect the answer from the site's business
hours: out of hours, when the store opens again (in its timezone); in hours, `reply_hours`."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from chatserver.core import mail
from chatserver.core.widget_settings import WidgetSettings
from chatserver.mail.compose import compose

SHANGHAI = ZoneInfo("Asia/Shanghai")
WEEKDAYS = WidgetSettings(
    timezone="Asia/Shanghai",
    hours=dict.fromkeys(("mon", "tue", "wed", "thu", "fri"), "09:00-18:00"),
)


def _ms(year: int, month: int, day: int, hour: int, minute: int) -> int:
    return int(datetime(year, month, day, hour, minute, tzinfo=SHANGHAI).timestamp() * 1000)


def _text(sent: mail.Mail) -> tuple[str, str]:
    msg = compose(sent, "Shop <help@shop.example>", 0)
    text, html = msg.get_body(("plain",)), msg.get_body(("html",))
    assert text is not None and html is not None
    return " ".join(text.get_content().split()), " ".join(html.get_content().split())


def test_out_of_hours_the_acknowledgement_says_when_the_store_opens_again() -> None:
    saturday_night = _ms(2026, 12, 5, 22, 30)  # a Saturday in Shanghai (14:30 UTC)
    opens = mail.opening_time(WEEKDAYS, saturday_night, "en")
    assert opens == "Monday 09:00 (Asia/Shanghai)"
    sent = mail.left_message_ack("c1", "li@example.com", "Shop", "Li", 24, "en", "s1", opens)
    text, html = _text(sent)
    assert "we open again Monday 09:00 (Asia/Shanghai) and will reply after that" in text
    assert "Monday 09:00 (Asia/Shanghai)" in html
    assert "24 hours" not in text and "24 hours" not in html

    zh = mail.opening_time(WEEKDAYS, saturday_night, "zh-CN")
    assert zh == "周一 09:00（Asia/Shanghai）"
    text, _ = _text(
        mail.left_message_ack("c1", "li@example.com", "商店", "", 24, "zh-CN", "s1", zh)
    )
    assert "将于 周一 09:00（Asia/Shanghai） 恢复服务" in text and "24 小时" not in text


def test_before_opening_on_a_weekday_it_is_the_same_morning() -> None:
    early = _ms(2026, 12, 2, 7, 0)  # a Wednesday, before 09:00
    assert mail.opening_time(WEEKDAYS, early, "en") == "Wednesday 09:00 (Asia/Shanghai)"
    lunch = WidgetSettings(timezone="UTC", hours={"wed": "09:00-12:00,13:30-18:00"})
    at_lunch = int(datetime(2026, 12, 2, 12, 15, tzinfo=ZoneInfo("UTC")).timestamp() * 1000)
    assert mail.opening_time(lunch, at_lunch, "en") == "Wednesday 13:30 (UTC)"


def test_in_hours_or_without_hours_the_acknowledgement_promises_the_reply_hours() -> None:
    tuesday_noon = _ms(2026, 12, 1, 12, 0)
    assert mail.opening_time(WEEKDAYS, tuesday_noon, "en") == ""
    assert mail.opening_time(WidgetSettings(), tuesday_noon, "en") == ""  # always open
    sent = mail.left_message_ack("c1", "li@example.com", "Shop", "", 12, "en", "s1", "")
    text, html = _text(sent)
    assert "we will reply within 12 hours" in text and "12 hours" in html
    assert "open again" not in text


def test_a_mail_queued_before_the_opening_time_existed_still_renders() -> None:
    old = mail.left_message_ack("c1", "li@example.com", "Shop", "", 24, "en")
    values = {k: v for k, v in old.values.items() if k != "opens"}
    text, _ = _text(mail.Mail(old.key, old.to, old.template, old.language, values))
    assert "we will reply within 24 hours" in text
