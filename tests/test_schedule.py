"""Poll scheduling policy: backoff, Retry-After, alerts once per streak, source calendars,
and the trigger that puts the learned plan in front of APScheduler."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from monitor.daemon.cadence import Plan
from monitor.daemon.schedule import (
    PAUSE_AFTER,
    Calendar,
    PollTrigger,
    next_delay,
    poll_alerts,
    quiet_since,
)
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


# --- PollTrigger: the learned plan as APScheduler sees it ----------------------------------

def evening_plan(**kw) -> Plan:
    """Fast (3 min) from 18:00 to 22:00 UTC every day, hourly otherwise."""
    hours = [timedelta(minutes=3) if h % 24 in range(18, 22) else timedelta(hours=1)
             for h in range(168)]
    return Plan(intervals=tuple(hours), zone=ZoneInfo("UTC"), slow=timedelta(hours=1), **kw)


def fire_chain(trigger: PollTrigger, start: datetime, n: int) -> list[datetime]:
    """Fires as APScheduler's `_process_jobs` asks for them: twice for each fire time, once
    in `Job._get_run_times` and once for the job's next run."""
    fires = [start]
    for _ in range(n):
        now = fires[-1] + timedelta(seconds=1)
        first = trigger.get_next_fire_time(fires[-1], now)
        again = trigger.get_next_fire_time(fires[-1], now)
        assert first == again, "both questions get one answer"
        fires.append(again)
    return fires


def test_the_trigger_keeps_the_mean_period_as_apscheduler_drives_it() -> None:
    ten = Plan(intervals=(timedelta(minutes=10),) * 168, zone=ZoneInfo("UTC"),
               slow=timedelta(minutes=10), cap=144)
    fires = fire_chain(PollTrigger("s", ten, origin=NOW), NOW, 500)
    gaps = [(b - a).total_seconds() for a, b in zip(fires[1:], fires[2:])]
    assert min(gaps) < 590 < 610 < max(gaps), "jittered both ways"
    assert abs(sum(gaps) / len(gaps) - 600) < 2, f"mean period {sum(gaps) / len(gaps):.1f}s"
    drift = (fires[-1] - fires[1]).total_seconds() - 600 * (len(fires) - 2)
    assert abs(drift) <= 60, f"the chain wandered {drift:.0f}s: the jitter accumulated"


def test_the_trigger_follows_the_plan_on_the_daemons_clock() -> None:
    start = NOW.replace(hour=19)  # a fast hour
    plain = fire_chain(PollTrigger("s", evening_plan(cap=144), origin=start), start, 20)
    fast = fire_chain(PollTrigger("s", evening_plan(cap=144), origin=start, scale=60), start,
                      20)
    plain_gaps = [(b - a).total_seconds() for a, b in zip(plain, plain[1:])]
    fast_gaps = [(b - a).total_seconds() for a, b in zip(fast, fast[1:])]
    assert 170 < sum(plain_gaps) / 20 < 190, "every 3 minutes in the evening"
    assert 170 / 60 < sum(fast_gaps) / 20 < 190 / 60, "…60 times faster on a compressed clock"
    behind = PollTrigger("s", evening_plan(cap=144), origin=start)
    hours_late = start + timedelta(hours=2)  # the loop was blocked: no burst of catch-up polls
    assert hours_late < behind.get_next_fire_time(start, hours_late) <= hours_late + timedelta(
        minutes=4)
    late = PollTrigger("s", evening_plan(cap=144), origin=start)
    assert late.get_next_fire_time(start.replace(hour=23), start.replace(hour=23, second=1)) \
        >= start.replace(hour=23, minute=50), "hourly outside its hours"


def test_a_backoff_fire_starts_a_new_chain_and_the_cap_counts_every_fire() -> None:
    start = NOW.replace(hour=18)
    trigger = PollTrigger("s", evening_plan(cap=10), origin=start)
    fires = fire_chain(trigger, start, 30)
    assert fires[-1] - fires[0] > timedelta(days=2), "the cap of 10 a day stretched the chain"
    days = [f.date() for f in fires]  # the plan's zone is UTC
    assert max(days.count(d) for d in days) == 10
    backoff = start + timedelta(days=3, minutes=17)  # a fire the daemon set, not the chain
    after = trigger.get_next_fire_time(backoff, backoff)
    assert timedelta(minutes=2) < after - backoff <= timedelta(hours=1, minutes=3)


async def test_replan_learns_each_source_from_its_stored_publication_times(engine, tmp_path):
    from conftest import ROOT

    from monitor.bootstrap import load
    from monitor.config.settings import load_settings
    from monitor.daemon.cadence import plan_for
    from monitor.daemon.http import Readiness
    from monitor.daemon.run import Daemon
    from monitor.models import Item
    from monitor.pipeline.run import Pipeline
    from monitor.store import items as item_store

    wire = Source(id="wire", name="A wire", adapter="rss", urls=("https://x.org/feed",),
                  language="en", interval=timedelta(minutes=30))
    evenings = [Item(source="wire", url=f"https://x.org/{n}", title=f"t{n}", key=f"k{n}",
                     published=NOW.replace(hour=19, minute=n % 60) - timedelta(days=n))
                for n in range(1, 41)]
    dated = [Item(source="wire", url=f"https://x.org/d{n}", title=f"d{n}", key=f"d{n}",
                  published=NOW.replace(hour=0, minute=0) - timedelta(days=n), date_only=True)
             for n in range(1, 41)]  # known only to the day: they say nothing about 00:00
    await item_store.insert_new(engine, evenings + dated)
    daemon = Daemon(load(load_settings({"MONITOR_STORAGE": str(tmp_path),
                                        "MONITOR_SOURCES": str(ROOT / "sources.yaml")})),
                    Pipeline(engine=engine, sources={"wire": wire}), log_nothing,
                    Readiness(engine), None)
    daemon.triggers["wire"] = PollTrigger("wire", plan_for(wire, []), origin=NOW)
    prior_at_19 = daemon.triggers["wire"].plan.interval_at(NOW.replace(hour=19))
    await daemon.replan(now=NOW)
    plan = daemon.triggers["wire"].plan
    assert plan.interval_at(NOW.replace(hour=19)) < prior_at_19
    assert plan.interval_at(NOW.replace(hour=10)) == plan.slow, "no longer the prior's day"
    assert plan.interval_at(NOW.replace(hour=0, minute=30)) == plan.slow


async def log_nothing(text: str) -> None:
    return None
