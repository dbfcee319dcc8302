"""Start-up shared by the CLI and the daemon: configuration, sources, database, pipeline.

Everything is read and validated here, once, before any work starts; a bad value raises
ConfigError (or StoreError for an unreachable database) naming what is wrong.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from collections.abc import AsyncIterator

from monitor.fetch import Fetcher, FetchSettings
from monitor.pipeline.run import Pipeline
from monitor.registry import Source, load_sources
from monitor.settings import Settings
from monitor.store.db import open_database

def sources_by_id(settings: Settings) -> dict[str, Source]:
    return {s.id: s for s in load_sources(settings.monitor_sources)}


def fetch_settings(settings: Settings) -> FetchSettings:
    """The fetcher's knobs from the environment."""
    return FetchSettings(user_agent=settings.monitor_user_agent,
                         read_timeout=settings.monitor_timeout,
                         connect_timeout=min(10.0, settings.monitor_timeout),
                         deadline=settings.monitor_deadline, max_bytes=settings.monitor_max_body,
                         host_delay=settings.monitor_host_delay,
                         retries=settings.monitor_retries)


@asynccontextmanager
async def open_pipeline(settings: Settings, *, store: bool = True,
                        fetch: bool = True) -> AsyncIterator[Pipeline]:
    """A ready Pipeline; closes the database and HTTP client on exit.

    The classifier and the embedder (shared by classify and dedupe) are always loaded; without
    a trained model the classifier falls back to its seed model with a warning.
    """
    from monitor.pipeline.classify import load_classifier  # numpy: only for commands that poll
    from monitor.pipeline.embed import embed

    sources = sources_by_id(settings)
    engine = await open_database(settings.db_url) if store else None
    try:
        pipeline = Pipeline(engine=engine, sources=sources,
                            classifier=load_classifier(settings), embed=embed)
        if fetch:
            async with Fetcher(fetch_settings(settings)) as fetcher:
                pipeline.fetcher = fetcher
                yield pipeline
        else:
            yield pipeline
    finally:
        if engine is not None:
            await engine.dispose()
