"""Story linking on the real story set: pairwise precision and recall, overall and per language
pair, on `tests/fixtures/stories/reports.jsonl` (34 events in EN/RU/ZH plus distractors).

Every report goes through normalize and the pipeline's story linking as it would arrive (in
publication order), with the same embeddings the pipeline computes. A pair of reports is a true
pair when both belong to the same event; precision and recall count pairs. Goal: >= 0.90 each.

    .venv/bin/python bench/stories.py [--split dev|test|all] [--window N] [--errors]

`--errors` lists the stories that hold more than one event (false merges) and the events
spread over more than one story (missed links), report by report: look at dev's only.

`--window N` (default 5000; 0 skips it) also times linking a batch of 20 new reports against
N stored reports in its window (synthetic vectors and titles): the cost of one poll when the
window is that full. Linking never reads outside the window, so the table's size does not
matter.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import sys
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.learn.embed import embed
from monitor.models import Item, Source, StoryRef
from monitor.pipeline import dedupe, stories
from monitor.pipeline.normalize import normalize
from monitor.text import item_text

REPORTS = ROOT / "tests" / "fixtures" / "stories" / "reports.jsonl"


def load(split: str) -> list[dict]:
    rows = [json.loads(line) for line in REPORTS.read_text(encoding="utf-8").splitlines() if line]
    if split == "all":
        return rows
    def group(row: dict) -> str:  # by event family: an event and its distractors stay together
        return row.get("distracts") or row["event"]
    dev = {g for g in {group(r) for r in rows}
           if int(hashlib.sha1(g.encode()).hexdigest(), 16) % 2 == 0}
    return [r for r in rows if (group(r) in dev) == (split == "dev")]


def items_of(rows: list[dict]) -> list[Item]:
    items = []
    for n, row in enumerate(rows):
        published = row.get("published") or None
        try:
            when = datetime.fromisoformat(published) if published else None
        except ValueError:  # a month only ("2022-02"): as good as unknown
            when = None
        date_only = when is not None and len(published) <= 10
        source = Source(id=f"s{n}", name=row["source"], adapter="rss", urls=("https://x.invalid/",),
                        language=row["lang"], interval=timedelta(hours=1), timezone="Europe/Moscow",
                        outlet=row["source"])
        item = Item(source=source.id, url=row.get("url") or f"https://x.invalid/{n}",
                    title=row["title"], summary=row.get("summary") or "", published=when,
                    lang=row["lang"], date_only=date_only)
        items.append(normalize(item, source))
    return items


def pair_figures(rows: list[dict], items: list[Item]) -> dict[str, tuple[float, float, int]]:
    tp, fp, fn = Counter(), Counter(), Counter()
    for (a, ra), (b, rb) in itertools.combinations(list(zip(items, rows)), 2):
        pair = "-".join(sorted((ra["lang"], rb["lang"])))
        same, linked = ra["event"] == rb["event"], a.story == b.story
        for key in ("all", pair):
            tp[key] += same and linked
            fp[key] += linked and not same
            fn[key] += same and not linked
    out = {}
    for key in sorted(set(tp) | set(fp) | set(fn), key=lambda k: (k != "all", k)):
        p = tp[key] / (tp[key] + fp[key]) if tp[key] + fp[key] else 1.0
        r = tp[key] / (tp[key] + fn[key]) if tp[key] + fn[key] else 1.0
        out[key] = (p, r, tp[key] + fn[key])
    return out


def errors(rows: list[dict], items: list[Item]) -> list[str]:
    """False merges (a story holding several events) and missed links (an event in several
    stories), one line per report."""
    def line(row: dict, item: Item) -> str:
        return (f"    {item.story[:8]} {row['event']:<5} {row['lang']} "
                f"{(row.get('published') or '?')[:16]:<16} {row['source'][:24]:<24} "
                f"{row['title'][:80]}")
    out = []
    for title, key, other in (("false merges", "story", "event"),
                              ("missed links", "event", "story")):
        groups: dict[str, list[int]] = {}
        for n, (row, item) in enumerate(zip(rows, items)):
            groups.setdefault(row["event"] if key == "event" else item.story, []).append(n)
        bad = [members for members in groups.values()
               if len({rows[n]["event"] if other == "event" else items[n].story
                       for n in members}) > 1]
        out.append(f"{title}: {len(bad)}")
        for members in bad:
            out.extend(line(rows[n], items[n]) for n in members)
            out.append("")
    return out


def window_timing(size: int, batch: int = 20) -> tuple[float, float]:
    """Seconds to read `size` stored reports of a window into features, and to link `batch`
    new reports against them (synthetic titles and vectors)."""
    rng = np.random.default_rng(0)
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    vectors = rng.normal(size=(size + batch, 512)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    words = ("Putin", "Xi", "talks", "Moscow", "Beijing", "trade", "call", "SCO", "Lavrov")
    rows = [(StoryRef(f"k{n}", "s", f"k{n}", True, t0 + timedelta(minutes=n % 2000), "",
                      dedupe.vector_bytes(vectors[n])),
             " ".join(rng.choice(words, 4)) + f" {n}", "", False) for n in range(size)]
    new = [Item(source="s", url=f"https://x.invalid/n{n}", title=f"Putin Xi call {n}",
                key=f"n{n}", published=t0 + timedelta(hours=12)) for n in range(batch)]
    started = time.perf_counter()
    stored, stored_vectors = stories.stored_reports(rows, 512)
    read = time.perf_counter() - started
    started = time.perf_counter()
    stories.link_stories(new, {}, stored, vectors[size:], stored_vectors)
    return read, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--split", choices=("dev", "test", "all"), default="all")
    parser.add_argument("--window", type=int, default=5000)
    parser.add_argument("--errors", action="store_true")
    args = parser.parse_args()
    rows = load(args.split)
    items = items_of(rows)
    vectors = embed([item_text(i.title, i.summary) for i in items])
    started = time.perf_counter()
    stories.link_stories(items, {i.source: i.source for i in items}, [], vectors)
    took = time.perf_counter() - started
    events = len({r["event"] for r in rows})
    print(f"stories: {len(rows)} reports, {events} events ({args.split}); "
          f"linked in {took * 1000:.0f} ms; {len({i.story for i in items})} stories made")
    for key, (p, r, n) in pair_figures(rows, items).items():
        print(f"  {key:<6} pairwise precision={p:.3f} recall={r:.3f}  (true pairs {n})")
    if args.errors:
        print("\n".join(errors(rows, items)))
    if args.window:
        read, took = window_timing(args.window)
        print(f"window of {args.window} stored reports: features in {read * 1000:.0f} ms, "
              f"20 new reports linked against it in {took * 1000:.0f} ms")


if __name__ == "__main__":
    main()
