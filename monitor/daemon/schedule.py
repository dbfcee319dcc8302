"""When to poll a source next, and which changes in its health deserve one message.

The daemon asks this module after every poll. Failures back off exponentially from the
source's interval (honouring Retry-After, capped at 24 h); after PAUSE_AFTER failures in a row
the source counts as paused and the editor hears about it once, and once more when it recovers.
A 200 that parsed to nothing is reported once per streak ("layout changed?"). Sources keep
calendars (`options.calendar`): the MFA briefs on weekdays and not in its summer recess, think
tanks publish on weekdays, so a quiet weekend is not an alarm. `PollTrigger` puts a source's
learned plan (`cadence`) in front of APScheduler.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from apscheduler.triggers.base import BaseTrigger

from monitor.config.sources import parse_interval
from monitor.daemon.cadence import Calendar, Plan, next_poll, recent_polls
from monitor.models import Source
from monitor.store.health import Health

PAUSE_AFTER = 5
BACKOFF_CAP = timedelta(hours=24)
LAYOUT_KINDS = ("empty", "malformed", "error_page")
DEFAULT_QUIET = timedelta(days=3)


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


class PollTrigger(BaseTrigger):
    """APScheduler's view of one source's plan: the next poll on its nominal chain.

    APScheduler hands back the time a job actually fired, and asks twice for each fire (once
    while collecting the run times, once for the job's next run); the trigger remembers which
    nominal time each fire time it gave out stood for, so both answers agree and jitter never
    moves the chain (`cadence.next_poll`). It counts the fires of the last two days for the
    daily cap. The plan runs on the daemon's clock, which MONITOR_TIME_SCALE speeds up from
    `origin` on (the demo and the tests). A fire the trigger did not schedule (a backoff set
    by the daemon) starts a new chain.
    """

    __slots__ = ("key", "plan", "origin", "scale", "_nominal", "_polls")

    def __init__(self, key: str, plan: Plan, *, origin: datetime, scale: float = 1.0) -> None:
        self.key, self.plan, self.origin, self.scale = key, plan, origin, scale
        self._nominal: dict[datetime, datetime] = {}  # fire time given out → its nominal time
        self._polls: list[datetime] = []  # fires on the plan's clock, oldest first

    def clock(self, real: datetime) -> datetime:
        return self.origin + (real - self.origin) * self.scale

    def real(self, clock: datetime) -> datetime:
        return self.origin + (clock - self.origin) / self.scale

    def polls(self) -> list[datetime]:
        """The fires of the last two days on the plan's clock (what the cap counts)."""
        return list(self._polls)

    def get_next_fire_time(self, previous_fire_time: datetime | None,
                           now: datetime) -> datetime | None:
        if previous_fire_time is None:
            return now
        fired = self.clock(previous_fire_time)
        if not self._polls or fired > self._polls[-1]:
            self._polls = recent_polls(self._polls, fired) + [fired]
        nominal = self._nominal.get(previous_fire_time, fired)
        nominal, at = next_poll(self.plan, self.key, nominal, self.clock(now), self._polls)
        real_at = self.real(at)
        self._nominal = {k: v for k, v in list(self._nominal.items())[-3:]} | {real_at: nominal}
        return real_at
