"""The bot against a Bot API that fails as Telegram does: the outage phases, and the pieces
tests/hostile_cards.py shares (bench/reliability.py prints both):

- `FaultyBotAPI`: tests/telegram_server.py's server (which refuses what Telegram refuses) with
  one fault mode at a time: `down` (its port closed: connections refused, and a kept-alive
  connection dropped at its next request), `5xx` (502 Bad Gateway to everything), `hang`
  (requests other than getUpdates get no answer until the mode ends, then their connection is
  dropped: nothing was delivered), `429` (sends answered Too Many Requests, retry after 1 s)
  and `kicked` (sends to the `refusing` chat answered 403 "bot was kicked").
- `BotProcess`: the real bot (`running_bot`, python-telegram-bot) in a child process of its
  own, so that it can be killed with SIGKILL mid-request and started again.
- `Feeder`: the real pipeline (`process`: normalize, dedupe, story linking, store, notify)
  storing new items in the parent; its notifier queues each card for every editor chat (what
  `Outbox.notify` writes); the child's outbox worker finds the rows within `idle`.
- `Ledger`: what happened to every queued card (outbox rows against the chats' messages):
  delivered, lost, duplicates, order per chat.

`run_outages` runs the phases in turn (PHASES) while cards keep arriving, then drains the
outbox and counts each phase's cards. The bot's timings are shortened (OPTIONS, LEASE);
python-telegram-bot's own timeouts are its defaults (a hung send is given up after its 5 s
read timeout). A request the server never answers is never delivered either, so it may not
repeat; the one a kill cuts off is delivered (the server finishes it), so it may repeat once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from durability_checks import DONE, card_item
from telegram_server import BotAPIServer, Call, _error, _Handler

from monitor.models import Item, Source

ROOT = Path(__file__).resolve().parent.parent
TOKEN, EDITOR = "123456:outage-token-for-the-test-server", 42
CHAT, KICKED = -100601, -100602  # two editor chats; KICKED is the one that refuses the bot
CHATS = (CHAT, KICKED)
SENDS = {"sendMessage", "editMessageText", "editMessageReplyMarkup", "sendDocument"}
# MONITOR_LEASE, seconds: a card a kill left claimed is taken back once its lease expires (a
# younger claim could be another daemon's); short, so that the drain after a kill is quick.
LEASE = 5
WAIT = 90.0  # seconds a start or a drain may take under load (a bound, never a measurement)
OPTIONS = {"min_interval": 0.02, "idle": 0.2, "retry": 0.2, "poll_timeout": 1,
           "digest_at": 100_000}  # every card a card (a digest is covered by tests/test_bot.py)


def sources(urls: dict[str, str] | None = None) -> dict[str, Source]:
    """The sources the feeder's items come from (a feed URL each when they are polled)."""
    urls = urls or {}
    return {id_: Source(id=id_, name=name, adapter=adapter, language="en", outlet=name,
                        urls=(urls.get(id_, f"https://{id_}.example.org/"),),
                        interval=timedelta(minutes=30))
            for id_, name, adapter in (("wire", "Wire", "rss"), ("hostile_rss", "Hostile RSS", "rss"),
                                       ("hostile_api", "Hostile API", "tass"))}


# --- the Bot API stand-in ----------------------------------------------------------------------
class _Dropped(Exception):
    """The request gets no answer: its connection is closed."""


class _FaultyHandler(_Handler):
    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        if self.server.api.mode == "down":  # type: ignore[attr-defined]
            self.close_connection = True
            return
        try:
            super().do_POST()
        except _Dropped:
            self.close_connection = True

    do_GET = do_POST  # noqa: N815


class FaultyBotAPI(BotAPIServer):
    """The test Bot API server with a fault mode (see the module's docstring)."""

    MODES = ("up", "down", "5xx", "hang", "429", "kicked")

    def __init__(self, token: str = TOKEN, *, refusing: int = KICKED) -> None:
        super().__init__(token)
        self.mode, self.refusing = "up", refusing
        self.in_flight = 0  # sendMessage requests being handled now
        self.hung = 0  # requests that got no answer
        self._release = threading.Event()
        self._port = self._httpd.server_address[1]
        self._quiet(self._httpd)

    @staticmethod
    def _quiet(httpd: ThreadingHTTPServer) -> None:
        httpd.RequestHandlerClass = _FaultyHandler
        httpd.handle_error = lambda *_: None  # type: ignore[method-assign] # a dropped client

    def set_mode(self, mode: str) -> None:
        assert mode in self.MODES, mode
        previous, self.mode = self.mode, mode
        if previous == "hang":
            self._release.set()
        if mode == "hang":
            self._release.clear()
        if mode == "down" and previous != "down":
            self._httpd.shutdown()
            self._httpd.server_close()  # nothing listens: a connection is refused
        if previous == "down" and mode != "down":
            self._listen()

    def _listen(self) -> None:
        for _ in range(50):  # the port is ours again at once (SO_REUSEADDR); a bound, in case
            try:
                httpd = ThreadingHTTPServer(("127.0.0.1", self._port), _FaultyHandler)
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"port {self._port} could not be bound again")
        httpd.daemon_threads = True
        httpd.api = self  # type: ignore[attr-defined]
        self._quiet(httpd)
        self._httpd = httpd
        self.__enter__()

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        if self.mode != "down":
            super().__exit__(*exc)

    def handle(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        mode = self.mode
        fault = None
        if mode == "hang" and method != "getUpdates":
            self._record(method, params, 0)
            self.hung += 1
            self._release.wait(WAIT)
            raise _Dropped
        if mode == "5xx":
            fault = 502
        elif mode == "429" and method in SENDS:
            fault = 429
        elif mode == "kicked" and method in SENDS and str(params.get("chat_id")) == str(
                self.refusing):
            fault = 403
        if fault is not None:
            self._record(method, params, fault)
            return fault, _error(fault, retry_after=1)
        counted = method == "sendMessage"
        with self._cond:
            self.in_flight += counted
        try:
            return super().handle(method, params)
        finally:
            with self._cond:
                self.in_flight -= counted

    def _record(self, method: str, params: dict[str, Any], status: int) -> None:
        with self._cond:
            self.calls.append(Call(method, params, status))


# --- the bot in a child process ------------------------------------------------------------
class BotProcess:
    """`python tests/outages.py DB_URL BASE_URL`: the real bot posting the outbox until
    SIGTERM (or SIGKILL)."""

    def __init__(self, db_url: str, api: FaultyBotAPI, log: Path) -> None:
        self.db_url, self.api, self.log = db_url, api, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("TELEGRAM_", "MONITOR_", "DATABASE_URL"))}
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, str(Path(__file__)), self.db_url, self.api.base_url],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)

    async def started(self, calls_before: int) -> None:
        """Until the child has registered its commands (one setMyCommands per start)."""
        await until(lambda: len(self.api.calls_of("setMyCommands")) > calls_before
                    or (self.proc is not None and self.proc.poll() is not None),
                    "the bot to start")
        assert self.proc is not None and self.proc.poll() is None, self.log.read_text()[-2000:]

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()

    def tracebacks(self) -> Counter[str]:
        """Tracebacks in the child's log, by the logger that printed each."""
        found: Counter[str] = Counter()
        logger = "?"
        for line in self.log.read_text(encoding="utf-8", errors="replace").splitlines():
            head = line.split(" ", 3)
            if len(head) > 2 and head[0][:2] == "20" and head[0].endswith("Z"):
                logger = head[2]
            elif line.startswith("Traceback"):
                found[logger] += 1
        return found


async def _serve_bot(db_url: str, base_url: str) -> None:
    """In the child: the bot as the daemon runs it, until SIGTERM."""
    from monitor.bot.app import running_bot
    from monitor.bot.context import BotOptions
    from monitor.config import Config
    from monitor.config.settings import load_settings
    from monitor.config.topics import load_topics
    from monitor.logs import setup_logging
    from monitor.store.db import open_database

    setup_logging("INFO")
    settings = load_settings({
        "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_EDITOR_CHAT_IDS": ",".join(map(str, CHATS)),
        "TELEGRAM_ALLOWED_USER_IDS": str(EDITOR), "TELEGRAM_API_BASE_URL": base_url,
        "MONITOR_TIMEZONE": "UTC", "MONITOR_STORAGE": tempfile.gettempdir(),
        "MONITOR_LEASE": str(LEASE)})
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    engine = await open_database(db_url)
    try:
        async with running_bot(Config(settings, sources(), load_topics(ROOT / "topics.yaml")),
                               engine, BotOptions(**OPTIONS)):
            await stop.wait()
    finally:
        await engine.dispose()


# --- the pipeline in the parent --------------------------------------------------------------
class Feeder:
    """Items through the real pipeline; their cards queued for every editor chat."""

    def __init__(self, engine: Any, urls: dict[str, str] | None = None,
                 fetcher: Any = None) -> None:
        from monitor.pipeline.run import Pipeline
        from monitor.store import outbox as outbox_store

        async def notify(items: list[Item]) -> None:  # what Outbox.notify writes
            await outbox_store.enqueue(engine, [i.id for i in items if i.id], list(CHATS))

        self.engine = engine
        self.sources = sources(urls)
        self.pipeline = Pipeline(engine=engine, sources=self.sources, notify=notify,
                                 fetcher=fetcher)
        self.count = 0

    async def add(self, title: str) -> list[Item]:
        from monitor.pipeline.run import process

        self.count += 1
        now = datetime.now(timezone.utc)
        item = Item(source="wire", url=f"https://wire.example.org/{self.count}", title=title,
                    summary="Moscow and Beijing, as the wire reports it.", lang="en",
                    published=now)
        return await process(self.pipeline, self.sources["wire"], [item])

    async def poll(self, source_id: str) -> Any:
        from monitor.pipeline.run import run_source

        return await run_source(self.pipeline, self.sources[source_id])


# --- what became of every card ---------------------------------------------------------------
@dataclass
class Ledger:
    """Outbox rows (item, chat) against the messages each chat holds."""

    rows: list[dict[str, Any]]
    messages: dict[int, list[dict[str, Any]]]

    @classmethod
    async def read(cls, engine: Any, api: BotAPIServer) -> Ledger:
        from monitor.store import outbox as outbox_store

        return cls(await outbox_store.outbox_rows(engine),
                   {chat: api.bot_messages(chat) for chat in CHATS})

    def of(self, items: set[int]) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["item_id"] in items]

    def delivered(self, row: dict[str, Any]) -> bool:
        """Sent and in the chat (a merged row: its story's card is there)."""
        if row["state"] not in DONE:
            return False
        held = {m["message_id"]: m for m in self.messages[row["chat_id"]]}
        message = held.get(row["message_id"])
        return message is not None and (row["state"] == "merged"
                                        or card_item(message) == row["item_id"])

    def duplicates(self, rows: list[dict[str, Any]]) -> int:
        per_chat = {chat: Counter(card_item(m) for m in ms) for chat, ms in self.messages.items()}
        return sum(max(0, per_chat[r["chat_id"]][r["item_id"]] - 1) for r in rows)

    def in_order(self, rows: list[dict[str, Any]]) -> bool:
        """Each chat's cards appeared (first time) in the order they were queued."""
        for chat, messages in self.messages.items():
            queued = {r["item_id"]: r["id"] for r in rows if r["chat_id"] == chat}
            shown = [queued[i] for i in dict.fromkeys(card_item(m) for m in messages)
                     if i in queued]
            if shown != sorted(shown):
                return False
        return True

    def settled(self) -> bool:
        return all(r["state"] in (*DONE, "failed") for r in self.rows)


async def until(check: Any, what: str, timeout: float = WAIT) -> Any:
    """`check()`'s first truthy value (it may be a coroutine); TimeoutError after `timeout`."""
    deadline = time.monotonic() + timeout
    while not (value := await _awaited(check())):
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
    return value


async def _awaited(value: Any) -> Any:
    return await value if asyncio.iscoroutine(value) else value


async def drained(engine: Any, api: BotAPIServer) -> Ledger:
    """The ledger once every row is sent, merged or failed (bounded by WAIT)."""
    async def settled() -> Ledger | None:
        ledger = await Ledger.read(engine, api)
        return ledger if ledger.settled() else None

    try:
        return await until(settled, "every card to be handled")
    except TimeoutError:
        return await Ledger.read(engine, api)  # what was not handled counts as lost


# --- the outage run -----------------------------------------------------------------------------
# The refusing chat comes early: the worker serves the chats in turn, so after an outage it
# reaches the second chat only once the first one's backlog is out.
PHASES = (("Telegram up", "up", 2.0), ("chat kicked the bot (403)", "kicked", 3.0),
          ("unreachable (connection refused)", "down", 4.0), ("5xx (502 Bad Gateway)", "5xx", 3.0),
          ("a send hangs, never answered", "hang", 7.0), ("429, retry_after 1 s", "429", 3.0),
          ("kill -9 mid-request", "kill", 3.0))


@dataclass
class Phase:
    name: str
    mode: str
    seconds: float
    items: set[int] = field(default_factory=set)  # items stored while the phase ran
    queued: int = 0
    sent_during: int = 0  # of its cards, delivered before the phase ended
    delivered: int = 0
    lost: int = 0
    duplicates: int = 0
    kills: int = 0
    cut: set[tuple[int, int]] = field(default_factory=set)  # (chat, item) in flight at a kill
    allowed: int = 0  # duplicates allowed: its cards that a kill cut off mid-request
    in_order: bool = True

    def failures(self) -> list[str]:
        checks = {"lost": self.lost == 0, "duplicates": self.duplicates <= self.allowed,
                  "order": self.in_order}
        return [f"{self.mode}: {name}" for name, ok in checks.items() if not ok]


@dataclass
class OutageRun:
    phases: list[Phase]
    total: Phase
    announced: int = 0  # messages in the other chat saying the kicked chat refuses the bot
    logged: bool = False  # the refusal in the bot's log
    hung: int = 0  # requests the server never answered
    tracebacks: Counter[str] = field(default_factory=Counter)  # by logger
    seconds: float = 0.0

    def failures(self) -> list[str]:
        ours = sum(n for logger, n in self.tracebacks.items() if not logger.startswith("telegram"))
        return [f for p in (*self.phases, self.total) for f in p.failures()] + (
            [] if self.announced == 1 and self.logged else ["refusal not announced once"]) + (
            [f"{ours} tracebacks from monitor"] if ours else [])


async def run_outages(workdir: Path, every: float = 0.4, seed: int = 1,
                      phases: tuple[tuple[str, str, float], ...] = PHASES) -> OutageRun:
    """The phases in turn while an item is stored every `every` seconds; then Telegram is up
    again until every card is handled. Each phase's cards are counted once all is drained."""
    from durability import headlines

    from monitor.store.db import open_database

    began = time.monotonic()
    workdir.mkdir(parents=True, exist_ok=True)
    db_url = f"sqlite:///{workdir / 'outages.sqlite3'}"
    engine = await open_database(db_url)
    titles = iter(h["title"] for h in headlines(400, seed))
    run = OutageRun([Phase(*p) for p in phases], Phase("total", "total", 0.0))
    try:
        with FaultyBotAPI() as api:
            bot = BotProcess(db_url, api, workdir / "outages-bot.log")
            bot.start()
            try:
                await bot.started(0)
                feeder = Feeder(engine)
                for phase in run.phases:
                    await _phase(phase, api, bot, feeder, titles, every)
                    ledger = await Ledger.read(engine, api)
                    phase.sent_during = sum(ledger.delivered(r) for r in ledger.of(phase.items))
                api.set_mode("up")
                ledger = await drained(engine, api)
            finally:
                api.set_mode("up")
                bot.stop()
            run.hung, run.tracebacks = api.hung, bot.tracebacks()
            run.logged = "refuses the bot" in bot.log.read_text(encoding="utf-8")
            run.announced = sum("refuses the bot" in m.get("text", "") and str(KICKED) in
                                m.get("text", "") for m in api.bot_messages(CHAT))
    finally:
        await engine.dispose()
    cut = {key for p in run.phases for key in p.cut}
    for phase in (*run.phases, run.total):
        rows = ledger.rows if phase is run.total else ledger.of(phase.items)
        phase.queued, phase.delivered = len(rows), sum(ledger.delivered(r) for r in rows)
        phase.lost = phase.queued - phase.delivered
        phase.duplicates, phase.in_order = ledger.duplicates(rows), ledger.in_order(rows)
        phase.allowed = sum((r["chat_id"], r["item_id"]) in cut for r in rows)
    run.total.sent_during = sum(p.sent_during for p in run.phases)
    run.total.kills = sum(p.kills for p in run.phases)
    run.total.seconds = sum(p.seconds for p in run.phases)
    run.seconds = time.monotonic() - began
    return run


async def _phase(phase: Phase, api: FaultyBotAPI, bot: BotProcess, feeder: Feeder,
                 titles: Any, every: float) -> None:
    """One phase: its fault on, an item stored every `every` seconds; a kill phase kills the
    bot once while a send is in flight at the server (which still delivers it) and starts it
    again."""
    api.set_mode("up" if phase.mode == "kill" else phase.mode)
    killing = asyncio.create_task(_kill_mid_request(phase, api, bot, feeder)) \
        if phase.mode == "kill" else None
    began = time.monotonic()
    while time.monotonic() < began + phase.seconds or (killing is not None and not killing.done()):
        phase.items |= {i.id for i in await feeder.add(next(titles)) if i.id is not None}
        await asyncio.sleep(every)
    if killing is not None:
        await killing
    phase.seconds = time.monotonic() - began  # a kill phase lasts until the bot is back


async def _kill_mid_request(phase: Phase, api: FaultyBotAPI, bot: BotProcess,
                            feeder: Feeder) -> None:
    from monitor.store import outbox as outbox_store

    api.delays["sendMessage"] = 1.0  # a send takes a second: the kill lands inside one
    try:
        await until(lambda: api.in_flight > 0, "a send in flight")
        bot.kill()
        phase.kills += 1
        phase.cut |= {(r["chat_id"], r["item_id"])
                      for r in await outbox_store.outbox_rows(feeder.engine)
                      if r["state"] == "sending"}
        await until(lambda: api.in_flight == 0, "the server to finish the killed send")
    finally:
        api.delays.pop("sendMessage", None)
    starts = len(api.calls_of("setMyCommands"))
    bot.start()
    await bot.started(starts)


if __name__ == "__main__":
    asyncio.run(_serve_bot(sys.argv[1], sys.argv[2]))
