"""A daemon poll of a large feed leaves the event loop free while it computes.

The poll `monitor run` makes (`Daemon.poll`: lease, fetch from a replay server on 127.0.0.1,
the parse in a worker process, normalize, story linking, store) runs on a feed of a few hundred
entries while a coroutine on the same loop ticks. The computing stages log a debug record from
where they run; a handler on those records, still inside the stage, checks the record's thread
and waits for the loop to tick again: if the stage ran on the loop thread, the loop could not
tick until it returned. No wall-clock gap is asserted (bench/loop.py prints the figures); the
wait's bound only fails the test instead of hanging it.
"""

from __future__ import annotations

import asyncio
import logging
import threading

from conftest import ROOT

from monitor.bootstrap import load
from monitor.config.settings import load_settings
from monitor.daemon.http import Readiness
from monitor.daemon.run import Daemon, log_alert
from monitor.pipeline.run import open_pipeline
from monitor.replay.server import ReplayServer, Route
from monitor.store import items as item_store

ENTRIES = 400
STAGES = ("normalized", "stories")  # the debug records of the stages that compute
WAIT = 60.0  # seconds a stage's record waits for a tick before the test fails


def big_feed(entries: int) -> bytes:
    """An RSS feed of `entries` distinct items, some of them about one story."""
    items = "".join(
        f"<item><title>Lavrov and Wang Yi discuss settlement, round {n % 50}</title>"
        f"<link>https://example.org/world/{5000 + n}</link><guid>big-{n}</guid>"
        f"<pubDate>Mon, 16 Nov 2026 {n % 24:02d}:{n % 60:02d}:00 +0300</pubDate>"
        f"<description>Russian Foreign Minister Sergey Lavrov met Chinese counterpart Wang Yi "
        f"in Beijing on {n % 28 + 1} November; {'talks ' * 40}</description></item>"
        for n in range(entries))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Big</title><link>https://example.org/</link>{items}</channel></rss>"
            ).encode()


class WhileComputing(logging.Handler):
    """For each stage's record: the thread it came from, and whether the loop ticked while the
    stage was still running (waited for here, in the stage's own thread)."""

    def __init__(self, loop_thread: int, ticked: threading.Event) -> None:
        super().__init__(logging.DEBUG)
        self.loop_thread, self.ticked = loop_thread, ticked
        self.seen: list[tuple[str, int, bool]] = []

    def emit(self, record: logging.LogRecord) -> None:
        stage = record.getMessage().split(" ", 1)[0]
        if stage not in STAGES:
            return
        progressed = False
        if record.thread != self.loop_thread:  # on the loop thread the wait could never end
            self.ticked.clear()
            progressed = self.ticked.wait(WAIT)
        self.seen.append((stage, record.thread, progressed))


async def test_a_large_poll_computes_off_the_loop_while_the_loop_runs(tmp_path, db_url):
    loop_thread = threading.get_ident()
    ticked, ticks, done = threading.Event(), [0], asyncio.Event()

    async def tick() -> None:
        while not done.is_set():
            ticks[0] += 1
            ticked.set()
            await asyncio.sleep(0.001)

    logger = logging.getLogger("monitor.pipeline")
    handler = WhileComputing(loop_thread, ticked)
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        with ReplayServer() as server:
            server.route("/big.xml", Route(body=big_feed(ENTRIES),
                                           headers={"Content-Type": "application/rss+xml"}))
            (tmp_path / "sources.yaml").write_text(
                "sources:\n  - id: big\n    name: Big\n    adapter: rss\n"
                f"    urls: ['{server.url('/big.xml')}']\n    language: en\n"
                "    interval: 1h\n", encoding="utf-8")
            config = load(load_settings({
                "MONITOR_STORAGE": str(tmp_path), "MONITOR_SOURCES": str(tmp_path / "sources.yaml"),
                "MONITOR_TOPICS": str(ROOT / "topics.yaml"), "DATABASE_URL": db_url,
                "MONITOR_HOST_DELAY": "0", "MONITOR_RETRIES": "0", "MONITOR_MAX_AGE": "0"}))
            async with open_pipeline(config, classify=False) as pipeline:
                assert pipeline.engine is not None
                items: list = []

                async def collect(new) -> None:
                    items.extend(new)

                pipeline.notify = collect
                daemon = Daemon(config, pipeline, log_alert, Readiness(pipeline.engine), None)
                ticking = asyncio.create_task(tick())
                await daemon.poll(config.sources["big"])
                done.set()
                await ticking
                rows = await item_store.find_items(pipeline.engine, source="big")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)

    assert len(rows) == ENTRIES and len(items) == ENTRIES, "every entry stored and posted"
    assert [stage for stage, _, _ in handler.seen] == list(STAGES), handler.seen
    for stage, thread, progressed in handler.seen:
        assert thread != loop_thread, f"{stage} ran on the event loop's thread"
        assert progressed, f"the loop did not run while {stage} was in progress"
    assert ticks[0] > 0
