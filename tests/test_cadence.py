"""The learned poll plan: fast in a source's publishing hours, slow outside them, under the
daily cap, with jitter that does not drift the period. Every clock here is injected."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from statistics import mean

from monitor.daemon.cadence import (
    FASTEST,
    HOURS,
    POLLS_PER_DAY,
    Plan,
    capped,
    next_nominal,
    next_poll,
    plan_for,
    recent_polls,
)
from monitor.models import Source

MONDAY = datetime(2026, 11, 2, tzinfo=timezone.utc)  # 00:00 UTC, a Monday
BERLIN_WINTER = timezone(timedelta(hours=1))  # Europe/Berlin in November


def source(interval: timedelta = timedelta(minutes=30), **options) -> Source:
    return Source(id="office", name="Office hours", adapter="rss", urls=("http://x/",),
                  language="en", interval=interval, timezone="Europe/Berlin", options=options)


def office_history(weeks: int = 8, per_day: int = 4, seed: int = 7) -> list[datetime]:
    """Items on weekdays between 09:00 and 17:00 Berlin time, nowhere else."""
    rng, out = random.Random(seed), []
    for day in range(-7 * weeks, 0):
        local = (MONDAY + timedelta(days=day)).astimezone(BERLIN_WINTER).replace(hour=0)
        if local.weekday() < 5:
            out += [local + timedelta(hours=9 + 8 * rng.random()) for _ in range(per_day)]
    return sorted(out)


def polls_in(plan: Plan, start: datetime, end: datetime, key: str = "office") -> list[datetime]:
    """The polls the chain makes from `start` to `end`, each asked at the moment it fires."""
    polls, nominal, at = [], start, start
    while at < end:
        polls.append(at)
        nominal, at = next_poll(plan, key, nominal, at, recent_polls(polls, at))
    return polls


def per_hour(polls: list[datetime], hours: set[int]) -> float:
    """Mean polls per hour over the given local hours of the week (one week of polls)."""
    local = [p.astimezone(BERLIN_WINTER) for p in polls]
    return sum(p.weekday() * 24 + p.hour in hours for p in local) / len(hours)


WORKING = {d * 24 + h for d in range(5) for h in range(10, 17)}
NIGHTS = {d * 24 + h for d in range(5) for h in range(0, 6)}
WEEKEND = set(range(5 * 24, 7 * 24))


def test_a_source_publishing_in_office_hours_is_polled_often_then_and_rarely_otherwise() -> None:
    plan = plan_for(source(), office_history())
    polls = polls_in(plan, MONDAY, MONDAY + timedelta(weeks=1))
    assert per_hour(polls, WORKING) >= 8, "at least every 7.5 minutes in its working hours"
    assert per_hour(polls, NIGHTS) <= 1.1 and per_hour(polls, WEEKEND) <= 1.1, \
        "at most hourly at night and at weekends"
    assert plan.interval_at(datetime(2026, 11, 7, 12, tzinfo=timezone.utc)) == plan.slow
    assert plan.interval_at(datetime(2026, 11, 4, 12, tzinfo=timezone.utc)) < timedelta(
        minutes=7)


def test_the_fast_interval_is_as_short_as_the_cap_allows_but_no_shorter_than_fastest() -> None:
    narrow = [t.replace(hour=13, minute=t.minute) for t in office_history()]  # 14:xx Berlin
    plan = plan_for(source(), narrow)
    assert min(plan.intervals) == FASTEST
    assert len(plan.fast_hours()) <= 5 * 5, "a few hours around 14:00 on weekdays, no more"


def busiest_day(polls: list[datetime]) -> int:
    """The most polls on one of the source's days (Berlin, the zone of these sources)."""
    days = [p.astimezone(BERLIN_WINTER).date() for p in polls]
    return max(days.count(d) for d in set(days))


def test_the_daily_cap_holds_on_every_day() -> None:
    all_day = [MONDAY - timedelta(minutes=7 * n) for n in range(1, 8 * 7 * 24 * 8)]
    for cap in (POLLS_PER_DAY, 48):
        plan = plan_for(source(timedelta(minutes=1)), all_day, cap=cap)
        polls = polls_in(plan, MONDAY, MONDAY + timedelta(days=4))
        assert busiest_day(polls) <= cap
        assert len(polls) >= 4 * cap * 0.9, "…and the budget is used when it publishes all day"


def test_the_cap_holds_even_when_the_plan_asks_for_more() -> None:
    greedy = Plan(intervals=(timedelta(minutes=1),) * HOURS, zone=source().zone,
                  slow=timedelta(minutes=1), cap=144)
    polls = polls_in(greedy, MONDAY, MONDAY + timedelta(days=3))
    assert busiest_day(polls) == 144
    zone = source().zone
    recent = [MONDAY + timedelta(minutes=n) for n in range(144)]  # 01:00–03:23 Berlin
    midnight = datetime(2026, 11, 2, 23, tzinfo=timezone.utc)  # 00:00 Tuesday in Berlin
    assert capped(MONDAY + timedelta(hours=3), recent, 144, zone) == midnight
    assert capped(MONDAY + timedelta(hours=3), recent[1:], 144, zone) == MONDAY + timedelta(
        hours=3)
    assert capped(midnight, recent, 144, zone) == midnight, "a new day, a new budget"


def test_jitter_moves_polls_but_does_not_drift_the_mean_period() -> None:
    ten = Plan(intervals=(timedelta(minutes=10),) * HOURS, zone=source().zone,
               slow=timedelta(minutes=10), cap=144)
    polls = polls_in(ten, MONDAY, MONDAY + timedelta(days=6))
    gaps = [(b - a).total_seconds() for a, b in zip(polls[1:], polls[2:])]
    assert min(gaps) < 590 and max(gaps) > 610, "the jitter is there, both ways"
    assert abs(mean(gaps) - 600) < 2, f"mean period {mean(gaps):.1f}s"
    assert abs((polls[-1] - polls[1]).total_seconds() - 600 * (len(polls) - 2)) <= 30, \
        "the chain ends where the nominal one does: nothing accumulated"


def test_a_source_without_history_follows_its_calendar_prior() -> None:
    mfa = source(timedelta(hours=1), calendar={"days": "weekdays", "closed": ["08-01..08-20"]})
    plan = plan_for(mfa, [])
    wednesday_noon = datetime(2026, 11, 4, 11, tzinfo=timezone.utc)
    assert plan.interval_at(wednesday_noon) < timedelta(minutes=10)
    assert plan.interval_at(wednesday_noon.replace(hour=2)) == plan.slow, "not at night"
    assert plan.interval_at(wednesday_noon + timedelta(days=3)) == plan.slow, "not on Saturday"
    recess = datetime(2026, 8, 12, 11, tzinfo=timezone.utc)  # a Wednesday in the recess
    assert plan.interval_at(recess) == plan.slow
    every_day = plan_for(source(timedelta(hours=1)), [])
    assert every_day.interval_at(wednesday_noon + timedelta(days=3)) < timedelta(minutes=10)


def test_history_outweighs_the_prior_once_it_is_thick() -> None:
    evenings = [t.replace(hour=19) for t in office_history()]  # 20:xx Berlin, weekdays
    plan = plan_for(source(calendar={"days": "weekdays"}), evenings)
    assert plan.interval_at(datetime(2026, 11, 4, 19, 30, tzinfo=timezone.utc)) == FASTEST
    assert plan.interval_at(datetime(2026, 11, 4, 10, tzinfo=timezone.utc)) == plan.slow


def test_a_fast_hour_starts_minutes_after_a_slow_poll_not_an_hour() -> None:
    plan = plan_for(source(), office_history())
    slow_poll = datetime(2026, 11, 4, 6, 50, tzinfo=timezone.utc)  # 07:50 Berlin, slow hour
    assert plan.interval_at(slow_poll) == plan.slow
    fast = plan.interval_at(slow_poll + timedelta(minutes=10))
    following = next_nominal(plan, slow_poll)
    assert following - slow_poll < timedelta(minutes=10) + fast
    assert following > slow_poll + timedelta(minutes=10)


def test_a_chain_that_fell_behind_restarts_from_now() -> None:
    plan = plan_for(source(), office_history())
    stale = MONDAY - timedelta(days=2)
    now = datetime(2026, 11, 4, 12, tzinfo=timezone.utc)
    nominal, at = next_poll(plan, "office", stale, now)
    assert now < nominal <= now + plan.interval_at(now) and at >= now


def test_a_rare_weekend_hour_is_polled_fast_when_its_day_has_polls_to_spare() -> None:
    saturday = MONDAY - timedelta(days=2, hours=-11, minutes=-20)  # 12:20 Berlin, 1 item in 161
    plan = plan_for(source(), office_history() + [saturday])
    saturday_noon = datetime(2026, 11, 7, 11, 30, tzinfo=timezone.utc)
    assert plan.interval_at(saturday_noon) < timedelta(minutes=10)
    assert plan.interval_at(saturday_noon.replace(hour=2)) == plan.slow


def test_publishing_hours_follow_the_sources_clock_through_daylight_saving() -> None:
    new_york = Source(id="tank", name="A think tank", adapter="rss", urls=("http://x/",),
                      language="en", interval=timedelta(hours=3), timezone="America/New_York")
    zone = new_york.zone
    history = [datetime(2026, 9, 7, 13, 30, tzinfo=zone) + timedelta(days=d)  # 13:30 local
               for d in range(70) if (datetime(2026, 9, 7) + timedelta(days=d)).weekday() < 5]
    plan = plan_for(new_york, history)
    summer = datetime(2026, 10, 28, 17, 30, tzinfo=timezone.utc)  # 13:30 EDT, a Wednesday
    winter = datetime(2026, 11, 4, 18, 30, tzinfo=timezone.utc)  # 13:30 EST, a Wednesday
    assert plan.interval_at(summer) < timedelta(minutes=10)
    assert plan.interval_at(winter) < timedelta(minutes=10)
    assert plan.interval_at(winter - timedelta(hours=5)) == plan.slow == timedelta(hours=3)
