"""ISO weeks in the editor's time zone: what "this week's candidates" means."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


def parse_week(text: str) -> tuple[int, int]:
    """'2026-W47' → (2026, 47); ValueError naming the value otherwise."""
    match = _WEEK.match(text.strip())
    if not match:
        raise ValueError(f"week {text!r} is not of the form YYYY-Www (e.g. 2026-W47)")
    year, week = int(match.group(1)), int(match.group(2))
    try:
        date.fromisocalendar(year, week, 1)
    except ValueError:
        raise ValueError(f"week {text!r} does not exist") from None
    return year, week


def week_bounds(text: str, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[Monday 00:00, next Monday 00:00) of that ISO week in `zone`, as UTC datetimes."""
    year, week = parse_week(text)
    monday = date.fromisocalendar(year, week, 1)
    start = datetime.combine(monday, time(0), tzinfo=zone)
    end = datetime.combine(monday + timedelta(days=7), time(0), tzinfo=zone)
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


def week_of(moment: datetime, zone: ZoneInfo) -> str:
    """The ISO week ('2026-W47') a moment falls in, in `zone`."""
    year, week, _ = moment.astimezone(zone).isocalendar()
    return f"{year}-W{week:02d}"


def current_week(zone: ZoneInfo) -> str:
    return week_of(datetime.now(timezone.utc), zone)
