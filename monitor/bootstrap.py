"""Start-up shared by the CLI and the daemon: configuration, sources, database, pipeline.

Everything is read and validated here, once, before any work starts; a bad value raises
ConfigError (or StoreError for an unreachable database) naming what is wrong.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from collections.abc import AsyncIterator

from monitor.fetch import Fetcher, FetchSettings
from monitor.pipeline.run import Pipeline
from monitor.registry import Source, load_sources
from monitor.settings import Settings
from monitor.store.db import open_database

log = logging.getLogger("monitor")


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


def load_classifier(settings: Settings):  # -> Classifier | None
    """The trained model (or its seed-term fallback); None only if the classifier is absent."""
    try:
        from monitor.pipeline.classify import load_classifier as load
    except ImportError:
        log.warning("classifier not available; items are stored unclassified")
        return None
    return load(settings)


def embedder():
    """The shared sentence-embedding function dedupe links stories with."""
    from monitor.pipeline.embed import embed

    return embed


@asynccontextmanager
async def open_pipeline(settings: Settings, *, store: bool = True,
                        fetch: bool = True, classify: bool = True) -> AsyncIterator[Pipeline]:
    """A ready Pipeline; closes the database and HTTP client on exit."""
    sources = sources_by_id(settings)
    engine = await open_database(settings.db_url) if store else None
    try:
        pipeline = Pipeline(engine=engine, sources=sources,
                            classifier=load_classifier(settings) if classify else None,
                            embed=embedder() if classify else None)
        if fetch:
            async with Fetcher(fetch_settings(settings)) as fetcher:
                pipeline.fetcher = fetcher
                yield pipeline
        else:
            yield pipeline
    finally:
        if engine is not None:
            await engine.dispose()
