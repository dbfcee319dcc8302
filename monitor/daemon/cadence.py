"""When to poll a source next, learned from when it publishes: history → next poll time.

Polling every source at one fixed interval wastes requests while a source sleeps and leaves
items waiting while it is busy: the MFA posts its transcripts on weekday afternoons, the
Kremlin in Moscow office hours, TASS all day. So each source gets a weekly *plan*: one poll
interval per hour of its local week (local, so that a US think tank's hours follow its daylight
saving time), fast in its publishing hours, slow outside them.

The plan comes from the hours of the week its stored items were published in (the last
`HISTORY`), with its calendar in `sources.yaml` as the prior while that history is thin
(`THICK` items). For a delay that is uniform over a gap of T minutes, the share of items that
wait longer than d is w·(1 − d/T) in an hour holding the share w of the items: linear in the
poll rate 1/T. So for a given target the best use of a day's budget is two-level — the busiest
hours at one fast interval, the rest slow — and `make_plan` only has to choose how many of the
busiest hours are fast: the number whose predicted delay is lowest (the p97, plus the mean),
with each day's fast interval as short as `polls_per_day` allows (never under `FASTEST`).

Poll times run on a *nominal* chain: each nominal time follows the previous nominal one, and
the jitter (symmetric, a fraction of the local interval, a hash of source and time) only moves
the actual poll. So jitter never accumulates: the mean period is the planned interval
(APScheduler's own jitter is one-sided and re-bases on the jittered time, which adds half the
jitter to every period). `capped` keeps every day at or under the per-day cap whatever
happens (restarts of the chain, backoff, a plan change); days are the source's local days.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from monitor.models import Source

HOURS = 168  # hours in a week; hour 0 is Monday 00:00 in the source's zone
POLLS_PER_DAY = 144  # the default cap: what 10-minute polling costs
FASTEST = timedelta(minutes=3)  # no source is polled more often than this
OFF_HOURS = timedelta(hours=1)  # outside its hours a source waits its interval, at least this
HISTORY = timedelta(weeks=8)  # publication times older than this are not learned from
THICK = 20  # with this many items in the history the calendar prior no longer counts
QUANTILE = 0.97  # the plan minimises this quantile of the predicted delay (the goal is p95:
#                   the margin is for next week not being the history)
JITTER = 0.05  # ± this fraction of the local interval (enough to keep sources apart)…
MAX_JITTER = timedelta(minutes=2)  # …and never more than this
DAY_HOURS = range(7, 22)  # the prior's working day, local time
SLACK = 2  # polls a day kept free of the plan for the chain's carry-over between days


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
        return not self.closed_on(day)

    def closed_on(self, day: date) -> bool:
        """A closure (recess, holiday): closed whatever the history says about the weekday."""
        stamp = day.strftime("%m-%d")
        return any(start <= stamp <= end for start, end in self.closed)

    def open_days_between(self, start: date, end: date) -> int:
        """Publishing days after `start` up to and including `end`."""
        days, day = 0, start + timedelta(days=1)
        while day <= end and days < 366:
            days += self.open_on(day)
            day += timedelta(days=1)
        return days


@dataclass(frozen=True, slots=True)
class Plan:
    """A source's poll interval for each hour of its local week, and its closures."""

    intervals: tuple[timedelta, ...]  # HOURS of them
    zone: ZoneInfo
    slow: timedelta
    cap: int
    calendar: Calendar = Calendar()

    def interval_at(self, when: datetime) -> timedelta:
        local = when.astimezone(self.zone)
        if self.calendar.closed_on(local.date()):
            return self.slow
        return self.intervals[local.weekday() * 24 + local.hour]

    def fast_hours(self) -> list[int]:
        """The hours of the week polled faster than the slow interval (its publishing hours)."""
        return [h for h, t in enumerate(self.intervals) if t < self.slow]


def hour_of_week(when: datetime, zone: ZoneInfo) -> int:
    local = when.astimezone(zone)
    return local.weekday() * 24 + local.hour


def prior_weights(calendar: Calendar) -> list[float]:
    """What a source's calendar says before any history: its open days' working hours."""
    weights = []
    for h in range(HOURS):
        open_day = not (calendar.weekdays_only and h // 24 >= 5)
        weights.append(1.0 if open_day and h % 24 in DAY_HOURS else 0.02)
    return _normalised(weights)


def learned_weights(published: Sequence[datetime], zone: ZoneInfo,
                    prior: Sequence[float]) -> list[float]:
    """The share of a week's publications expected in each hour of the week.

    Counts per hour of week, shrunk halfway towards the same hour on the other days of its
    kind (weekday or weekend: eight weeks of a source publishing three items a day leave most
    single hours with a count of one or two), spread a little into the neighbouring hours
    (an item at 20:55 says 21:00 is live too), and mixed with the prior while the history
    holds fewer than THICK items.
    """
    counts = [0.0] * HOURS
    for when in published:
        counts[hour_of_week(when, zone)] += 1.0
    pooled = []
    for h in range(HOURS):
        days = range(5) if h // 24 < 5 else range(5, 7)
        pooled.append(0.5 * counts[h] + 0.5 * sum(counts[d * 24 + h % 24] for d in days)
                      / len(days))
    smooth = [0.25 * pooled[h - 1] + 0.5 * pooled[h] + 0.25 * pooled[(h + 1) % HOURS]
              for h in range(HOURS)]
    mix = max(0.0, 1.0 - len(published) / THICK)
    learned = _normalised(smooth)
    return [(1 - mix) * w + mix * p for w, p in zip(learned, prior)]


def _normalised(weights: Sequence[float]) -> list[float]:
    total = sum(weights)
    return [w / total for w in weights] if total else [1.0 / HOURS] * HOURS


def plan_for(source: Source, published: Sequence[datetime],
             cap: int | None = None) -> Plan:
    """The source's weekly plan from its publication history (`published`, any order)."""
    calendar = Calendar.of(source)
    cap = cap or int(source.option("polls_per_day") or POLLS_PER_DAY)
    weights = learned_weights(published, source.zone, prior_weights(calendar))
    slow = max(source.interval, OFF_HOURS, timedelta(days=1) / max(1, cap - SLACK))
    intervals = make_plan(weights, slow=slow, cap=cap)
    return Plan(intervals=intervals, zone=source.zone, slow=slow, cap=cap,
                calendar=Calendar(closed=calendar.closed))


def make_plan(weights: Sequence[float], *, slow: timedelta, cap: int,
              fastest: timedelta = FASTEST) -> tuple[timedelta, ...]:
    """Intervals per hour of week: the busiest k hours fast, the rest `slow`, k chosen for the
    best predicted delay (`_predicted`); a longer list of fast hours wins only when it predicts
    at least a second better (so idle hours are not polled fast for nothing)."""
    fastest = min(fastest, slow)
    order = sorted(range(HOURS), key=lambda h: (-weights[h], h))
    best = (tuple([slow] * HOURS), _predicted(weights, [slow] * HOURS))
    per_day, chosen = [0] * 7, set()
    for hour in order:
        if weights[hour] <= 0:
            break
        per_day[hour // 24] += 1
        fast = [_fast_interval(n, slow, cap, fastest) if n else slow for n in per_day]
        if fast[hour // 24] is None:  # this day cannot afford another fast hour
            per_day[hour // 24] -= 1
            continue
        chosen.add(hour)
        intervals = [fast[h // 24] if h in chosen else slow for h in range(HOURS)]
        predicted = _predicted(weights, intervals)  # type: ignore[arg-type]
        if predicted < best[1] - 1.0:
            best = (tuple(intervals), predicted)  # type: ignore[arg-type]
    return best[0]


def _fast_interval(n_fast: int, slow: timedelta, cap: int,
                   fastest: timedelta) -> timedelta | None:
    """The shortest interval n_fast hours of a day can have with the rest slow, under the cap."""
    spare = (cap - SLACK) - (24 - n_fast) * (timedelta(hours=1) / slow)
    if spare <= 0:
        return None
    interval = max(fastest, n_fast * timedelta(hours=1) / spare)
    return interval if interval < slow else None


def _predicted(weights: Sequence[float], intervals: Sequence[timedelta]) -> float:
    """The plan's score in seconds, if items arrive uniformly within each hour: the QUANTILE
    of the delay plus its mean. The quantile is the goal; the mean makes the hours that hold
    too few items to move the quantile (a weekend with one item) still count for something,
    as long as their day has polls to spare."""
    groups: dict[float, float] = {}
    for w, t in zip(weights, intervals):
        groups[t.total_seconds()] = groups.get(t.total_seconds(), 0.0) + w
    total = sum(groups.values()) or 1.0

    def late(d: float) -> float:  # share of items waiting longer than d
        return sum(w * max(0.0, 1.0 - d / t) for t, w in groups.items()) / total

    low, high = 0.0, max(groups)
    for _ in range(40):
        mid = (low + high) / 2
        low, high = (mid, high) if late(mid) > 1 - QUANTILE else (low, mid)
    return high + sum(w * t / 2 for t, w in groups.items()) / total


def next_nominal(plan: Plan, after: datetime) -> datetime:
    """The next nominal poll: one poll's worth of the plan's poll rate after `after`.

    The rate is integrated across hour boundaries, so a slow hour's last poll is followed
    within minutes once a fast hour begins, not a whole slow interval later.
    """
    owed, at = 1.0, after
    for _ in range(HOURS + 2):
        interval = plan.interval_at(at)
        utc = at.astimezone(timezone.utc)  # our sources' zones are whole hours off UTC
        hour_end = (utc.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1))
        span = hour_end - utc
        if span >= interval * owed:
            return at + interval * owed
        owed -= span / interval
        at = hour_end
    return after + plan.slow


def jitter(key: str, nominal: datetime, interval: timedelta) -> timedelta:
    """A symmetric offset of up to ± JITTER of the interval (at most MAX_JITTER), a hash of
    the source and the nominal time: repeatable, so asking twice gives the same poll time."""
    digest = hashlib.blake2b(f"{key}@{nominal.timestamp():.0f}".encode(), digest_size=8)
    unit = int.from_bytes(digest.digest(), "big") / 2**64 * 2 - 1  # in [-1, 1)
    return min(interval * JITTER, MAX_JITTER) * unit


def capped(at: datetime, recent: Sequence[datetime], cap: int, zone: ZoneInfo) -> datetime:
    """`at`, or the next local midnight if the source already had `cap` polls on `at`'s day.

    The cap counts the source's own calendar days, the days the plan budgets. `recent` are
    its poll times, oldest first (`recent_polls`).
    """
    day = at.astimezone(zone).date()
    if sum(p.astimezone(zone).date() == day for p in recent[-cap:]) < cap:
        return at
    midnight = datetime.combine(day + timedelta(days=1), time(), zone)
    return midnight.astimezone(at.tzinfo)


def next_poll(plan: Plan, key: str, last_nominal: datetime, now: datetime,
              recent: Sequence[datetime] = ()) -> tuple[datetime, datetime]:
    """(nominal, actual) time of the next poll after the one nominally at `last_nominal`.

    A chain that fell behind `now` (a late scheduler, a long poll) restarts from `now`: the
    poll being made now stands for the ones missed.
    """
    nominal = next_nominal(plan, last_nominal)
    if nominal <= now:
        nominal = next_nominal(plan, now)
    at = nominal + jitter(key, nominal, plan.interval_at(nominal))
    return nominal, capped(max(at, now), recent, plan.cap, plan.zone)


def recent_polls(polls: Sequence[datetime], now: datetime) -> list[datetime]:
    """The polls of the last two days (what `capped` needs), from a sorted list."""
    return list(polls[bisect_right(polls, now - timedelta(days=2)):])
