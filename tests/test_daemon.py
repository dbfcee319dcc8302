"""`monitor run` as a subprocess against a local replay server and the test Bot API server.

Candidates reach Telegram within a poll interval, /readyz answers 200, a source answering 500
is backed off and announced once, and SIGTERM exits 0 within 8 s with nothing lost. Bad
start-up configuration is one line and exit code 2. Intervals run on a compressed clock
(MONITOR_TIME_SCALE), so a 1-minute interval passes in 2 seconds.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

import pytest
from conftest import FIXTURES, ROOT
from telegram_server import BotAPIServer

from monitor.bootstrap import load
from monitor.daemon.run import log_alert
from monitor.replay.faults import closed_port
from monitor.replay.server import ReplayServer, Route

TOKEN = "123456:TEST-token-for-the-daemon-tests"
CHAT, EDITOR = -100777, 4242
FEED = (FIXTURES / "feeds" / "pipeline" / "world.xml").read_bytes()


def wait_for(predicate, what: str, timeout: float = 120.0):  # returns as soon as it holds
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def write_sources(path: Path, urls: dict[str, str]) -> None:
    lines = ["sources:"]
    for sid, url in urls.items():
        lines += [f"  - id: {sid}", f"    name: Source {sid}", "    adapter: rss",
                  f"    urls: ['{url}']", "    interval: 1m", "    timezone: Europe/Moscow"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def daemon_env(tmp_path: Path, bot: BotAPIServer | None, port: int, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "MONITOR_"))}
    env.pop("DATABASE_URL", None)
    env.update(MONITOR_SOURCES=str(tmp_path / "sources.yaml"), MONITOR_STORAGE=str(tmp_path),
               MONITOR_HTTP_ADDR=f"127.0.0.1:{port}", MONITOR_TIME_SCALE="30",
               MONITOR_PAUSE_AFTER="2", MONITOR_HOST_DELAY="0", MONITOR_RETRIES="0",
               MONITOR_EXPORT_AT="", TELEGRAM_MIN_INTERVAL="0.05",
               MONITOR_MAX_AGE="0")  # the recorded feeds are years old: post them all
    if bot is not None:
        env.update(TELEGRAM_BOT_TOKEN=bot.token, TELEGRAM_API_BASE_URL=bot.base_url,
                   TELEGRAM_EDITOR_CHAT_IDS=str(CHAT), TELEGRAM_ALLOWED_USER_IDS=str(EDITOR))
    env.update(extra)
    return env


def start(env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "monitor", "run"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def stored_items(env: dict) -> list[dict]:
    out = subprocess.run([sys.executable, "-m", "monitor", "items", "--json"], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return [json.loads(line) for line in out.stdout.splitlines()]


def cards(bot: BotAPIServer) -> list[dict]:
    return [m for m in bot.bot_messages(CHAT) if m.get("reply_markup")]


def test_daemon_posts_candidates_backs_off_a_broken_source_and_stops_cleanly(tmp_path):
    port = closed_port()
    with ReplayServer() as feeds, BotAPIServer(TOKEN) as bot:
        feeds.route("/good.xml", Route(body=FEED, headers={"Content-Type": "application/rss+xml",
                                                            "ETag": '"w1"'}))
        feeds.route("/500.xml", Route(status=500, body=b"Internal Server Error"))
        write_sources(tmp_path / "sources.yaml", {"good": feeds.url("/good.xml"),
                                                  "broken": feeds.url("/500.xml")})
        env = daemon_env(tmp_path, bot, port)
        proc = start(env)
        try:
            assert wait_for(lambda: http_status(f"http://127.0.0.1:{port}/readyz") == 200,
                            "/readyz to answer 200")
            wait_for(lambda: feeds.hits("/good.xml"), "the first poll")
            wait_for(lambda: cards(bot), "candidate cards in the editor chat")
            wait_for(lambda: len(feeds.hits("/500.xml")) >= 3, "three polls of the broken source")
            metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read()
            assert b'monitor_polls_total{outcome="http_5xx",source="broken"}' in metrics
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0  # a margin load cannot eat; it takes < 1 s idle
        finally:
            if proc.poll() is None:
                proc.kill()
        stderr = proc.stderr.read()
        assert "Traceback" not in stderr, stderr[-3000:]
        # The backoff as the daemon scheduled it (its own clock, not gaps seen at the server):
        delays = [float(m) for m in re.findall(r"backoff source=broken .*?next_poll_in=(\d+)s",
                                               stderr)]
        assert len(delays) >= 2 and delays[1] > delays[0], f"backoff delays {delays}"
        alerts = [m["text"] for m in bot.bot_messages(CHAT) if "paused after" in m.get("text", "")]
        assert len(alerts) == 1 and "Source broken" in alerts[0], alerts
        items = stored_items(env)
        relevant = [i for i in items if i.get("bucket") != "off_topic"]
        assert len(items) == 3 and relevant
        texts = [m["text"] for m in cards(bot)]
        for item in relevant:
            assert sum(item["title"] in t for t in texts) == 1, f"posted once: {item['title']}"
        assert len(cards(bot)) == len(relevant), "each candidate posted exactly once"


@pytest.mark.parametrize("change, message", [
    ({"MONITOR_HTTP_ADDR": "localhost"}, "MONITOR_HTTP_ADDR"),
    ({"DATABASE_URL": f"postgresql://nobody@127.0.0.1:{closed_port()}/none"}, "DATABASE_URL"),
    ({"TELEGRAM_BOT_TOKEN": "654321:REJECTED-token-for-the-daemon-tests"}, "TELEGRAM_BOT_TOKEN"),
])
def test_bad_start_up_configuration_is_one_line_and_exit_2(tmp_path, change, message):
    with ReplayServer() as feeds, BotAPIServer(TOKEN) as bot:
        feeds.route("/good.xml", Route(body=FEED))
        write_sources(tmp_path / "sources.yaml", {"good": feeds.url("/good.xml")})
        proc = start(daemon_env(tmp_path, bot, closed_port(), **change))
        try:
            _, stderr = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
    lines = [line for line in stderr.splitlines() if line.startswith("monitor: ")]
    assert proc.returncode == 2, stderr[-2000:]
    assert len(lines) == 1 and message in lines[0], stderr[-2000:]
    assert "Traceback" not in stderr


async def test_weekly_draft_job_writes_and_sends_the_export(engine, tmp_path):
    from monitor.config.settings import load_settings
    from monitor.daemon.http import Readiness
    from monitor.daemon.run import Daemon
    from monitor.models import Item
    from monitor.pipeline.run import Pipeline
    from monitor.store import items as item_store

    settings = load_settings({"MONITOR_STORAGE": str(tmp_path), "MONITOR_TIMEZONE": "UTC",
                              "MONITOR_TOPICS": str(ROOT / "topics.yaml")})
    await item_store.insert_new(engine, [Item(
        source="tass", url="https://tass.com/politics/1", title="Lavrov meets Wang Yi",
        key="k1", bucket="political_diplomatic", published=datetime.now(timezone.utc))])
    sent: list[tuple[list[Path], str]] = []

    async def send_files(paths, caption):
        sent.append((paths, caption))

    daemon = Daemon(load(settings), Pipeline(engine=engine, sources={}), log_alert,
                    Readiness(engine), send_files)
    await daemon.weekly_export()
    (paths, caption), = sent
    assert {p.suffix for p in paths} == {".md", ".docx"}
    assert all(p.parent == tmp_path / "exports" and p.stat().st_size > 0 for p in paths)
    assert "Lavrov meets Wang Yi" in paths[0].read_text(encoding="utf-8")
    assert caption.startswith("Draft for ")


async def test_a_quiet_source_is_announced_once(engine, tmp_path):
    from datetime import timedelta

    from monitor.config.settings import load_settings
    from monitor.daemon.http import Readiness
    from monitor.daemon.run import Daemon
    from monitor.models import Item, Source
    from monitor.pipeline.run import Pipeline
    from monitor.store import health as health_store
    from monitor.store import items as item_store

    source = Source(id="wire", name="A wire", adapter="rss", urls=("https://x.org/feed",),
                    language="en", interval=timedelta(minutes=30),
                    options={"quiet_after": "1d"})
    old = datetime.now(timezone.utc) - timedelta(days=4)
    await item_store.insert_new(engine, [Item(source="wire", url="https://x.org/1", title="t",
                                              key="q1", first_seen=old)])
    await health_store.record_success(engine, "wire", items=1, new=0, validators={})
    said: list[str] = []

    async def announce(text):
        said.append(text)

    daemon = Daemon(load(load_settings({"MONITOR_STORAGE": str(tmp_path),
                                        "MONITOR_SOURCES": str(ROOT / "sources.yaml")})),
                    Pipeline(engine=engine, sources={"wire": source}), announce,
                    Readiness(engine), None)
    await daemon.check_quiet()
    await daemon.check_quiet()
    assert len(said) == 1 and "A wire has published nothing new" in said[0]
    await health_store.record_success(engine, "wire", items=2, new=1, validators={})
    assert not (await health_store.get_health(engine, "wire")).quiet_alerted, "re-armed"
