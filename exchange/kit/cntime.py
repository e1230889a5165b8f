"""China Standard Time for people: the one way a date or a time is printed on a proof or shown on a page.

Stored and exchanged times stay UTC ISO 8601; whatever a person reads is converted here to Beijing time
(UTC+8, no daylight saving) and printed one way — ``2026年12月1日 11:39`` in Chinese, ``1 Dec 2026, 11:39
(Beijing time)`` in English; dates alone as ``2026年12月1日`` / ``1 Dec 2026``. The browser side
(``exchange/web/static/js/time.js``) prints the same shapes.
"""

from __future__ import annotations

import re
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


_ISO_MOMENT_RE: Final = re.compile(
    r"(?<![A-Za-z0-9-])(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?(?![A-Za-z0-9-])")
_CN_DATE_RE: Final = re.compile(r"(\d{4})年0?(\d{1,2})月(?:0?(\d{1,2})日)?")
_CN_TIME_RE: Final = re.compile(r"(日?)(\d{1,2})时(\d{2})分")


def _iso_match(m: re.Match[str]) -> str:
    year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
    try:
        when = date(year, month, day)
    except ValueError:
        return m.group(0)
    if m.group(4) is None:
        return cn_date(when)
    moment = datetime(year, month, day, int(m.group(4)), int(m.group(5)))
    if m.group(6):  # an explicit offset: convert; a bare local time is taken as China time already
        parsed = parse(m.group(0).replace(" ", "T"))
        if isinstance(parsed, datetime):
            return cn_datetime(parsed)
    return f"{cn_date(moment.date())} {moment:%H:%M}"


def normalise_dates(text: str) -> str:
    """Dates and times inside printed text in the one format: ``2001-03-12`` and ``2001年03月12日`` become
    ``2001年3月12日``, ``2001年03月`` becomes ``2001年3月``, ``11时39分`` becomes ``11:39``. Anything that is not a
    calendar date (an identifier with dashes, an impossible day) is left alone."""
    text = _ISO_MOMENT_RE.sub(_iso_match, text)
    text = _CN_DATE_RE.sub(
        lambda m: f"{m.group(1)}年{int(m.group(2))}月" + (f"{int(m.group(3))}日" if m.group(3) else ""), text)
    return _CN_TIME_RE.sub(lambda m: f"{m.group(1) and '日 '}{int(m.group(2)):02d}:{m.group(3)}", text)

