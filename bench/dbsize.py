"""Database size per item: real items through the real pipeline into SQLite, and where it goes.

Prints figures; it asserts nothing. Run from the repo root:

    .venv/bin/python bench/dbsize.py [--copies 2] [--no-classify]

The items are the real ones of our labelled sets (`monitor/learn/labels/real-*.jsonl`: titles
and summaries from the sources, in EN, RU and ZH), `--copies` times with distinct URLs, stored
by `pipeline.run.process` as a poll stores them (normalised, classified, embedded, linked into
stories, indexed for search). After a VACUUM it prints the file's bytes per item beside the
goal (1.2 KB), the share of each table and index (SQLite's dbstat), the average size of the
largest columns, and what the file would weigh with the embedding at one byte per dimension or
without the `search` column (estimates: the bytes they hold, taken away).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.bootstrap import load
from monitor.config.settings import load_settings
from monitor.models import Item
from monitor.pipeline.run import open_pipeline, process

LABELS = ROOT / "monitor" / "learn" / "labels"
GOAL = 1200
BATCH = 200  # items per `process` call, as one poll of a busy feed


def real_items(copies: int) -> list[tuple[str, Item]]:
    """(source id, item) for every real labelled item, `copies` times, all as TASS's (the source
    only decides normalisation rules and the story window, not what a row weighs)."""
    rows = [json.loads(line) for name in ("real-train.jsonl", "real-dev.jsonl")
            for line in (LABELS / name).read_text(encoding="utf-8").splitlines() if line.strip()]
    out = []
    for copy in range(copies):
        for n, row in enumerate(rows):
            url = (row.get("url") or f"https://example.org/{n}") + (f"#copy{copy}" if copy else "")
            out.append(("tass", Item(source="tass", url=url, title=row.get("title") or "",
                                     summary=row.get("summary") or "",
                                     published=None, lang=row.get("lang") or "")))
    return out


def report(path: Path, count: int) -> None:
    """Bytes per item overall, per table and index, and per large column."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("VACUUM")
    size = path.stat().st_size
    print(f"{count} items, file {size / 1e6:.1f} MB after VACUUM: {size / count:,.0f} bytes per "
          f"item (goal {GOAL:,})")
    parts = conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name "
                         "ORDER BY SUM(pgsize) DESC").fetchall()
    for name, pages in parts[:10]:
        print(f"  {name:<36}{pages / count:>8,.0f} bytes per item")
    payload, unused, overflow = conn.execute(
        "SELECT SUM(payload), SUM(unused), SUM(pagetype = 'overflow') FROM dbstat "
        "WHERE name = 'items'").fetchone()
    print(f"  items pages: payload {payload / count:,.0f}, unused {unused / count:,.0f} bytes per "
          f"item; {overflow} overflow pages")
    columns = ("embedding", "search", "summary", "title", "scores", "why", "url", "title_sig",
               "key", "guid", "authors", "variant", "model_version")
    averages = conn.execute("SELECT " + ", ".join(f"AVG(LENGTH({c}))" for c in columns) +
                            " FROM items").fetchone()
    print("  average column size: " + ", ".join(f"{c} {a or 0:,.0f}" for c, a in
                                                zip(columns, averages)))
    embedding, search = averages[0] or 0, averages[1] or 0
    print(f"estimates: embedding at 1 byte per dimension {(size / count) - embedding / 2:,.0f}; "
          f"without the search column {(size / count) - search:,.0f}; both "
          f"{(size / count) - embedding / 2 - search:,.0f} bytes per item")
    page = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    for other in (4096, 8192, 16384, 32768):
        if other != page:
            print(f"the same rows in {other // 1024} KB pages: "
                  f"{repaged(path, other) / count:,.0f} bytes per item")


def repaged(path: Path, page_size: int) -> int:
    """The size of a copy of the database rewritten with another page size (rows of about
    2 KB fill 4 KB pages badly: one row a page, and the rest of the page left empty)."""
    copy = path.with_name(f"pages-{page_size}.sqlite3")
    copy.write_bytes(path.read_bytes())
    conn = sqlite3.connect(copy)
    conn.execute("PRAGMA journal_mode=DELETE")  # WAL fixes the page size
    conn.execute(f"PRAGMA page_size={page_size}")
    conn.execute("VACUUM")
    conn.close()
    size = copy.stat().st_size
    copy.unlink()
    return size


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=2)
    parser.add_argument("--no-classify", action="store_true",
                        help="store as `monitor import --no-classify` does (no embeddings)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "monitor.sqlite3"
        settings = load_settings({"DATABASE_URL": f"sqlite:///{db}", "MONITOR_STORAGE": tmp,
                                  "MONITOR_SOURCES": str(ROOT / "sources.yaml"),
                                  "MONITOR_TOPICS": str(ROOT / "topics.yaml")})
        config = load(settings)
        items = real_items(args.copies)
        started, stored = time.perf_counter(), 0
        async with open_pipeline(config, fetch=False, classify=not args.no_classify) as pipeline:
            for start in range(0, len(items), BATCH):
                chunk = items[start:start + BATCH]
                stored += len(await process(pipeline, config.sources[chunk[0][0]],
                                            [item for _, item in chunk]))
        how = "unclassified" if args.no_classify else "classified, with embeddings"
        print(f"stored {stored} of {len(items)} real items in "
              f"{time.perf_counter() - started:.0f} s ({how})")
        report(db, stored)


if __name__ == "__main__":
    asyncio.run(main())
