"""Poll scheduling policy: backoff, Retry-After, alerts once per streak, source calendars."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

from monitor.daemon.schedule import PAUSE_AFTER, Calendar, next_delay, poll_alerts, quiet_since
from monitor.models import Source
from monitor.store.health import Health

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)  # a Friday
SOURCE = Source(id="mfa", name="MFA briefings", adapter="mfa", urls=("https://x/",),
                language="en", interval=timedelta(minutes=30),
                options={"calendar": {"days": "weekdays", "closed": ["08-01..08-20"]},
                         "quiet_after": "2d"})


def health(errors: int = 0, kind: str | None = None, **kw) -> Health:
    return Health(source="mfa", consecutive_errors=errors, last_error_kind=kind,
                  last_error="boom" if kind else None, last_success=NOW - timedelta(days=1), **kw)


def test_backoff_doubles_and_is_capped_at_a_day() -> None:
    assert next_delay(SOURCE, health(0), NOW) == timedelta(minutes=30)
    assert next_delay(SOURCE, health(1, "http_5xx"), NOW) == timedelta(minutes=30)
    assert next_delay(SOURCE, health(3, "http_5xx"), NOW) == timedelta(hours=2)
    assert next_delay(SOURCE, health(40, "http_5xx"), NOW) == timedelta(hours=24)


def test_retry_after_wins_when_longer() -> None:
    later = health(1, "rate_limited", retry_after=NOW + timedelta(hours=3))
    assert next_delay(SOURCE, later, NOW) == timedelta(hours=3)


def test_pause_and_recovery_are_announced_once() -> None:
    messages = [poll_alerts(SOURCE, health(n - 1, "http_5xx"), health(n, "http_5xx"))
                for n in range(1, PAUSE_AFTER + 3)]
    paused = [m for batch in messages for m in batch if "paused" in m]
    assert len(paused) == 1 and "MFA briefings" in paused[0]
    recovered = poll_alerts(SOURCE, health(PAUSE_AFTER + 2, "http_5xx"), health(0))
    assert len(recovered) == 1 and "recovered" in recovered[0]
    assert poll_alerts(SOURCE, health(2, "http_5xx"), health(0)) == []


def test_a_200_that_parses_to_nothing_is_reported_once_per_streak() -> None:
    first = poll_alerts(SOURCE, health(0), health(1, "empty"))
    assert len(first) == 1 and "layout" in first[0]
    assert poll_alerts(SOURCE, health(1, "empty"), health(2, "empty")) == []
    assert poll_alerts(SOURCE, health(0), health(1, "connect")) == []


def test_calendar_explains_weekends_and_recess() -> None:
    cal = Calendar.of(SOURCE)
    assert not cal.open_on(date(2026, 11, 21))  # Saturday
    assert not cal.open_on(date(2026, 8, 10))  # summer recess
    assert cal.open_on(date(2026, 11, 23))
    friday_evening = NOW.replace(hour=18)
    monday = NOW + timedelta(days=3)
    assert not quiet_since(SOURCE, friday_evening, monday), "a weekend is not an alarm"
    assert quiet_since(SOURCE, friday_evening, NOW + timedelta(days=5))
    recess = replace(SOURCE)
    assert not quiet_since(recess, datetime(2026, 7, 31, tzinfo=timezone.utc),
                           datetime(2026, 8, 19, tzinfo=timezone.utc))
