"""China Standard Time for people: the one way a date or a time is printed on a proof or shown on a page.

Stored and exchanged times stay UTC ISO 8601; whatever a person reads is converted here to Beijing time
(UTC+8, no daylight saving) and printed one way — ``2026年12月1日 11:39`` in Chinese, ``1 Dec 2026, 11:39
(Beijing time)`` in English; dates alone as ``2026年12月1日`` / ``1 Dec 2026``. The browser side
(``exchange/web/static/js/time.js``) prints the same shapes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Final

CHINA_TZ: Final = timezone(timedelta(hours=8), "CST")
_MONTHS: Final = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def china_time(moment: datetime) -> datetime:
    """``moment`` in China Standard Time (a naive datetime is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(CHINA_TZ)


def cn_date(day: date) -> str:
    """``2026年12月1日`` (a datetime is converted to China time first)."""
    if isinstance(day, datetime):
        day = china_time(day).date()
    return f"{day.year}年{day.month}月{day.day}日"


def cn_datetime(moment: datetime) -> str:
    """``2026年12月1日 11:39`` in China time."""
    t = china_time(moment)
    return f"{cn_date(t.date())} {t.hour:02d}:{t.minute:02d}"


def en_date(day: date) -> str:
    if isinstance(day, datetime):
        day = china_time(day).date()
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def en_datetime(moment: datetime) -> str:
    t = china_time(moment)
    return f"{en_date(t.date())}, {t.hour:02d}:{t.minute:02d} (Beijing time)"


def parse(value: str | datetime | date | None) -> datetime | date | None:
    """An ISO 8601 string (or a datetime/date) as a datetime/date; None for anything unreadable."""
    if value is None or isinstance(value, datetime | date):
        return value
    text = str(value).strip()
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def for_people(value: str | datetime | date | None, lang: str = "zh-CN", *, with_time: bool = True) -> str:
    """Any stored time as a person reads it in ``lang`` (``zh-CN`` or ``en``); "" when there is none."""
    parsed = parse(value)
    if parsed is None:
        return "" if value in (None, "") else str(value)
    en = lang == "en"
    if isinstance(parsed, datetime) and with_time:
        return en_datetime(parsed) if en else cn_datetime(parsed)
    return en_date(parsed) if en else cn_date(parsed)
