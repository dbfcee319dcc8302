"""The daemon: one asyncio loop running a scheduled poll per enabled source until SIGTERM.

APScheduler 3.11 (`AsyncIOScheduler`): one job per source at its interval, with jitter so
sources don't fire together, coalescing and one instance at a time so a slow poll never
stacks. The first poll of each source runs right after start-up. With TELEGRAM_BOT_TOKEN set,
the Telegram bot (`monitor.bot.app.running_bot`) runs in the same loop and new candidates go to
its outbox; on SIGTERM the scheduler stops first, then the bot (after the card in flight).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from contextlib import AsyncExitStack
from datetime import datetime, timedelta, timezone

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from monitor.bootstrap import open_pipeline
from monitor.logs import fields
from monitor.models import Item
from monitor.pipeline.run import Pipeline, run_source
from monitor.registry import Source
from monitor.settings import Settings

log = logging.getLogger("monitor.daemon")
MISFIRE_GRACE = 300  # seconds a late poll may still run


async def log_candidates(items: list[Item]) -> None:
    """The notifier when no Telegram token is configured: candidates go to the log."""
    for item in items:
        log.info("candidate %s", fields(source=item.source, bucket=item.bucket,
                                        title=item.title[:120], url=item.url))


def schedule_sources(scheduler: AsyncIOScheduler, pipeline: Pipeline,
                     sources: list[Source]) -> None:
    """One interval job per source; the first poll is staggered over the first minute."""
    start = datetime.now(timezone.utc)
    for n, source in enumerate(sources):
        jitter = min(int(source.interval.total_seconds() * 0.1), 300)
        scheduler.add_job(
            run_source, IntervalTrigger(seconds=source.interval.total_seconds(), jitter=jitter),
            args=(pipeline, source), id=source.id, name=source.name, coalesce=True,
            max_instances=1, misfire_grace_time=MISFIRE_GRACE,
            next_run_time=start + timedelta(seconds=2 * n))


async def run_daemon(settings: Settings) -> int:
    """Run until SIGTERM or SIGINT; exit code 0 on a clean stop."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with open_pipeline(settings) as pipeline, AsyncExitStack() as bot:
        if not settings.telegram_bot_token:
            log.info("no TELEGRAM_BOT_TOKEN: candidates go to the log")
            pipeline.notify = log_candidates
        else:  # the bot polls Telegram and posts the outbox in this same loop
            from monitor.bot.app import running_bot

            assert pipeline.engine is not None
            outbox = await bot.enter_async_context(
                running_bot(settings, pipeline.engine, pipeline.sources))
            pipeline.notify = outbox.notify
        enabled = [s for s in pipeline.sources.values() if s.enabled]
        scheduler = AsyncIOScheduler(timezone=timezone.utc)
        schedule_sources(scheduler, pipeline, enabled)
        scheduler.start()
        log.info("daemon started %s", fields(sources=len(enabled), database=pipeline.engine.url.
                                             render_as_string() if pipeline.engine else None))
        await stop.wait()
        log.info("stopping")
        scheduler.shutdown(wait=False)
    return 0
