"""Kill -9 durability of the real daemon: `monitor run` ingests feeds that keep growing (served
by the replay server on 127.0.0.1) and posts cards to the test Bot API server; it is killed
with SIGKILL at random moments, during polls and during sends, and started again each time.

What it measures (`Outcome`): items seen committed after one kill and missing after a later one
(lost); items stored twice; what the feeds offered and never got stored; SQLite's
`PRAGMA integrity_check` after every kill; card messages per item at the Bot API stand-in
(the item is read from the card's signed buttons), where a kill that landed between a card's
claim and its being marked sent may repeat that one card, and nothing else may; relevant items
never carded; cards posted out of queue order.

`bench/reliability.py` runs it with 30 kills on SQLite and PostgreSQL; tests/test_durability.py
with a few. The daemon uses a seed-term model trained once into its storage (fast to fit; the
classifier's quality does not matter here, only that every relevant item is handled once).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import format_datetime
from html import escape
from pathlib import Path

from durability_checks import card_item, snapshot, verdict
from telegram_server import BotAPIServer

from monitor.replay.faults import closed_port
from monitor.replay.server import ReplayServer, Route

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT / "monitor" / "learn" / "labels" / "real-dev.jsonl"
TOKEN, CHAT, EDITOR = "123456:durability-token", -100555, 42
SOURCES = 3
START_WAIT = 120.0  # seconds a start-up or the final drain may take under load (a bound only)
# MONITOR_LEASE, seconds: the card a kill left claimed is taken back by the restarted daemon once
# its lease has expired (a younger claim could be another daemon's), and sources a killed poll
# held are polled again then; a short lease keeps each restart's wait well inside START_WAIT.
LEASE = 5


@dataclass
class Outcome:
    database: str
    kills: int = 0
    mid_send: int = 0  # kills that left a card claimed and not marked sent
    served: int = 0
    stored: int = 0
    lost: int = 0
    missed: int = 0  # offered by the feeds, never stored
    duplicate_items: int = 0
    relevant: int = 0
    cards: int = 0
    joined: int = 0  # relevant items that joined their story's card instead of their own
    duplicate_cards: int = 0
    uncarded: int = 0
    out_of_order: int = 0
    integrity: list[str] = field(default_factory=list)
    phases: Counter[str] = field(default_factory=Counter)  # kills per phase
    decisions: int = 0  # Keep presses answered just before a kill
    decisions_lost: int = 0
    tracebacks: int = 0
    seconds: float = 0.0

    @property
    def integrity_ok(self) -> bool:
        return all(result in ("ok", "n/a") for result in self.integrity)  # n/a: PostgreSQL

    def failures(self) -> list[str]:
        """The goals this run missed, by name (none: it held)."""
        checks = {"lost": self.lost == 0, "missed": self.missed == 0,
                  "duplicate items": self.duplicate_items == 0, "integrity": self.integrity_ok,
                  "uncarded": self.uncarded == 0,
                  "duplicate cards": self.duplicate_cards <= self.mid_send,
                  "order": self.out_of_order == 0, "decisions": self.decisions_lost == 0,
                  "tracebacks": self.tracebacks == 0}
        return [name for name, ok in checks.items() if not ok]


class Feeds:
    """RSS feeds that grow by one real headline at a time, spread over SOURCES sources."""

    def __init__(self, server: ReplayServer, headlines: list[dict[str, str]]) -> None:
        self.server, self.headlines = server, headlines
        self.entries: dict[int, list[str]] = {n: [] for n in range(SOURCES)}
        self.urls: list[str] = []
        self.paths = [f"/feed{n}.xml" for n in range(SOURCES)]
        self._lock = threading.Lock()
        for n in range(SOURCES):
            self._publish(n)

    def add(self) -> bool:
        """One more item in one feed; False when every headline is out."""
        with self._lock:
            if len(self.urls) == len(self.headlines):
                return False
            n, row = len(self.urls) % SOURCES, self.headlines[len(self.urls)]
            url = f"https://news.example.org/{n}/{len(self.urls)}"
            self.urls.append(url)
            self.entries[n].append(
                f"<item><title>{escape(row['title'])}</title><link>{url}</link>"
                f"<description>{escape(row.get('summary') or row.get('note') or '')}"
                f"</description><pubDate>{format_datetime(datetime.now(timezone.utc))}"
                "</pubDate></item>")
            self._publish(n)
            return True

    def _publish(self, n: int) -> None:
        body = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
                f"<title>Source {n}</title>{''.join(reversed(self.entries[n]))}</channel></rss>")
        self.server.route(self.paths[n], Route(body=body.encode(), headers={
            "Content-Type": "application/rss+xml"}))


def headlines(count: int, seed: int) -> list[dict[str, str]]:
    """Real labelled-relevant headlines of the dev split, distinct, in a seeded order."""
    rows = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line]
    unique = list({r["title"]: r for r in rows if r.get("bucket") != "off_topic"}.values())
    random.Random(seed).shuffle(unique)
    return unique[:count]


def prepare(workdir: Path) -> None:
    """sources.yaml and a seed-term model in the daemon's storage (fitted once)."""
    from monitor.config.topics import load_topics
    from monitor.learn.model import default_model_path, save_model
    from monitor.learn.train import seed_model

    workdir.mkdir(parents=True, exist_ok=True)
    path = default_model_path(workdir)
    if not path.exists():
        save_model(seed_model(load_topics(ROOT / "topics.yaml"), bundled=False), path)


def write_sources(workdir: Path, feeds: ReplayServer) -> None:
    lines = ["sources:"]
    for n in range(SOURCES):
        lines += [f"  - id: s{n}", f"    name: Source {n}", "    adapter: rss",
                  f"    urls: ['{feeds.url(f'/feed{n}.xml')}']", "    interval: 1m",
                  "    timezone: UTC"]
    (workdir / "sources.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def daemon_env(workdir: Path, db_url: str, bot: BotAPIServer, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TELEGRAM_", "MONITOR_", "DATABASE_URL"))}
    env.update(DATABASE_URL=db_url, MONITOR_SOURCES=str(workdir / "sources.yaml"),
               MONITOR_STORAGE=str(workdir), MONITOR_HTTP_ADDR=f"127.0.0.1:{port}",
               MONITOR_TIME_SCALE="60", MONITOR_HOST_DELAY="0", MONITOR_RETRIES="0",
               MONITOR_EXPORT_AT="", MONITOR_MAX_AGE="0", MONITOR_LEASE=str(LEASE),
               TELEGRAM_MIN_INTERVAL="0.05",
               TELEGRAM_DIGEST_AT="100000", TELEGRAM_BOT_TOKEN=TOKEN,
               TELEGRAM_API_BASE_URL=bot.base_url, TELEGRAM_EDITOR_CHAT_IDS=str(CHAT),
               TELEGRAM_ALLOWED_USER_IDS=str(EDITOR))
    return env


def start(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "monitor", "run"], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT)


def wait_until(check, what: str, timeout: float = START_WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.05)


def answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def keep_one(bot: BotAPIServer, decided: set[int]) -> int | None:
    """The editor presses Keep on the newest undecided card; its item once the press is
    answered (the daemon answers after storing the decision), else None."""
    for message in reversed(bot.bot_messages(CHAT)):
        item, data = card_item(message), keep_data(message)
        if item is None or data is None or item in decided:
            continue
        query = bot.press(CHAT, EDITOR, message["message_id"], data)
        try:
            wait_until(lambda q=query: any(c.params.get("callback_query_id") == q
                                           for c in bot.calls_of("answerCallbackQuery")),
                       "the press to be answered", timeout=10.0)
        except TimeoutError:
            return None
        return item
    return None


def keep_data(message: dict) -> str | None:
    for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
        for button in row:
            if "Keep" in button.get("text", ""):
                return button.get("callback_data")
    return None


def cycle(proc: subprocess.Popen[bytes], port: int, feeds: Feeds, bot: BotAPIServer,
          rng: random.Random, decided: set[int], press: float) -> str:
    """Run the daemon up to a random moment of one phase, which it returns; the caller kills.

    `start-up`: within two seconds of the spawn (migrations, recovery, catch-up). `ingest`:
    new items are offered, and the kill comes up to five seconds after the daemon fetched
    them (parse, classify, store, enqueue; the first poll after a start also loads the
    embedding model). `posting`: a batch of items is offered and the kill comes within half a
    second of its first card (among the next sends, sometimes inside one). In either of the
    last two, with probability `press`, the editor's Keep on a card is answered first and
    the kill follows at once."""
    if rng.random() < 0.15:
        time.sleep(rng.uniform(0.0, 2.0))
        return "start-up"
    wait_until(lambda: answers(port) or proc.poll() is not None, "the daemon")
    if rng.random() < 0.5:
        phase, fetched = "ingest", sum(len(feeds.server.hits(p)) for p in feeds.paths)
        added = [feeds.add() for _ in range(rng.randint(1, 3))]
        if any(added):
            wait_until(lambda: sum(len(feeds.server.hits(p)) for p in feeds.paths) > fetched,
                       "a poll of the new items")
        time.sleep(rng.uniform(0.0, 5.0))
    else:
        phase, shown = "posting", len(bot.bot_messages(CHAT))
        if any([feeds.add() for _ in range(rng.randint(3, 6))]):
            wait_until(lambda: len(bot.bot_messages(CHAT)) > shown or proc.poll() is not None,
                       "the first card of the batch")
        time.sleep(rng.uniform(0.0, 0.5))
    if rng.random() < press and (item := keep_one(bot, decided)) is not None:
        decided.add(item)
    return phase


def run(db_url: str, workdir: Path, kills: int, *, seed: int = 1,
        press: float = 0.3) -> Outcome:
    """`kills` SIGKILLs, each at a random moment of a random phase (`cycle`), each followed by
    a restart; then a last run that drains everything and stops with SIGTERM; the checks."""
    rng = random.Random(seed)
    outcome = Outcome(database=db_url.split(":", 1)[0])
    began = time.monotonic()
    prepare(workdir)
    with ReplayServer() as server, BotAPIServer(TOKEN) as bot:
        for httpd in (server._httpd, bot._httpd):  # a killed client's reset is expected here
            httpd.handle_error = lambda *_: None  # type: ignore[method-assign]
        bot.delays["sendMessage"] = 0.05  # a send takes a while, so some kills land inside one
        feeds = Feeds(server, headlines(max(12, kills * 4), seed))
        write_sources(workdir, server)
        port = closed_port()
        env, log = daemon_env(workdir, db_url, bot, port), workdir / "daemon.log"
        committed: set[str] = set()
        decided: set[int] = set()
        for _ in range(kills):
            proc = start(env, log)
            try:
                outcome.phases[cycle(proc, port, feeds, bot, rng, decided, press)] += 1
            finally:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
            seen = asyncio.run(snapshot(db_url))
            outcome.kills += 1
            outcome.lost += len(committed - seen.keys)
            committed |= seen.keys
            outcome.mid_send += seen.sending > 0
            outcome.integrity.append(seen.integrity)
        while feeds.add():
            pass
        proc = start(env, log)
        try:
            wait_until(lambda: asyncio.run(snapshot(db_url)).settled(len(feeds.urls)),
                       "every item stored and every card handled")
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        final = asyncio.run(snapshot(db_url))
        verdict(outcome, final, committed, feeds.urls, bot.bot_messages(CHAT))
        outcome.decisions, outcome.decisions_lost = len(decided), len(decided - final.kept)
    outcome.tracebacks = log.read_text(encoding="utf-8", errors="replace").count("Traceback")
    outcome.seconds = time.monotonic() - began
    return outcome
