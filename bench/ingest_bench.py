"""Ingest speed and memory: feed parsing, and a whole import through the pipeline into SQLite.

Prints figures; it asserts nothing. Run from the repo root:

    .venv/bin/python bench/ingest_bench.py [--entries 500]

1. the generic feed adapter on a synthetic RSS feed of N entries (parse + normalize), per feed;
2. `process` (normalize → dedupe → classify → store) for those N items into a fresh SQLite file,
   then the same items again (all already stored: the cheap path a poll takes most of the time);
3. peak resident memory of the process.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.adapters import ADAPTERS, rss
from monitor.bootstrap import load
from monitor.config.settings import load_settings
from monitor.config.sources import load_sources
from monitor.models import RawResponse
from monitor.pipeline.normalize import normalize
from monitor.pipeline.run import open_pipeline, process

TOPICS = ["Lavrov and Wang Yi discuss the Ukraine settlement", "Gazprom and CNPC sign a contract",
          "Local football club wins the cup", "Путин провёл переговоры с Си Цзиньпином",
          "中俄举行联合海上演习", "Weather: heavy snow expected in Moscow"]


def synthetic_feed(entries: int) -> bytes:
    """An RSS 2.0 feed with NBSPs, entities and +0300 dates, like TASS's."""
    now = datetime(2026, 11, 20, 12, 0, tzinfo=timezone(timedelta(hours=3)))
    items = []
    for n in range(entries):
        title = f"{TOPICS[n % len(TOPICS)]}\u00a0— update {n}"
        items.append(
            f"<item><title><![CDATA[{title}]]></title>"
            f"<link><![CDATA[https://tass.com/politics/{100000 + n}]]></link>"
            f"<guid><![CDATA[https://tass.com/politics/{100000 + n}]]></guid>"
            f"<pubDate>{format_datetime(now - timedelta(minutes=7 * n))}</pubDate>"
            f"<description>&lt;p&gt;Lead sentence number {n} with &amp;quot;quotes&amp;quot;."
            f"&lt;/p&gt;</description></item>")
    return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>TASS'
            '</title>' + "".join(items) + "</channel></rss>").encode("utf-8")


def timed(label: str, count: int, seconds: float, unit: str = "items") -> None:
    print(f"{label:<44} {seconds * 1000:8.1f} ms   {count / seconds:9.0f} {unit}/s")


async def pipeline_figures(raw: RawResponse, source, storage: Path) -> None:
    settings = load_settings({"MONITOR_STORAGE": str(storage),
                              "MONITOR_SOURCES": str(ROOT / "sources.yaml"),
                              "MONITOR_TOPICS": str(ROOT / "topics.yaml")})
    async with open_pipeline(load(settings), fetch=False) as pipeline:
        items = rss.parse(raw, source)
        started = time.perf_counter()
        stored = await process(pipeline, source, items)
        timed(f"process → SQLite, {len(stored)} new", len(items), time.perf_counter() - started)
        started = time.perf_counter()
        again = await process(pipeline, source, rss.parse(raw, source))
        timed(f"process again ({len(again)} new: all known)", len(items),
              time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=500)
    args = parser.parse_args()
    source = {s.id: s for s in load_sources(ROOT / "sources.yaml", ADAPTERS)}["tass"]
    body = synthetic_feed(args.entries)
    raw = RawResponse(url=source.urls[0], content=body, headers={"Content-Type": "text/xml"})
    print(f"feed: {args.entries} entries, {len(body) / 1024:.0f} KiB")
    rounds = 5
    started = time.perf_counter()
    for _ in range(rounds):
        items = [normalize(i, source) for i in rss.parse(raw, source)]
    per_feed = (time.perf_counter() - started) / rounds
    timed("parse + normalize, per feed", len(items), per_feed)
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(pipeline_figures(raw, source, Path(tmp)))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'peak resident memory':<44} {peak:8.0f} MiB")


if __name__ == "__main__":
    main()
