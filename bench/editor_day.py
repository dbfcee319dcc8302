"""The editor's day: one day of items at the watched sources' volumes, through the real pipeline
(normalize, dedupe, the trained classifier, stories, store) and the real bot against the test
Bot API server on 127.0.0.1, then what the editor was shown.

Items are real labelled items of the dev split (never trained on), each given to the enabled
source of its outlet and language (Russian items other than the Kremlin's stand in for Russian
wire copy, i.e. TASS (RU)); each source gets its estimated daily volume (sources.md), times
spread over one day, and is polled at its interval. Between polls the bench waits for the
outbox to drain, as a real day would give it time to. Printed per mode (cards with burst
digests; a daily digest): items in, cards, digests, messages, the recall of labelled-relevant
items among what the editor was shown (a card, or a line in a digest), and the off-topic
share of what was shown. Goals: <= 40 items shown individually, <= 20 messages a day, >= 0.95
of labelled-relevant items shown.

    .venv/bin/python bench/editor_day.py [--seed N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time as clock
from dataclasses import replace
from datetime import datetime, time, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from telegram_server import BotAPIServer  # the test Bot API server

from monitor.bootstrap import load
from monitor.bot.app import running_bot
from monitor.bot.context import bot_options
from monitor.config.settings import load_settings
from monitor.learn.model import default_model_path
from monitor.learn.train import default_examples, train
from monitor.models import OFF_TOPIC, Item
from monitor.pipeline.run import open_pipeline, process
from monitor.store import items as item_store
from monitor.store import outbox as outbox_store

TOKEN, CHAT, EDITOR = "123456:bench-token", -1001, 42
DEV_FILES = (ROOT / "monitor" / "learn" / "labels" / "real-dev.jsonl",
             ROOT / "tests" / "fixtures" / "classify" / "real-dev.jsonl")
# Items a day per source (sources.md's estimates; think tanks a few a day between them).
VOLUME = {"tass": 100, "tass_ru": 100, "kremlin": 3, "kremlin_ru": 3, "mfa_en_briefings": 1,
          "mfa_en_remarks": 2, "mfa_zh_briefings": 1, "mfa_zh_remarks": 2, "rferl": 30,
          "rferl_centralasia": 10, "rferl_uzbek": 10, "xinhua": 30, "xinhua_zh": 30,
          "peoples_daily": 20, "peoples_daily_zh": 20, "globaltimes": 40, "carnegie": 1,
          "csis": 1, "atlantic_council": 1, "hoover": 1, "warontherocks": 1,
          "foreign_affairs": 1, "aspi": 1, "jamestown": 1}
_OUTLET_SOURCE = {("en", "kremlin"): "kremlin", ("ru", "kremlin"): "kremlin_ru",
                  ("en", "ministry"): "mfa_en_remarks", ("zh", "ministry"): "mfa_zh_remarks",
                  ("en", "xinhua"): "xinhua", ("zh", "xinhua"): "xinhua_zh",
                  ("en", "people"): "peoples_daily", ("zh", "people"): "peoples_daily_zh",
                  ("en", "global times"): "globaltimes", ("en", "tass"): "tass",
                  ("en", "jamestown"): "jamestown", ("en", "carnegie"): "carnegie",
                  ("en", "rfe/rl"): "rferl"}


def source_of(row: dict) -> str:
    """The enabled source this labelled item stands for."""
    outlet = row.get("source", "").lower()
    for (lang, name), sid in _OUTLET_SOURCE.items():
        if row["lang"] == lang and name in outlet:
            return sid
    return {"ru": "tass_ru", "zh": "xinhua_zh"}.get(row["lang"], "rferl")


def day_items(rng: random.Random, day: datetime) -> tuple[dict[str, list[Item]], dict[str, str]]:
    """source id → its items of the day (published times spread over it); url → true bucket."""
    path = next(p for p in DEV_FILES if p.exists())
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    pools: dict[str, list[dict]] = {}
    for row in rows:
        pools.setdefault(source_of(row), []).append(row)
    out, truth = {}, {}
    for sid, volume in VOLUME.items():
        pool = pools.get(sid, [])
        rng.shuffle(pool)
        items = []
        for n, row in enumerate(pool[:volume]):
            # the item's own URL where the set has one: its host and sections are features
            url = row.get("url") or ""
            if not url.startswith(("http://", "https://")) or url in truth:
                url = f"https://bench.example/{sid}/{n}"
            truth[url] = row["bucket"]
            when = day + timedelta(seconds=rng.uniform(0, 86400))
            items.append(Item(source=sid, url=url, title=row["title"], lang=row["lang"],
                              summary=row.get("summary") or "", published=when))
        out[sid] = sorted(items, key=lambda i: i.published)
    return out, truth


def polls(config, items: dict[str, list[Item]], day: datetime) -> list[tuple[datetime, str]]:
    """(moment, source) for every poll of the day, in time order."""
    out = []
    for sid in items:
        step = config.sources[sid].interval
        moment = day + step
        while moment <= day + timedelta(days=1):
            out.append((moment, sid))
            moment += step
    return sorted(out)


async def run_day(mode: str, seed: int, workdir: Path) -> dict[str, float]:
    with BotAPIServer(TOKEN) as server:
        settings = load_settings({
            "MONITOR_STORAGE": str(workdir / mode), "MONITOR_TIMEZONE": "Europe/London",
            "MONITOR_SOURCES": str(ROOT / "sources.yaml"),
            "MONITOR_TOPICS": str(ROOT / "topics.yaml"),
            "MONITOR_MAX_AGE": "0", "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_EDITOR_CHAT_IDS": str(CHAT), "TELEGRAM_ALLOWED_USER_IDS": str(EDITOR),
            "TELEGRAM_API_BASE_URL": server.base_url})
        config = load(settings)
        train(default_examples(), default_model_path(settings.monitor_storage), config.topics)
        day = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
        items, truth = day_items(random.Random(seed), day - timedelta(days=1))
        TRUTH.update(truth)
        options = bot_options(settings, min_interval=0.0, idle=0.2, retry=0.2, poll_timeout=1)
        if mode == "daily":  # today's digest moment has passed: the day's items wait for it
            past = datetime.now(settings.zone) - timedelta(minutes=1)
            options = replace(options, daily_at=time(past.hour, past.minute))
        async with open_pipeline(config, fetch=False) as pipeline:
            engine = pipeline.engine
            async with running_bot(config, engine, options) as outbox:
                pipeline.notify = outbox.notify
                for moment, sid in polls(config, items, day - timedelta(days=1)):
                    due = [i for i in items[sid] if i.published <= moment]
                    items[sid] = items[sid][len(due):]
                    if due:
                        await process(pipeline, config.sources[sid], [replace(i) for i in due])
                        if mode == "cards":
                            await drained(engine)
            if mode == "daily":
                await daily_digest(config, engine, options)
            reached = await shown_urls(engine)
        return figures(server, truth, reached)


async def drained(engine) -> None:
    """Wait until nothing is pending or being sent (the outbox had the time a day gives it)."""
    for _ in range(600):
        rows = await outbox_store.outbox_rows(engine, CHAT)
        if not any(r["state"] in ("pending", "sending") for r in rows):
            return
        await asyncio.sleep(0.05)


async def daily_digest(config, engine, options) -> None:
    """The day's digest: the bot started again with TELEGRAM_DAILY_DIGEST_AT at the next minute."""
    await asyncio.sleep(60 - datetime.now().second + 0.5)  # the digest moment is a whole minute
    moment = datetime.now(config.settings.zone).time().replace(second=0, microsecond=0)
    daily = replace(options, daily_at=time(moment.hour, moment.minute))
    async with running_bot(config, engine, daily):
        await drained(engine)
        await asyncio.sleep(0.5)


async def shown_urls(engine) -> set[str]:
    """Items the editor was shown: on a card, as a digest line, or as a report joined to its
    story's card (listed under the card's Reports button)."""
    rows = await outbox_store.outbox_rows(engine, CHAT)
    shown_ids = {r["item_id"] for r in rows if r["state"] in ("sent", "digested", "merged")}
    items = await item_store.find_items(engine)
    MISSED.clear()
    MISSED.update({i.url: i for i in items if i.id not in shown_ids})
    return {i.url for i in items if i.id in shown_ids}


MISSED: dict[str, Item] = {}  # url → stored item not shown, for --missed
TRUTH: dict[str, str] = {}  # url → labelled bucket


def figures(server: BotAPIServer, truth: dict[str, str], reached: set[str]) -> dict[str, float]:
    messages = server.bot_messages(CHAT)
    buttons = [{b["text"] for row in (m.get("reply_markup") or {}).get("inline_keyboard", [])
                for b in row} for m in messages]
    cards = [m for m, b in zip(messages, buttons) if "✅ Keep" in b]
    digests = [m for m, b in zip(messages, buttons) if "Review one by one ▶" in b]
    shown = reached & set(truth)
    relevant = {url for url, bucket in truth.items() if bucket != OFF_TOPIC}
    return {"items in": len(truth), "labelled relevant": len(relevant), "cards": len(cards),
            "digests": len(digests), "messages": len(messages), "shown": len(shown),
            "recall of relevant among shown": len(shown & relevant) / max(1, len(relevant)),
            "off-topic share of shown": len(shown - relevant) / max(1, len(shown))}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--missed", action="store_true",
                        help="list the labelled-relevant items the editor was not shown")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="editor-day-") as tmp:
        for mode in ("cards", "daily"):
            started = clock.monotonic()
            result = asyncio.run(run_day(mode, args.seed, Path(tmp)))
            missed = [(url, i) for url, i in MISSED.items()
                      if TRUTH.get(url, OFF_TOPIC) != OFF_TOPIC]
            took = clock.monotonic() - started
            label = "cards, burst digests" if mode == "cards" else "one daily digest per section"
            print(f"editor_day [{label}] ({took:.0f} s)")
            for key, value in result.items():
                shown = f"{value:.3f}" if isinstance(value, float) else str(value)
                print(f"  {key:<32} {shown}")
            print(f"  goals: <= 40 shown individually ({result['cards']}), <= 20 messages "
                  f"({result['messages']}), >= 0.95 relevant shown "
                  f"({result['recall of relevant among shown']:.3f})")
            for url, i in missed if args.missed else ():
                relevance = 1 - (i.scores or {}).get(OFF_TOPIC, 1.0)
                print(f"  missed [{TRUTH[url]}] {i.source} {i.lang} {relevance:.2f} "
                      f"{i.bucket}: {i.title[:90]}")


if __name__ == "__main__":
    main()
