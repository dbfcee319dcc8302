"""When to poll a source next, and which changes in its health deserve one message.

The daemon asks this module after every poll. Failures back off exponentially from the
source's interval (honouring Retry-After, capped at 24 h); after PAUSE_AFTER failures in a row
the source counts as paused and the editor hears about it once, and once more when it recovers.
A 200 that parsed to nothing is reported once per streak ("layout changed?"). Sources keep
calendars (`options.calendar`): the MFA briefs on weekdays and not in its summer recess, think
tanks publish on weekdays, so a quiet weekend is not an alarm.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from monitor.config.sources import parse_interval
from monitor.models import Source
from monitor.store.health import Health

PAUSE_AFTER = 5
BACKOFF_CAP = timedelta(hours=24)
LAYOUT_KINDS = ("empty", "malformed", "error_page")
DEFAULT_QUIET = timedelta(days=3)


@dataclass(frozen=True, slots=True)
class Calendar:
    """The days a source is expected to publish: weekdays only or every day, minus closures."""

    weekdays_only: bool = False
    closed: tuple[tuple[str, str], ...] = ()  # ("08-01", "08-20"): month-day ranges, inclusive

    @classmethod
    def of(cls, source: Source) -> Calendar:
        spec = source.option("calendar") or {}
        closed = tuple(tuple(part.strip() for part in span.split("..", 1))
                       for span in spec.get("closed", []))
        return cls(weekdays_only=spec.get("days") == "weekdays", closed=closed)  # type: ignore[arg-type]

    def open_on(self, day: date) -> bool:
        if self.weekdays_only and day.weekday() >= 5:
            return False
        stamp = day.strftime("%m-%d")
        return not any(start <= stamp <= end for start, end in self.closed)

    def open_days_between(self, start: date, end: date) -> int:
        """Publishing days after `start` up to and including `end`."""
        days, day = 0, start + timedelta(days=1)
        while day <= end and days < 366:
            days += self.open_on(day)
            day += timedelta(days=1)
        return days


def next_delay(source: Source, health: Health, now: datetime) -> timedelta:
    """Time to the next poll: the interval, or the backoff after failures."""
    errors = health.consecutive_errors
    if errors == 0:
        return source.interval
    delay = min(BACKOFF_CAP, source.interval * (2 ** min(errors - 1, 16)))
    if health.retry_after is not None:
        delay = max(delay, health.retry_after - now)
    return min(delay, BACKOFF_CAP) if health.retry_after is None else delay


def poll_alerts(source: Source, before: Health, after: Health,
                pause_after: int = PAUSE_AFTER) -> list[str]:
    """Messages for the editor about this poll's effect on the source's health (usually none)."""
    if after.consecutive_errors == 0:
        if before.consecutive_errors >= pause_after:
            return [f"✅ {source.name} recovered after {before.consecutive_errors} failed polls."]
        return []
    kind = after.last_error_kind or "error"
    out = []
    if after.consecutive_errors == 1 and kind in LAYOUT_KINDS and before.last_success:
        out.append(f"❓ {source.name}: the page answered but nothing could be read from it "
                   f"({kind}: {(after.last_error or '')[:150]}). Has the layout changed?")
    if after.consecutive_errors == pause_after:
        out.append(f"⚠️ {source.name} paused after {pause_after} failed polls in a row "
                   f"({kind}: {(after.last_error or '')[:150]}). It is retried with backoff; "
                   f"you will hear when it recovers.")
    return out


def quiet_since(source: Source, last_new: datetime | None, now: datetime) -> bool:
    """True when the source has published nothing new for longer than its calendar explains."""
    if last_new is None:
        return False
    limit = source.option("quiet_after")
    days = (parse_interval(limit) if limit else DEFAULT_QUIET).total_seconds() / 86400
    calendar = Calendar.of(source)
    return calendar.open_days_between(last_new.date(), now.date()) > days
