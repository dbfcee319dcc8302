"""The pipeline, in order: the only module that knows it.

    fetch → adapter → normalize → dedupe → classify → store → notify

`run_source` is one poll of one source; the daemon's scheduler and `monitor fetch` both call
it, and `monitor import` enters at `process` (or `preview` for a dry run, which stores and
posts nothing) with responses read from files. A source that fails is recorded in its health
row and never stops the others; a failed poll writes nothing but that row. `open_pipeline`
assembles the shared parts from the configuration, once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from monitor import metrics
from monitor.adapters import get_adapter
from monitor.adapters.base import poll
from monitor.adapters.budget import Budget
from monitor.config import Config
from monitor.errors import InternalError, MonitorError
from monitor.fetch.client import Fetcher, FetchSettings, Validators, bound_get
from monitor.logs import fields
from monitor.models import OFF_TOPIC, Item, Source
from monitor.pipeline import dedupe, stories
from monitor.pipeline.normalize import normalize
from monitor.store import health as health_store
from monitor.store import items as item_store
from monitor.store.db import open_database
from monitor.text import item_text

log = logging.getLogger("monitor.pipeline")
Notify = Callable[[list[Item]], Awaitable[None]]


class Classifier(Protocol):
    def classify(self, items: list[Item], threshold: float | None = None,
                 vectors: Any = None) -> list[Item]: ...


@dataclass
class Pipeline:
    """The shared parts every poll uses."""

    engine: AsyncEngine | None
    sources: dict[str, Source]
    fetcher: Fetcher | None = None
    classifier: Classifier | None = None
    notify: Notify | None = None
    embed: Callable[[list[str]], Any] | None = None  # texts → L2-normalised vectors
    max_age: timedelta | None = None  # MONITOR_MAX_AGE: older backlog at a first poll is held
    loading: asyncio.Future[Any] | None = None  # the classifier, while it is still loading

    async def ready_classifier(self) -> Classifier | None:
        """The classifier, once it has loaded (the first poll waits for it; later ones don't)."""
        if self.classifier is None and self.loading is not None:
            self.classifier = await self.loading
            self.loading = None
        return self.classifier


@dataclass
class PollReport:
    source: str
    parsed: int = 0
    new: list[Item] = field(default_factory=list)
    error: MonitorError | None = None
    duration: float = 0.0
    health: health_store.Health | None = None  # the source's row after this poll

    @property
    def ok(self) -> bool:
        return self.error is None


async def run_source(pipeline: Pipeline, source: Source,
                     health: health_store.Health | None = None) -> PollReport:
    """One poll of one source through the whole pipeline; failures are caught and recorded.

    `health` is the source's row if the caller has just read it (the daemon has).
    """
    assert pipeline.engine is not None and pipeline.fetcher is not None
    started = time.monotonic()
    report = PollReport(source.id)
    health = health or await health_store.get_health(pipeline.engine, source.id)
    validators = {url: Validators(**v) for url, v in health.validators.items()}
    get = bound_get(pipeline.fetcher, validators, host_delay=source.option("host_delay"))
    try:
        # each response's parse gets what its request left of MONITOR_DEADLINE
        items = await poll(get_adapter(source.adapter), source, get,
                           budget=Budget(pipeline.fetcher.settings.deadline))
        report.parsed = len(items)
        report.new = await process(pipeline, source, items)
    except MonitorError as exc:
        report.error = exc
    except Exception as exc:  # an adapter bug must not stop the other sources
        log.exception("poll %s", fields(source=source.id, outcome="internal"))
        report.error = InternalError(f"{source.id}: {type(exc).__name__}: {exc}")
    report.duration = time.monotonic() - started
    report.health = await _record(pipeline, source, report, health,
                                  {url: asdict(v) for url, v in validators.items() if v})
    return report


async def _record(pipeline: Pipeline, source: Source, report: PollReport,
                  current: health_store.Health,
                  seen: dict[str, dict[str, str]]) -> health_store.Health:
    engine = pipeline.engine
    assert engine is not None
    outcome = "ok" if report.error is None else report.error.kind
    metrics.FETCHES.labels(source.id, outcome).inc()
    metrics.DURATION.labels(source.id).observe(report.duration)
    metrics.ITEMS.labels(source.id).inc(report.parsed)
    metrics.NEW_ITEMS.labels(source.id).inc(len(report.new))
    if report.error is None:
        log.info("poll %s", fields(source=source.id, outcome="ok", items=report.parsed,
                                   new=len(report.new), duration=report.duration))
        return await health_store.record_success(engine, source.id, items=report.parsed,
                                                 new=len(report.new), validators=seen,
                                                 current=current)
    log.warning("poll %s", fields(source=source.id, outcome=report.error.kind,
                                  url=getattr(report.error, "url", None) or None,
                                  error=str(report.error)[:200], duration=report.duration))
    return await health_store.record_failure(engine, source.id, report.error, current=current)


async def process(pipeline: Pipeline, source: Source, items: list[Item],
                  base_url: str = "") -> list[Item]:
    """normalize → dedupe → classify → store → notify; returns the items really inserted.

    The stages that compute (normalize, classify, story linking, the stored columns) run in a
    worker thread, one after the other, while the queries stay on the loop with the engine:
    a poll of a large feed never stalls the loop (bench/loop.py)."""
    engine = pipeline.engine
    assert engine is not None, "a dry run calls preview()"
    items = await item_store.unseen(engine, await asyncio.to_thread(_normalized, source, items,
                                                                    base_url))
    if not items:
        return []
    vectors = await _classified(pipeline, source, items)
    rows = await _story_window(engine, items)
    demoted, extra = await asyncio.to_thread(_linked, pipeline, items, rows, vectors)
    await _hold_backlog(pipeline, source, items)
    inserted = await item_store.insert_new(engine, items, extra, demoted)
    await _notify(pipeline, inserted)
    return inserted


async def _story_window(engine: AsyncEngine, items: list[Item]) -> list[Any]:
    """The stored reports published within the batch's window, for story linking."""
    rows = []
    for start, end in stories.window_ranges([i.published for i in items]):
        rows += await item_store.story_window(engine, start, end)
    return rows


def _linked(pipeline: Pipeline, items: list[Item], rows: list[Any],
            vectors: Any) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """Story linking against the stored `rows` (in a worker thread): the stored keys demoted
    from their story's original, and each item's extra columns (title signature, embedding)."""
    dim = vectors.shape[1] if vectors is not None else 0
    stored, stored_vectors = stories.stored_reports(rows, dim)
    demoted = stories.link_stories(items, _outlets(pipeline), stored, vectors,
                                   stored_vectors if vectors is not None else None)
    extra = {item.key: {"title_sig": dedupe.title_signature(item.title),
                        "embedding": None if vectors is None else dedupe.vector_bytes(vectors[n])}
             for n, item in enumerate(items)}
    log.debug("stories %s", fields(new=len(items), stored=len(rows), demoted=len(demoted)))
    return demoted, extra


async def _hold_backlog(pipeline: Pipeline, source: Source, items: list[Item]) -> None:
    """Mark items published more than `max_age` before the source's first poll as held: stored
    and searchable, never posted (a first poll would otherwise post years of archive)."""
    if pipeline.max_age is None or pipeline.engine is None:
        return
    first = await item_store.first_seen_of(pipeline.engine, source.id)
    cutoff = (first or datetime.now(timezone.utc)) - pipeline.max_age
    for item in items:
        item.held = item.published is not None and item.published < cutoff


async def preview(pipeline: Pipeline, source: Source, items: list[Item],
                  base_url: str = "") -> list[Item]:
    """The same stages without the store: what a dry run shows (stories within the batch)."""
    items = await asyncio.to_thread(_normalized, source, items, base_url)
    if not items:
        return []
    vectors = await _classified(pipeline, source, items)
    await asyncio.to_thread(stories.link_stories, items, _outlets(pipeline), [], vectors)
    return items


def _normalized(source: Source, items: list[Item], base_url: str) -> list[Item]:
    """The items normalized, one per key (in a worker thread)."""
    unique = dedupe.unique_by_key([normalize(i, source, base_url) for i in items])
    log.debug("normalized %s", fields(source=source.id, items=len(items), unique=len(unique)))
    return unique


def _in_background(config: Config) -> asyncio.Future[Any]:
    """Load the classifier in a daemon thread: a start-up that fails meanwhile (a rejected
    token) exits at once instead of waiting for a fit nobody will use."""
    from monitor.pipeline.classify import load_classifier

    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def settle(value: Any, error: BaseException | None) -> None:
        if not future.done():
            future.set_exception(error) if error is not None else future.set_result(value)

    def load() -> None:
        try:
            value, error = load_classifier(config.settings, topics=config.topics), None
        except BaseException as exc:  # noqa: BLE001 - handed to whoever awaits the classifier
            value, error = None, exc
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits any more
            loop.call_soon_threadsafe(settle, value, error)

    threading.Thread(target=load, name="monitor-classifier", daemon=True).start()
    return future


def _outlets(pipeline: Pipeline) -> dict[str, str]:
    return {s.id: s.outlet for s in pipeline.sources.values()}


async def _classified(pipeline: Pipeline, source: Source, items: list[Item]) -> Any:
    """Classify the items in place (in a worker thread); returns their embeddings, if any."""
    vectors = await _vectors(pipeline, items)
    classifier = await pipeline.ready_classifier()
    if classifier is not None:
        await asyncio.to_thread(classifier.classify, items, source.option("relevance_threshold"),
                                vectors)
    return vectors


async def _vectors(pipeline: Pipeline, items: list[Item]) -> Any:
    if pipeline.embed is None:
        return None
    texts = [item_text(i.title, i.summary) for i in items]
    return await asyncio.to_thread(pipeline.embed, texts)


async def _notify(pipeline: Pipeline, inserted: list[Item]) -> None:
    """Post new relevant items; a failing notifier is logged and never fails the poll."""
    relevant = [i for i in inserted if i.bucket != OFF_TOPIC and not i.held]
    if pipeline.notify is None or not relevant:
        return
    try:
        await pipeline.notify(relevant)
    except Exception:
        log.exception("notify %s", fields(outcome="failed", items=len(relevant)))


async def run_sources(pipeline: Pipeline, sources: list[Source]) -> list[PollReport]:
    """Poll several sources concurrently; one failing never stops the others."""
    return list(await asyncio.gather(*(run_source(pipeline, s) for s in sources)))


@asynccontextmanager
async def open_pipeline(config: Config, *, store: bool = True, fetch: bool = True,
                        classify: bool = True) -> AsyncIterator[Pipeline]:
    """A ready Pipeline for the configuration; closes the database and HTTP client on exit.

    The classifier and the embedder (shared by classify and stories) are loaded unless
    `classify` is off (an archival import or a parser check: items stay unclassified and
    stories link by headline only); without a trained model the classifier falls back to its
    seed model with a warning. The database is opened first, so a bad `DATABASE_URL` fails at
    once; the classifier then loads in the background (`Pipeline.ready_classifier`), because
    fitting the seed model takes seconds that the bot's start and the first request need not
    wait for.
    """
    settings = config.settings
    engine = await open_database(settings.db_url) if store else None
    try:
        pipeline = Pipeline(engine=engine, sources=dict(config.sources),
                            max_age=settings.max_age)
        if classify:
            from monitor.learn.embed import embed  # numpy and the model: only when classifying

            pipeline.embed = embed
            pipeline.loading = _in_background(config)
        if fetch:
            async with Fetcher(FetchSettings.from_settings(settings)) as fetcher:
                pipeline.fetcher = fetcher
                yield pipeline
        else:
            yield pipeline
    finally:
        if engine is not None:
            await engine.dispose()
