"""Three `monitor run` processes on one PostgreSQL, against the replay server and the test Bot
API server: each source is polled about once per interval (not three times), each card is
posted once, and when one daemon is killed with SIGKILL while it sends a card, its sources go on
being polled and that card is posted by the others once its lease (MONITOR_LEASE, 3 s here) has
expired.

The Bot API server here answers a getUpdates that arrives while another one is open with 409
Conflict, as Telegram does, and drops a sendMessage whose sender hung up before it was answered
(a send cut off before Telegram took it; one killed after Telegram took it can repeat, which
no store can prevent). Intervals run on a compressed clock (MONITOR_TIME_SCALE); the schema and
the seed classifier are made once before the daemons start.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, _fresh_postgres_database, postgres_admin_url
from telegram_server import BotAPIServer, _Handler
from test_daemon import wait_for

from monitor.replay.faults import closed_port
from monitor.replay.server import ReplayServer, Route

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

TOKEN = "123456:TEST-token-for-the-multi-daemon-test"
CHAT, EDITOR = -100777, 4242
SEND_DELAY = 1.0  # seconds the server takes over each sendMessage: cards are often in flight
SOURCES = ("alpha", "beta", "gamma", "delta")
TITLES = [
    "Lavrov and Wang Yi discuss Ukraine settlement in Beijing",
    "Russia and China hold joint naval exercise in the Sea of Japan",
    "Gazprom signs Power of Siberia 2 pipeline contract with CNPC",
    "Putin receives Chinese defence minister at the Kremlin",
    "Rosatom to build two more reactors at Tianwan plant in China",
    "Russian and Chinese bombers patrol over the Pacific",
    "Yuan share in Russia China trade settlements rises above 90 percent",
    "Shoigu meets Chinese security chief on Eurasian stability",
    "Mishustin and Li Qiang agree on Arctic shipping cooperation",
    "SCO summit: Moscow and Beijing back multipolar world order",
    "Russian wheat exports to China reach record volume",
    "China's envoy Li Hui tours Moscow and Kyiv with peace plan",
    "Roscosmos and CNSA sign lunar station agreement",
    "Russian oil deliveries to Chinese refiners climb in March",
    "Xi Jinping congratulates Putin on inauguration",
    "Sanctions: Chinese banks tighten payments from Russian clients",
]


def feed(titles: list[str], tag: str) -> bytes:
    now = datetime.now(timezone.utc)
    entries = "".join(
        f"<item><title>{t}</title><link>https://news.example.org/{tag}/{n}</link>"
        f"<guid>{tag}-{n}</guid><description>{t}. Officials said the talks would go on."
        f"</description><pubDate>{format_datetime(now - timedelta(minutes=n))}</pubDate></item>"
        for n, t in enumerate(titles))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>{tag}</title><link>https://news.example.org/</link>"
            f"<description>{tag}</description>{entries}</channel></rss>").encode()


_peer = threading.local()


class _PeerHandler(_Handler):
    def do_POST(self) -> None:  # noqa: N802
        _peer.connection, _peer.port = self.connection, self.client_address[1]
        super().do_POST()

    do_GET = do_POST  # noqa: N815


class TelegramLike(BotAPIServer):
    """One getUpdates at a time (409 otherwise); sends that lose their sender are dropped."""

    def __init__(self, token: str) -> None:
        super().__init__(token)
        self._httpd.RequestHandlerClass = _PeerHandler
        self.conflicts = 0
        self.updates_polls = 0
        self.dropped: list[str] = []
        self.sending: dict[int, str] = {}  # client port → text of a sendMessage in flight
        self._open_polls: dict[int, socket.socket] = {}  # client port → its connection
        self._lock = threading.Lock()

    def handle(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if method == "getUpdates":  # one a client gave up (a stopped poller) is no conflict
            port, connection = _peer.port, _peer.connection
            with self._lock:
                if any(not _hung_up(c) for p, c in self._open_polls.items() if p != port):
                    self.conflicts += 1
                    return 409, {"ok": False, "error_code": 409, "description":
                                 "Conflict: terminated by other getUpdates request"}
                self._open_polls[port] = connection
                self.updates_polls += 1
            try:
                return super().handle(method, params)
            finally:
                with self._lock:
                    self._open_polls.pop(port, None)
        if method == "sendMessage":
            port, connection = _peer.port, _peer.connection
            with self._lock:
                self.sending[port] = params.get("text", "")
            try:
                deadline = time.monotonic() + SEND_DELAY
                while time.monotonic() < deadline:
                    if _hung_up(connection):
                        with self._lock:
                            self.dropped.append(params.get("text", ""))
                        return 499, {"ok": False, "error_code": 499, "description": "gone"}
                    time.sleep(0.02)
            finally:
                with self._lock:
                    self.sending.pop(port, None)
        return super().handle(method, params)

    def in_flight(self) -> list[int]:
        with self._lock:
            return list(self.sending)


def _hung_up(connection: socket.socket) -> bool:
    try:
        return connection.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def pid_of_port(port: int, pids: list[int]) -> int | None:
    """Which of `pids` owns the local TCP port (a client's end of a connection)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if int(parts[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{parts[9]}]")
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                        return pid
                except OSError:
                    continue
        except OSError:
            continue
    return None


def query(url: str, sql: str) -> list[tuple]:
    async def run() -> list[tuple]:
        import asyncpg

        conn = await asyncpg.connect(url)
        try:
            return [tuple(r) for r in await conn.fetch(sql)]
        finally:
            await conn.close()

    return asyncio.run(run())


async def migrated(url: str) -> None:
    """The schema made before the daemons start (three first starts at once would race on
    creating it)."""
    from monitor.store.db import open_database

    await (await open_database(url)).dispose()


def fitted_seed_model(storage: Path) -> None:
    """The seed classifier every daemon would fit at start-up, fitted once and saved."""
    from monitor.config.topics import load_topics
    from monitor.learn.model import save_model
    from monitor.learn.train import seed_model
    from monitor.pipeline.classify import default_model_path

    save_model(seed_model(load_topics(ROOT / "topics.yaml")), default_model_path(storage))


def test_three_daemons_share_one_database(tmp_path):
    admin = postgres_admin_url()
    if not admin:
        pytest.skip("no PostgreSQL server: set MONITOR_TEST_POSTGRES_URL (.ci/run starts one)")
    database = asyncio.run(_fresh_postgres_database(admin))
    asyncio.run(migrated(database))
    fitted_seed_model(tmp_path / "storage")  # once, not in each daemon (a minute of CPU each)
    with ReplayServer() as feeds, TelegramLike(TOKEN) as bot:
        lines = ["sources:"]
        for n, sid in enumerate(SOURCES):
            feeds.route(f"/{sid}.xml", Route(body=feed(TITLES[n * 3:n * 3 + 3], sid),
                                             headers={"Content-Type": "application/rss+xml"},
                                             conditional=False))
            lines += [f"  - id: {sid}", f"    name: Source {sid}", "    adapter: rss",
                      f"    urls: ['{feeds.url(f'/{sid}.xml')}']", "    interval: 1m",
                      "    timezone: Europe/Moscow"]
        (tmp_path / "sources.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
        procs, logs = [], []
        base = {k: v for k, v in os.environ.items()
                if not k.startswith(("TELEGRAM_", "MONITOR_", "DATABASE_URL"))}
        base.update(DATABASE_URL=database, MONITOR_SOURCES=str(tmp_path / "sources.yaml"),
                    MONITOR_TIME_SCALE="120", MONITOR_LEASE="3", MONITOR_LOG_LEVEL="DEBUG",
                    MONITOR_HOST_DELAY="0", MONITOR_RETRIES="0", MONITOR_EXPORT_AT="",
                    MONITOR_MAX_AGE="0", TELEGRAM_MIN_INTERVAL="0.05",
                    TELEGRAM_DIGEST_AT="1000", TELEGRAM_BOT_TOKEN=bot.token,
                    TELEGRAM_API_BASE_URL=bot.base_url, TELEGRAM_EDITOR_CHAT_IDS=str(CHAT),
                    TELEGRAM_ALLOWED_USER_IDS=str(EDITOR))
        try:
            for n in range(3):  # one storage volume, as compose gives them
                env = dict(base, MONITOR_STORAGE=str(tmp_path / "storage"),
                           MONITOR_HTTP_ADDR=f"127.0.0.1:{closed_port()}")
                logs.append(tmp_path / f"d{n}.log")
                with logs[-1].open("w") as err:
                    procs.append(subprocess.Popen([sys.executable, "-m", "monitor", "run"],
                                                  cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                                  stderr=err, text=True))
            pids = [p.pid for p in procs]

            def owners() -> dict[str, int]:  # source → pid of the process that polls it
                rows = query(database, "SELECT source, poll_owner FROM source_health")
                return {s: int(o.rsplit("-", 2)[1]) for s, o in rows if o and s in SOURCES}

            wait_for(lambda: all(feeds.hits(f"/{s}.xml") for s in SOURCES), "every source polled")
            wait_for(lambda: len(bot.calls_of("sendMessage")) >= 2, "cards being posted")

            def victim_sending() -> int | None:  # a process with sources, sending a card now
                polling = set(owners().values())
                for port in bot.in_flight():
                    pid = pid_of_port(port, pids)
                    if pid in polling:
                        return pid
                return None

            victim = wait_for(victim_sending, "a polling daemon in the middle of a send")
            os.kill(victim, signal.SIGKILL)
            killed_at = time.monotonic()
            theirs = [s for s, pid in owners().items() if pid == victim]
            hits_then = {s: len(feeds.hits(f"/{s}.xml")) for s in theirs}
            for n, sid in enumerate(theirs):  # news after the kill, on the victim's sources
                feeds.route(f"/{sid}.xml", Route(
                    body=feed(TITLES[12 + n:13 + n] + TITLES[SOURCES.index(sid) * 3:
                                                          SOURCES.index(sid) * 3 + 3], sid),
                    headers={"Content-Type": "application/rss+xml"}, conditional=False))
            procs[pids.index(victim)].wait(timeout=10)
            survivors = [p for p in procs if p.pid != victim]
            wait_for(lambda: bot.dropped, "the victim's card cut off")
            wait_for(lambda: all(len(feeds.hits(f"/{s}.xml")) >= hits_then[s] + 3
                                 for s in theirs), "the victim's sources polled by the others")
            wait_for(lambda: set(owners().values()) <= {p.pid for p in survivors},
                     "the victim's sources taken over")
            before = len(bot.bot_messages(CHAT))
            bot.command(CHAT, EDITOR, "/help")
            wait_for(lambda: len(bot.bot_messages(CHAT)) > before, "an answer to /help")

            def settled() -> bool:  # every card of a relevant item sent (or joined its story)
                rows = query(database, "SELECT o.state FROM outbox o JOIN items i "
                                       "ON i.id = o.item_id WHERE i.bucket <> 'off_topic'")
                return bool(rows) and all(s in ("sent", "merged") for (s,) in rows)

            wait_for(settled, "every card posted")
            assert time.monotonic() > killed_at
            for p in survivors:
                p.send_signal(signal.SIGTERM)
            for p in survivors:
                assert p.wait(timeout=30) == 0
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
    texts = [path.read_text(encoding="utf-8") for path in logs]
    for text in texts:
        assert "Traceback" not in text, text[-3000:]
    assert bot.conflicts == 0 and bot.updates_polls, "one process at a time polls for updates"
    # Each card once: every card message at the server is one `sent` outbox row, and back.
    sent = query(database, "SELECT item_id, message_id FROM outbox WHERE state = 'sent'")
    cards = [m for m in bot.bot_messages(CHAT) if m.get("reply_markup")]
    assert sorted(m["message_id"] for m in cards) == sorted(mid for _, mid in sent)
    assert len({item for item, _ in sent}) == len(sent)
    assert any(text in m["text"] for text in bot.dropped for m in cards), \
        "the card the victim was sending was posted by another daemon"
    # About once per interval: all three fired on every source, one of them polled it.
    counted = {}
    for sid in SOURCES:
        hits = len(feeds.hits(f"/{sid}.xml"))
        fires = [len(re.findall(rf"poll source={sid} outcome=(?:ok|\"skipped)", t))
                 for t in texts]
        counted[sid] = {"requests": hits, "fires per daemon": fires}
        assert hits <= 1.5 * max(fires) + 2, (sid, hits, fires)
        assert sum(fires) >= 1.5 * hits, (sid, hits, fires)
    print(json.dumps({"sources": counted, "cut off": len(bot.dropped), "cards": len(cards)}))
