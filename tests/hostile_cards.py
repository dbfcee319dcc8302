"""Hostile titles and summaries through the real pipeline to the real bot.

Three ways in, as the daemon meets them: an RSS feed and a JSON section API (TASS's) fetched
from the replay server on 127.0.0.1 and parsed by their adapters (`run_source`), and items
handed to `process` as `monitor import` hands them (nothing cleaned by an adapter first). The
cards go out through python-telegram-bot in a child process (tests/outages.py) to the test Bot
API server, which refuses what Telegram refuses (HTML it cannot parse, a NUL, more than 4,096
UTF-16 units after entity parsing). `run_hostile_cards` counts what was queued, sent, refused
and lost.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from html import escape
from pathlib import Path

from outages import CHATS, BotProcess, FaultyBotAPI, Feeder, drained

from monitor.models import Item

# What reaches a title or a summary: broken markup, stray < > &, entities, control characters,
# astral characters and emoji, bidirectional marks, combining marks, and lengths far past a
# message's 4,096 UTF-16 units (an emoji is two of them).
TITLES = [
    "<b>unclosed tag from a broken feed", "Rates < 5% & rising > fast", "</i> stray end tag",
    '<a href="javascript:alert(1)">click</a> me', "<tg-spoiler>secret</tg-spoiler> talks",
    "Tom &amp; Jerry &nbsp; &#128512; &bogus; & &#xZZ;", "<<<>>> &&& <b><i>nested</b></i>",
    "\u202eevil right-to-left override\u202c and \u200f marks \u200e in Лавров 王毅",
    "😀" * 3244, "Lavrov " * 1000, "👨‍👩‍👧‍👦 family" * 300, "𝕏𝕐ℤ 𠜎𠜱𠝹 astral " * 200,
    "Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇ " * 150, "<pre><code>print('x')</code></pre> and <br/> tags",
    "line\u2028separator\u2029paragraph and \ufeffBOM \ufffe", "<" * 5000, "&" * 5000,
]
SUMMARIES = ["&" * 5000, "<script>alert(1)</script>" * 50, "<b><i>badly</b></i> nested <p>",
             "😀" * 5000, "x" * 20000, ""]
# JSON and imports carry what XML cannot: NUL, C0 and C1 controls, a lone surrogate.
RAW_ONLY = ["NUL\x00in title", "bell\x07 ESC\x1b[31m red DEL\x7f C1 \x85\x9b end",
            "lone surrogate \ud800 here \udfff", "tab\tnew\nline\r\nreturn\x0b\x0c",
            "\x00" * 10 + "only controls then text", "<b>\x00</b>"]


@dataclass
class HostileOutcome:
    offered: int = 0  # items in the feed, the API reply and the import
    stored: int = 0
    queued: int = 0  # cards (item × editor chat)
    sent: int = 0  # messages the server accepted
    plain: int = 0  # of which a card sent again as plain text after Telegram refused its HTML
    invalid: int = 0  # messages the server refused as Telegram would
    reasons: list[str] = field(default_factory=list)
    lost: int = 0  # queued and never delivered
    duplicates: int = 0
    poll_errors: list[str] = field(default_factory=list)
    tracebacks: int = 0
    seconds: float = 0.0

    def failures(self) -> list[str]:
        checks = {"invalid": self.invalid == 0, "lost": self.lost == 0,
                  "duplicates": self.duplicates == 0, "stored": self.stored == self.offered,
                  "queued": self.queued == self.stored * len(CHATS),
                  "polls": not self.poll_errors, "tracebacks": self.tracebacks == 0}
        return [name for name, ok in checks.items() if not ok]


def _pairs(texts: list[str]) -> list[tuple[str, str]]:
    return [(title, SUMMARIES[n % len(SUMMARIES)]) for n, title in enumerate(texts)]


def hostile_feed() -> bytes:
    """An RSS feed of the hostile titles, escaped as XML needs (half of them in CDATA)."""
    entries = []
    for n, (title, summary) in enumerate(_pairs(TITLES)):
        wrap = (lambda s: f"<![CDATA[{s}]]>") if n % 2 else escape
        entries.append(f"<item><title>{wrap(title)}</title><link>https://feed.example.org/"
                       f"{n}?a=&lt;1&gt;&amp;b=&quot;2&quot;</link><description>{wrap(summary)}"
                       "</description></item>")
    return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Hostile'
            f"</title>{''.join(entries)}</channel></rss>").encode()


def hostile_api() -> bytes:
    """A section-API reply (TASS's shape) with every hostile title, the raw-only ones too."""
    news = [{"title": title, "lead": summary, "link": f"/api/{n}", "date": 1_767_000_000 + n}
            for n, (title, summary) in enumerate(_pairs(TITLES + RAW_ONLY))]
    return json.dumps({"newsList": news}).encode()  # ensure_ascii: \u0000 and \ud800 escaped


def imported() -> list[Item]:
    """Items as `monitor import` hands them to the pipeline: not cleaned by an adapter (a year
    back, so that they make cards of their own instead of joining the polled reports' stories)."""
    now = datetime.now(timezone.utc) - timedelta(days=400)
    return [Item(source="hostile_api", url=f"https://import.example.org/{n}", title=title,
                 summary=summary, lang="en", published=now - timedelta(minutes=n))
            for n, (title, summary) in enumerate(_pairs(TITLES + RAW_ONLY))]


async def run_hostile_cards(workdir: Path) -> HostileOutcome:
    """Every hostile item polled or imported, its cards posted; the counts once all is sent."""
    from monitor.fetch.client import Fetcher, FetchSettings
    from monitor.pipeline.run import process
    from monitor.replay.server import ReplayServer, Route
    from monitor.store.db import open_database

    began = time.monotonic()
    workdir.mkdir(parents=True, exist_ok=True)
    db_url = f"sqlite:///{workdir / 'hostile.sqlite3'}"
    engine = await open_database(db_url)
    outcome = HostileOutcome(offered=len(TITLES) + 2 * len(TITLES + RAW_ONLY))
    try:
        with ReplayServer() as feeds, FaultyBotAPI() as api:
            feeds.route("/hostile.xml", Route(body=hostile_feed(),
                                              headers={"Content-Type": "application/rss+xml"}))
            feeds.route("/hostile.json", Route(body=hostile_api(),
                                               headers={"Content-Type": "application/json"}))
            bot = BotProcess(db_url, api, workdir / "hostile-bot.log")
            bot.start()
            try:
                await bot.started(0)
                urls = {"hostile_rss": feeds.url("/hostile.xml"),
                        "hostile_api": feeds.url("/hostile.json")}
                async with Fetcher(FetchSettings(host_delay=0.0, retries=0)) as fetcher:
                    feeder = Feeder(engine, urls, fetcher)
                    for source in urls:
                        report = await feeder.poll(source)
                        if report.error is not None:
                            outcome.poll_errors.append(f"{source}: {report.error}")
                    try:
                        await process(feeder.pipeline, feeder.sources["hostile_api"], imported())
                    except Exception as exc:  # noqa: BLE001 - counted: the import stored nothing
                        outcome.poll_errors.append(f"import: {type(exc).__name__}: {exc}"[:300])
                ledger = await drained(engine, api)
            finally:
                bot.stop()
            sent = api.calls_of("sendMessage")
            outcome.sent, outcome.plain = len(sent), sum(not c.params.get("parse_mode")
                                                         for c in sent)
            outcome.invalid = len(api.refused)
            outcome.reasons = sorted({why for _, why in api.refused})
            outcome.tracebacks = sum(bot.tracebacks().values())
        outcome.stored = len({r["item_id"] for r in ledger.rows})
        outcome.queued = len(ledger.rows)
        outcome.lost = sum(not ledger.delivered(r) for r in ledger.rows)
        outcome.duplicates = ledger.duplicates(ledger.rows)
    finally:
        await engine.dispose()
    outcome.seconds = time.monotonic() - began
    return outcome
