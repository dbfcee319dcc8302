"""Publication → poll delay and requests per day: the learned plan against fixed polling.

    .venv/bin/python bench/freshness.py [--weeks 12] [--seed 1]

What runs: the daemon's scheduling code on a simulated clock, not the daemon against a
loopback server. Each source publishes through eight simulated weeks of history and then
`--weeks` weeks that are replayed through `schedule.PollTrigger`, the trigger the daemon hands
APScheduler (nominal chain, jitter, daily cap), asked for each next fire as APScheduler asks
it (twice per fire, with the previous fire time and now = one second later), with its plan
(`cadence.plan_for`) learned again each simulated day from the eight weeks before, as the
daemon's `replan` does. A poll
sees every item published at or before it; the delay of an item is the time from its
publication to the first poll after it. Fixed 10- and 60-minute polling (from a random
phase) replay the same weeks. max/day counts the source's own days (what the cap counts);
max/24h is the busiest 24 hours anywhere (a Sunday afternoon and a Monday morning together).
"200s/day" are the polls that found something new: with conditional GETs the others are 304s.

The publishing patterns are assumptions, per hour in each source's own zone:
- TASS (Moscow): ~110 items a weekday, 0.6 of that at weekends; busiest 09–21, a trickle
  at night (the "100+ articles daily" of ../shared/sources.md).
- Kremlin (Moscow): ~2.8 items a weekday between 09:00 and 22:00, busiest 13–18, one item
  or so at weekends around midday — the shape of the recorded feed (20 entries of 19–27 Aug
  2020, all 09:00–20:15 Moscow time, two at weekends).
- MFA briefings: one transcript a weekday, none at weekends; the Chinese one 16:00–19:00
  Beijing time after the 15:00 press conference, the English one 18:00–23:00.
Minutes within an hour are uniform (the Kremlin's "round" event times are not trusted to be
when an item appears). Items arrive as a Poisson process with these hourly rates.
"""

from __future__ import annotations

import argparse
import random
from bisect import bisect_left
from datetime import datetime, timedelta, timezone
from statistics import quantiles
from zoneinfo import ZoneInfo

from monitor.daemon.cadence import HISTORY, plan_for
from monitor.daemon.schedule import PollTrigger
from monitor.models import Source

WEEK = timedelta(weeks=1)
START = datetime(2026, 11, 2, tzinfo=timezone.utc)  # a Monday: the replayed weeks start here


def _hours(table: dict[range, float]) -> list[float]:
    out = [0.0] * 24
    for hours, rate in table.items():
        for h in hours:
            out[h] = rate
    return out


TASS_DAY = _hours({range(0, 6): 0.8, range(6, 9): 4.0, range(9, 21): 7.0, range(21, 24): 3.0})
KREMLIN_DAY = [0.0] * 9 + [0.15, 0.25, 0.2, 0.2, 0.25, 0.35, 0.3, 0.3, 0.3, 0.2, 0.15, 0.1,
                           0.03, 0.0, 0.0]
KREMLIN_WEEKEND = _hours({range(11, 16): 0.12, range(16, 19): 0.05})
MFA_ZH = _hours({range(16, 17): 0.2, range(17, 18): 0.5, range(18, 19): 0.3})
MFA_EN = _hours({range(18, 19): 0.1, range(19, 21): 0.3, range(21, 22): 0.2, range(22, 23): 0.1})
NONE = [0.0] * 24

MFA_OPTIONS = {"calendar": {"days": "weekdays"}}
SOURCES = [  # (source as in sources.yaml, weekday rates, weekend rates)
    (Source("tass", "TASS", "tass", ("http://x/",), "en", timedelta(minutes=15),
            "Europe/Moscow"), TASS_DAY, [r * 0.6 for r in TASS_DAY]),
    (Source("kremlin", "Kremlin", "kremlin", ("http://x/",), "en", timedelta(minutes=30),
            "Europe/Moscow"), KREMLIN_DAY, KREMLIN_WEEKEND),
    (Source("mfa_zh_briefings", "MFA (ZH)", "mfa", ("http://x/",), "zh", timedelta(hours=1),
            "Asia/Shanghai", options=MFA_OPTIONS), MFA_ZH, NONE),
    (Source("mfa_en_briefings", "MFA (EN)", "mfa", ("http://x/",), "en", timedelta(hours=1),
            "Asia/Shanghai", options=MFA_OPTIONS), MFA_EN, NONE),
]


def publications(rng: random.Random, zone: ZoneInfo, weekday: list[float],
                 weekend: list[float], start: datetime, end: datetime) -> list[datetime]:
    """Poisson arrivals with the hourly rates of the source's local day."""
    out, hour = [], start.astimezone(zone).replace(minute=0, second=0, microsecond=0)
    while hour < end:
        rates = weekend if hour.weekday() >= 5 else weekday
        t = 0.0
        while True:
            rate = rates[hour.hour]
            if rate <= 0:
                break
            t += rng.expovariate(rate)
            if t >= 1.0:
                break
            out.append((hour + timedelta(hours=t)).astimezone(timezone.utc))
        hour = (hour + timedelta(hours=1)).astimezone(zone)
    return [p for p in out if start <= p < end]


def planned_polls(source: Source, published: list[datetime], end: datetime) -> list[datetime]:
    """The polls from START to `end` as the daemon's trigger would fire them, its plan
    learned again every day from the HISTORY before (the daemon does it every 6 hours)."""
    trigger = PollTrigger(source.id, plan_for(source, []), origin=START)
    polls, fired, planned = [], START, START - timedelta(days=1)
    while fired < end:
        if fired - planned >= timedelta(days=1):
            planned = fired
            trigger.plan = plan_for(source, [p for p in published if fired - HISTORY <= p < fired])
        polls.append(fired)
        now = fired + timedelta(seconds=1)
        trigger.get_next_fire_time(fired, now)  # APScheduler asks twice: Job._get_run_times…
        fired = trigger.get_next_fire_time(fired, now)  # type: ignore[assignment]  # …and next run
    return polls


def fixed_polls(every: timedelta, rng: random.Random, end: datetime) -> list[datetime]:
    first = START + every * rng.random()
    return [first + every * n for n in range(int((end - START) / every) + 1)
            if first + every * n < end]


def figures(published: list[datetime], polls: list[datetime], n_days: int,
            zone: ZoneInfo) -> dict[str, float]:
    """Delay quantiles, requests a day on average and at most (in the source's own days, the
    days the cap counts; max/24h is the busiest 24 hours anywhere), polls that found news."""
    delays, new_polls, i = [], set(), 0
    for p in sorted(published):
        while i < len(polls) and polls[i] < p:
            i += 1
        if i < len(polls):
            delays.append((polls[i] - p).total_seconds() / 60)
            new_polls.add(i)
    cuts = quantiles(delays, n=100, method="inclusive")
    days: dict[object, int] = {}
    for t in polls:
        day = t.astimezone(zone).date()
        days[day] = days.get(day, 0) + 1
    window = max(bisect_left(polls, t + timedelta(days=1)) - i for i, t in enumerate(polls))
    return {"p50": cuts[49], "p95": cuts[94], "per_day": len(polls) / n_days,
            "max_day": max(days.values()), "max_24h": window,
            "new_per_day": len(new_polls) / n_days, "items": len(delays)}


GOALS = {"tass": 10.0, "kremlin": 5.0, "mfa_zh_briefings": 5.0, "mfa_en_briefings": 5.0}
CAP = 144


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weeks", type=int, default=12, help="weeks replayed (default 12)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    print(f"Scheduling code on a simulated clock: {args.weeks} weeks replayed after 8 weeks of "
          f"history, seed {args.seed}; delays in minutes from publication to the first poll")
    print(f"{'source':18} {'schedule':10} {'items':>5} {'p50 min':>8} {'p95 min':>8} "
          f"{'req/day':>8} {'max/day':>8} {'max/24h':>8} {'200s/day':>8}")
    verdicts = []
    for source, weekday, weekend in SOURCES:
        end = START + WEEK * args.weeks
        published = publications(rng, source.zone, weekday, weekend, START - HISTORY, end)
        week = [p for p in published if p >= START]
        runs = {"learned": planned_polls(source, published, end),
                "fixed 10m": fixed_polls(timedelta(minutes=10), rng, end),
                "fixed 60m": fixed_polls(timedelta(minutes=60), rng, end)}
        for name, polls in runs.items():
            f = figures(week, polls, args.weeks * 7, source.zone)
            print(f"{source.id:18} {name:10} {f['items']:5d} {f['p50']:8.1f} {f['p95']:8.1f} "
                  f"{f['per_day']:8.1f} {f['max_day']:8d} {f['max_24h']:8d} "
                  f"{f['new_per_day']:8.1f}")
            if name == "learned":
                met = f["p95"] <= GOALS[source.id] and f["max_day"] <= CAP
                verdicts.append(f"{source.id} p95 {f['p95']:.1f} <= {GOALS[source.id]:g} min "
                                f"and <= {CAP}/day: {'met' if met else 'NOT met'}")
    print("goals (learned):", "; ".join(verdicts))


if __name__ == "__main__":
    main()
