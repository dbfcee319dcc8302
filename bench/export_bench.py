"""Export speed: a 10,000-item week in a real SQLite store, exported as Markdown and DOCX.

Prints figures; it asserts nothing. Run from the repo root:

    .venv/bin/python bench/export_bench.py [--items 10000] [--baseline REV]

The week is built with the store's own API (`insert_new`, as tests/test_export.py does): a mix
of kept items with comments, unreviewed candidates, skipped and off-topic items, stories with
copies in other outlets, excerpts of newsletter length. Each format is timed through
`run_export`, the body of `monitor export` (database read, draft, render, atomic write), and
through the `monitor export` command itself in a subprocess (start-up included). With
`--baseline REV` (default: the commit before the export was made fast) the renderers of that
revision, read with `git show`, render the same draft for comparison; the goal is 2 s each.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import io
import os
import subprocess
import sys
import tempfile
import time
import types
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.bootstrap import load
from monitor.config.settings import load_settings
from monitor.export import render, run_export, week_items
from monitor.export.draft import build_draft
from monitor.models import Item
from monitor.store.db import open_database
from monitor.store.items import insert_new

WEEK = "2024-W27"
MONDAY = datetime(2024, 7, 1, 6, 0, tzinfo=timezone.utc)  # after 00:00 in Europe/London
GOAL_S = 2.0
BASELINE = "0677c5f"  # main before the export was made fast
BUCKETS = ["political_diplomatic", "military_security", "economy_trade_sanctions",
           "energy_minerals_cleantech", "tech_cyber_info", "taiwan_indopacific_west"]
SOURCES = ["tass", "kremlin", "xinhua", "globaltimes", "rferl", "carnegie", "csis"]
SUMMARY = ("Russian and Chinese officials met in Beijing on Tuesday to discuss payments, "
           "logistics and the northern sea route. The talks followed a call between the two "
           "leaders last month. Officials said trade grew by 4.2% in the first half. "
           "Analysts in Moscow and Beijing expect further agreements on energy supplies, "
           "including the Power of Siberia 2 pipeline, before the SCO summit in Astana. "
           "Западные санкции обсуждались отдельно. 双方同意加强合作。")


def week_of_items(count: int) -> list[Item]:
    """`count` items spread over the week: every status, bucket and a story every 5 items."""
    out = []
    for n in range(count):
        status = ("kept", "new", "new", "skipped", "new")[n % 5]
        bucket = "off_topic" if n % 17 == 0 else BUCKETS[n % len(BUCKETS)]
        story = f"s{n - n % 3}" if n % 5 == 1 else None
        published = MONDAY + timedelta(seconds=(n * 601) % (6 * 86400))
        out.append(Item(
            key=f"k{n}", source=SOURCES[n % len(SOURCES)],
            url=f"https://example.org/{SOURCES[n % len(SOURCES)]}/{n}?ref=a&b=<{n}>",
            title=f"Item {n}: Lavrov and Wang Yi discuss *the* [settlement] – part {n % 97}",
            summary=SUMMARY + f" Paragraph {n}.\nA second paragraph for item {n}.",
            published=published, first_seen=published, lang="en",
            authors=[f"Author {n % 50}"] if n % 2 else [], bucket=bucket,
            confidence=0.5 + (n % 50) / 100, status=status, story=story,
            original=story is None or n % 3 == 0,
            comment=f"Comment on item {n}: worth a paragraph.\n\nA second thought." if
            status == "kept" else ""))
    return out


def old_renderers(rev: str) -> types.ModuleType | None:
    """The export package's renderers as they were at `rev` (None without git or that rev)."""
    package = types.ModuleType("old_export")
    package.__path__ = []  # type: ignore[attr-defined]
    sys.modules["old_export"] = package
    for name in ("draft", "markdown", "word"):
        try:
            source = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:monitor/export/"
                                     f"{name}.py"], capture_output=True, text=True, check=True)
        except (OSError, subprocess.CalledProcessError):
            return None
        code = source.stdout.replace("monitor.export.", "old_export.")
        spec = importlib.util.spec_from_loader(f"old_export.{name}", loader=None)
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        sys.modules[f"old_export.{name}"] = module
        exec(compile(code, f"{rev}:monitor/export/{name}.py", "exec"), module.__dict__)
        setattr(package, name, module)
    return package


def old_draft(old: types.ModuleType, items: list[Item], config: object) -> object:
    """The draft as the old revision built it."""
    return old.draft.build_draft(items, config.topics, config.outlets, WEEK)  # type: ignore


def best_of(runs: int, call: object) -> float:
    """The fastest of `runs` timings of `call()`, in seconds (the least disturbed by others)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline", default=BASELINE, help="git revision to compare with")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {"DATABASE_URL": f"sqlite:///{tmp}/monitor.sqlite3", "MONITOR_STORAGE": tmp,
               "MONITOR_TIMEZONE": "Europe/London",
               "MONITOR_SOURCES": str(ROOT / "sources.yaml"),
               "MONITOR_TOPICS": str(ROOT / "topics.yaml")}
        config = load(load_settings(env))
        engine = await open_database(env["DATABASE_URL"])
        start = time.perf_counter()
        await insert_new(engine, week_of_items(args.items))
        items = await week_items(config.settings, engine, WEEK)
        await engine.dispose()
        print(f"{len(items)} items stored in {time.perf_counter() - start:.1f} s "
              f"(SQLite, {Path(tmp, 'monitor.sqlite3').stat().st_size / 1e6:.1f} MB)")
        old = old_renderers(args.baseline) if args.baseline else None
        print(f"{'format':<8}{'run_export':>12}{'render only':>13}{'monitor export':>16}"
              f"{'old render':>12}{'goal':>7}")
        for fmt in ("md", "docx"):
            out = Path(tmp, f"week.{fmt}")
            timings = []
            for _ in range(args.runs):
                begin = time.perf_counter()
                with contextlib.redirect_stdout(io.StringIO()):  # the path it prints
                    await run_export(config, week=WEEK, fmt=fmt, out=out, kept_only=False)
                timings.append(time.perf_counter() - begin)
            whole = min(timings)
            alone = best_of(args.runs, lambda f=fmt: render(f, items, config.topics,
                                                              config.outlets, WEEK, False))
            begin = time.perf_counter()
            subprocess.run([sys.executable, "-m", "monitor", "export", "--week", WEEK,
                            "--format", fmt, "--out", str(out)], env=dict(os.environ, **env),
                           check=True, capture_output=True)
            command = time.perf_counter() - begin
            before = "n/a"
            if old is not None:
                render_old = (old.markdown.render_markdown if fmt == "md"
                              else old.word.render_docx)
                seconds = best_of(1, lambda r=render_old: r(old_draft(old, items, config)))
                before = f"{seconds:.2f} s"
            print(f"{fmt:<8}{whole:>10.2f} s{alone:>11.2f} s{command:>14.2f} s{before:>12}"
                  f"{GOAL_S:>5.0f} s   ({out.stat().st_size / 1e6:.1f} MB)")
        draft = build_draft(items, config.topics, config.outlets, WEEK)
        shown = sum(len(s.entries) for s in draft.kept + draft.unreviewed)
        print(f"draft: {shown} stories shown of {len(items)} items "
              f"(skipped, off-topic and copies are not); old render: {args.baseline or '-'}'s "
              "draft and renderer on the same items")


if __name__ == "__main__":
    asyncio.run(main())
