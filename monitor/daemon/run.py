"""The daemon: scheduler, bot and health endpoint in one asyncio loop, until SIGTERM.

APScheduler 3.11 (`AsyncIOScheduler`) runs one job per enabled source on its learned plan
(`schedule.PollTrigger` over `cadence`: fast in the hours the source publishes in, slow outside
them, at most `polls_per_day` a day, jitter that does not accumulate), re-learned from the
stored publication times every REPLAN; coalescing and one instance at a time so a slow poll
never stacks, and a misfire grace. After a failed poll the next one is pushed back by
`schedule.next_delay` (Retry-After, exponential backoff capped at a day); `schedule.poll_alerts`
decides what the editor hears about it. Further jobs: a heartbeat for /readyz, an hourly
"went quiet" check against each source's calendar, and the weekly draft. With
TELEGRAM_BOT_TOKEN set the bot runs in the same loop and candidates go to its outbox;
otherwise they go to the log. SIGTERM stops the scheduler, lets polls in flight finish (or
cancels them after a few seconds; a poll stores its items before it records its health, so a
cancelled poll is polled again), then stops the bot.

Several daemons may run on one database (PostgreSQL). Each is a process with its own id in the
leases (`health.claim`): a poll first claims its source's lease, renews it while it runs and
releases it until the source's next poll, so a source another process is polling, or polled
for this interval, is skipped, and each source is polled once per interval by whichever process
fires first. A process killed mid-poll stops renewing: after MONITOR_LEASE (a minute) its
sources are free again. The hourly quiet check and the weekly draft take a lease of their own,
so one process does each; the bot elects one process to poll Telegram for updates.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import datetime, timedelta, timezone

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from monitor.config import Config
from monitor.daemon.cadence import HISTORY, plan_for
from monitor.daemon.http import Readiness, parse_addr, start_http
from monitor.daemon.schedule import PollTrigger, next_delay, poll_alerts, quiet_since
from monitor.errors import ConfigError
from monitor.logs import fields
from monitor.models import Item, Source
from monitor.pipeline.run import Pipeline, open_pipeline, run_source
from monitor.store import health as health_store
from monitor.store import items as item_store
from monitor.weeks import current_week

log = logging.getLogger("monitor.daemon")
MISFIRE_GRACE = 300  # seconds a late poll may still run
STOP_GRACE = 4.0  # seconds polls in flight get to finish on SIGTERM
REPLAN = timedelta(hours=6)  # how often the poll plans are learned again (on the daemon's clock)
ONCE = timedelta(minutes=30)  # the quiet check's and weekly draft's lease: one process does each
Announce = Callable[[str], Awaitable[None]]


async def log_candidates(items: list[Item]) -> None:
    """The notifier when no Telegram token is configured: candidates go to the log."""
    for item in items:
        log.info("candidate %s", fields(source=item.source, bucket=item.bucket,
                                        title=item.title[:120], url=item.url))


async def log_alert(text: str) -> None:
    log.warning("alert %s", fields(text=text))


class Daemon:
    """The scheduled work: polls with backoff and alerts, quiet checks, the weekly draft."""

    def __init__(self, config: Config, pipeline: Pipeline, announce: Announce,
                 readiness: Readiness, send_files: Callable[..., Awaitable[None]] | None,
                 owner: str | None = None) -> None:
        self.config, self.settings = config, config.settings
        self.pipeline, self.announce = pipeline, announce
        self.readiness, self.send_files = readiness, send_files
        self.scheduler = AsyncIOScheduler(timezone=timezone.utc)
        self.in_flight: set[asyncio.Task[None]] = set()
        self.triggers: dict[str, PollTrigger] = {}
        self.owner = owner or health_store.process_id()
        self.lease = health_store.lease_of(self.settings.monitor_lease)  # renewed every third

    @property
    def engine(self):  # -> AsyncEngine
        assert self.pipeline.engine is not None
        return self.pipeline.engine

    def start(self, sources: list[Source]) -> None:
        start = datetime.now(timezone.utc)
        scale = self.settings.monitor_time_scale
        for n, source in enumerate(sources):  # calendar priors until `replan` has read history
            trigger = PollTrigger(source.id, plan_for(source, []), origin=start, scale=scale)
            self.triggers[source.id] = trigger
            self.scheduler.add_job(
                self.poll, trigger, args=(source,), id=source.id, name=source.name,
                coalesce=True, max_instances=1, misfire_grace_time=MISFIRE_GRACE,
                next_run_time=start + timedelta(seconds=n / scale))
        self.scheduler.add_job(self.replan, IntervalTrigger(seconds=REPLAN.total_seconds() / scale),
                               id="replan", coalesce=True, max_instances=1, next_run_time=start)
        self.scheduler.add_job(self.readiness.tick, IntervalTrigger(seconds=15), id="heartbeat",
                               next_run_time=start)
        self.scheduler.add_job(self.check_quiet, IntervalTrigger(hours=1), id="quiet",
                               coalesce=True, max_instances=1, misfire_grace_time=MISFIRE_GRACE)
        if (when := self.settings.export_schedule) is not None:
            day, hour, minute = when
            self.scheduler.add_job(
                self.weekly_export, CronTrigger(day_of_week=day, hour=hour, minute=minute,
                                                timezone=self.settings.zone),
                id="weekly_export", coalesce=True, max_instances=1,
                misfire_grace_time=6 * 3600)
        self.scheduler.start()

    async def poll(self, source: Source) -> None:
        """One scheduled poll; tracked so that shutdown can wait for it."""
        task = asyncio.current_task()
        assert task is not None
        self.in_flight.add(task)
        try:
            await self._poll(source)
        except asyncio.CancelledError:  # shutdown: the poll's transaction was rolled back
            log.info("poll %s", fields(source=source.id, outcome="cancelled at shutdown"))
        finally:
            self.in_flight.discard(task)

    async def _poll(self, source: Source) -> None:
        """The poll, if this process wins the source's lease; the lease is renewed while the
        poll runs and released until the next poll (at once if the poll was cancelled)."""
        if not await health_store.claim(self.engine, source.id, self.owner, lease=self.lease):
            log.debug("poll %s", fields(source=source.id,
                                        outcome="skipped: another process has it"))
            return
        holding = asyncio.create_task(self._hold(source.id), name=f"monitor-lease-{source.id}")
        until = None
        try:
            await self._poll_held(source)
            until = self._next_run(source.id)
        finally:
            holding.cancel()
            await asyncio.gather(holding, return_exceptions=True)
            try:
                await asyncio.wait_for(
                    health_store.release(self.engine, source.id, self.owner, until), 2.0)
            except Exception:  # the lease runs out by itself
                log.warning("poll %s", fields(source=source.id, outcome="lease not released"))

    async def _hold(self, source_id: str) -> None:
        """Renew the lease while a poll runs (a poll may take longer than one lease)."""
        while True:
            await asyncio.sleep(self.lease.total_seconds() / 3)
            try:
                if not await health_store.claim(self.engine, source_id, self.owner,
                                                lease=self.lease):
                    log.warning("poll %s", fields(source=source_id, outcome="lease lost"))
            except Exception:  # a database hiccup: the next round tries again
                log.exception("poll %s", fields(source=source_id, outcome="lease not renewed"))

    def _next_run(self, source_id: str) -> datetime | None:
        """When this process polls the source next (after any backoff): until then it is not
        due, and the other processes skip it."""
        job = self.scheduler.get_job(source_id)
        return job.next_run_time if job is not None else None

    async def _once(self, name: str) -> bool:
        """Whether this process does a job every process schedules (quiet check, weekly
        draft): the one that takes its lease first; the lease is never released, it expires."""
        return await health_store.claim(self.engine, name, self.owner, lease=ONCE)

    async def _poll_held(self, source: Source) -> None:
        before = await health_store.get_health(self.engine, source.id)
        if before.paused:
            log.info("poll %s", fields(source=source.id, outcome="paused by the editor"))
            return
        report = await run_source(self.pipeline, source, before)
        after = report.health or before
        for text in poll_alerts(source, before, after, self.settings.monitor_pause_after):
            await self.announce(text)
        if after.consecutive_errors:
            now = datetime.now(timezone.utc)
            delay = next_delay(source, after, now) / self.settings.monitor_time_scale
            self.scheduler.modify_job(source.id, next_run_time=now + delay)
            log.info("backoff %s", fields(source=source.id, errors=after.consecutive_errors,
                                          next_poll_in=f"{delay.total_seconds():.0f}s"))

    async def replan(self, now: datetime | None = None) -> None:
        """Learn each source's publishing hours again from its stored publication times."""
        if not self.triggers:
            return
        now = now or datetime.now(timezone.utc)
        since = next(iter(self.triggers.values())).clock(now) - HISTORY
        published = await item_store.published_since(self.engine, since)
        for source_id, trigger in self.triggers.items():
            history = published.get(source_id, [])
            source = self.pipeline.sources[source_id]  # ~50 ms of arithmetic: off the loop
            trigger.plan = await asyncio.to_thread(plan_for, source, history)
            log.info("plan %s", fields(source=source_id, learned_from=len(history),
                                       fast_hours_a_week=len(trigger.plan.fast_hours()),
                                       fastest=str(min(trigger.plan.intervals)),
                                       slow=str(trigger.plan.slow)))

    async def check_quiet(self) -> None:
        """Alert once when a healthy source has published nothing for longer than usual."""
        if not await self._once("quiet-check"):
            return
        now = datetime.now(timezone.utc)
        last_new = await item_store.last_new_by_source(self.engine)
        health = await health_store.all_health(self.engine)
        for source in self.pipeline.sources.values():
            h = health.get(source.id)
            if (not source.enabled or h is None or h.paused or h.consecutive_errors
                    or h.quiet_alerted or not quiet_since(source, last_new.get(source.id), now)):
                continue
            await self.announce(f"🔕 {source.name} has published nothing new since "
                                f"{last_new[source.id]:%d %b %H:%M} UTC, which is longer than "
                                f"usual. The source still answers; check it if this persists.")
            await health_store.set_quiet_alerted(self.engine, source.id)

    async def weekly_export(self) -> None:
        """Write this week's draft under storage/exports and send it to the editor chats."""
        from monitor.export import write_week_exports

        if not await self._once("weekly-export"):
            return
        week = current_week(self.settings.zone)
        try:
            paths = await write_week_exports(self.config, self.engine, week)
        except (OSError, ValueError) as exc:
            log.error("export %s", fields(week=week, outcome="failed", error=str(exc)))
            return
        log.info("export %s", fields(week=week, outcome="ok", files=len(paths)))
        if self.send_files is not None:
            await self.send_files(paths, f"Draft for {week}")

    async def stop(self) -> None:
        self.scheduler.shutdown(wait=False)
        if self.in_flight:
            done, pending = await asyncio.wait(self.in_flight, timeout=STOP_GRACE)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1.0)
                log.warning("stop %s", fields(cancelled_polls=len(pending)))


async def run_daemon(config: Config, *,
                     notify: Callable[[list[Item]], Awaitable[None]] | None = None,
                     stop_after: float | None = None) -> int:
    """Run until SIGTERM or SIGINT (or `stop_after` seconds, counted once the classifier has
    loaded, so a short demo run is not spent fitting the fallback model); exit code 0 on a
    clean stop.

    `notify` replaces the bot or the log as the candidates' destination (`monitor demo`).
    """
    settings = config.settings
    parse_addr(settings.monitor_http_addr)  # a bad address stops start-up before anything else
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    owner = health_store.process_id()
    async with open_pipeline(config) as pipeline, AsyncExitStack() as stack:
        assert pipeline.engine is not None
        readiness = Readiness(pipeline.engine)
        announce, send_files = await _notifiers(config, pipeline, readiness, stack, owner)
        if notify is not None:
            pipeline.notify = notify
        stack.push_async_callback(await start_http(readiness, settings.monitor_http_addr))
        daemon = Daemon(config, pipeline, announce, readiness, send_files, owner)
        enabled = [s for s in pipeline.sources.values() if s.enabled]
        daemon.start(enabled)
        log.info("daemon started %s", fields(sources=len(enabled), process=owner,
                                             http=settings.monitor_http_addr,
                                             database=pipeline.engine.url.render_as_string()))
        if stop_after is not None:
            await pipeline.ready_classifier()
        try:
            await asyncio.wait_for(stop.wait(), stop_after)
        except asyncio.TimeoutError:
            pass
        log.info("stopping")
        await daemon.stop()
    log.info("stopped")
    return 0


async def _notifiers(config: Config, pipeline: Pipeline, readiness: Readiness,
                     stack: AsyncExitStack, owner: str,
                     ) -> tuple[Announce, Callable[..., Awaitable[None]] | None]:
    """The bot's outbox when a token is set (and the bot is connected), else the log."""
    if not config.settings.telegram_bot_token:
        log.info("no TELEGRAM_BOT_TOKEN: candidates go to the log")
        pipeline.notify = log_candidates
        return log_alert, None
    from telegram.error import InvalidToken

    from monitor.bot.app import running_bot

    assert pipeline.engine is not None
    try:
        outbox = await stack.enter_async_context(
            running_bot(config, pipeline.engine, owner=owner))
    except InvalidToken:
        raise ConfigError("TELEGRAM_BOT_TOKEN: rejected by the Telegram Bot API") from None
    pipeline.notify = outbox.notify
    readiness.bot_connected = outbox.connected
    return outbox.announce, outbox.send_files
