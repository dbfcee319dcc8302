"""`monitor demo`: the whole system on recorded responses, with no network and no token.

The recorded and synthetic responses the adapter tests use (`tests/fixtures/adapters/*.json`,
reading `../shared/fixtures/feeds` when it is beside the checkout) are served from a replay
server on 127.0.0.1, each at its original path under a per-host prefix, so relative links and
follow-up requests (Xinhua's datasource JSON) resolve on the replay server too. Every source that
has such a response is pointed there, plus one source that always answers 500. The real daemon
then runs on a compressed clock (intervals ÷ 60) into a throw-away database, and each candidate
is printed as the editor would see its Telegram card. It stops by itself.
"""

from __future__ import annotations

import html
import json
import re
import tempfile
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import click

from monitor.config import Config
from monitor.config.settings import Settings
from monitor.models import Item, Source
from monitor.replay.server import ReplayServer, Route

ROOT = Path(__file__).resolve().parents[2]
CASES = ROOT / "tests" / "fixtures" / "adapters"
LOCAL = ROOT / "tests" / "fixtures" / "feeds"
SHARED = ROOT.parent / "shared" / "fixtures" / "feeds"
SPEED = 60.0  # compressed clock: a 30-minute interval passes in 30 seconds
RUN_FOR = 45.0
_TYPES = {".xml": "application/xml", ".json": "application/json", ".html": "text/html",
          ".htm": "text/html", ".shtml": "text/html", ".gz": "application/gzip"}


def demo_routes(server: ReplayServer) -> dict[str, list[str]]:
    """Serve every usable recorded case; return source id → the URLs to poll it at."""
    polled: dict[str, list[str]] = {}
    for path in sorted(CASES.glob("*.json")):
        case = json.loads(path.read_text(encoding="utf-8"))
        body = _body(case["body"])
        if body is None or "error" in case or not case.get("items"):
            continue
        parts = urlsplit(case["url"])
        route = f"/{parts.hostname}{parts.path or '/'}" + (f"?{parts.query}" if parts.query else "")
        server.route(route, Route(body=body, headers={
            "Content-Type": _TYPES.get(body.suffix, "application/octet-stream")}))
        polled.setdefault(case["source"], []).append(server.url(route))
    return polled


def _body(spec: str) -> Path | None:
    kind, _, rel = spec.partition(":")
    path = (SHARED if kind == "shared" else LOCAL) / rel
    return path if path.exists() and path.suffix != ".gz" else None


def demo_sources(sources: dict[str, Source], polled: dict[str, list[str]],
                 broken_url: str) -> dict[str, Source]:
    """The configured sources pointed at the replay server, on the compressed clock."""
    out = {"broken_demo": Source(id="broken_demo", name="A source that answers 500",
                                 adapter="rss", urls=(broken_url,), language="en",
                                 interval=timedelta(minutes=5), outlet="Broken")}
    for sid, urls in polled.items():
        if sid in sources:
            src = sources[sid]
            # every replayed source shares one host, so no per-host politeness delay
            out[sid] = replace(src, urls=tuple(urls), enabled=True,
                               options={**src.options, "host_delay": 0})
    return out


def printer(config: Config):  # -> async (items) -> None
    """The notifier: each candidate printed as its Telegram card would read."""
    from monitor.bot.render import card_text

    settings, sources, topics = config.settings, config.sources, config.topics

    async def show(items: list[Item]) -> None:
        for item in items:
            source = sources.get(item.source)
            card = card_text(item, topics, settings.zone, source.label if source else item.source)
            click.echo("┌" + "─" * 78)
            for line in _plain(card).splitlines():
                click.echo(f"│ {line}")
            click.echo("└" + "─" * 78)

    return show


def _plain(card: str) -> str:
    """Telegram HTML as terminal text: links shown after their title."""
    card = re.sub(r'<a href="([^"]+)">(.*?)</a>', r"\2\n  \1", card)
    return html.unescape(re.sub(r"<[^>]+>", "", card))


async def run_demo(settings: Settings, run_for: float = RUN_FOR) -> int:
    """Serve, run the daemon until `run_for` seconds have passed, print a summary."""
    from monitor.adapters import ADAPTERS
    from monitor.config import load_config
    from monitor.daemon.run import run_daemon

    if not CASES.is_dir():
        click.echo("monitor demo: needs the source checkout (tests/fixtures is absent)", err=True)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="monitor-demo-"))
    settings = settings.model_copy(update={
        "database_url": "", "monitor_storage": workdir, "telegram_bot_token": "",
        "monitor_host_delay": 0.0, "monitor_retries": 0, "monitor_http_addr": "127.0.0.1:0",
        "monitor_time_scale": SPEED,
        "monitor_max_age": "0",  # the recordings are years old: show them all as candidates
        "monitor_sources": _checkout_file(settings.monitor_sources),
        "monitor_topics": _checkout_file(settings.monitor_topics)})
    with ReplayServer() as server:
        server.route("/broken/feed.xml", Route(status=500, body=b"Internal Server Error"))
        polled = demo_routes(server)
        config = load_config(settings, ADAPTERS)
        sources = demo_sources(config.sources, polled, server.url("/broken/feed.xml"))
        config = replace(config, sources=sources)
        click.echo(f"monitor demo: {len(sources)} sources replayed from {server.origin} "
                   f"(clock ×{SPEED:g}), database in {workdir}; stops after {run_for:.0f}s\n")
        code = await run_daemon(config, notify=printer(config), stop_after=run_for)
    await _summary(settings, sources)
    click.echo(f"\nmonitor demo: done. Look around with MONITOR_STORAGE={workdir} "
               f"monitor items / monitor export --week …")
    return code


async def _summary(settings: Settings, sources: dict[str, Source]) -> None:
    """What the editor's /sources would say at the end, and how many items were kept back."""
    from monitor.store import health as health_store
    from monitor.store import items as item_store
    from monitor.store.db import open_database

    engine = await open_database(settings.db_url)
    try:
        health = await health_store.all_health(engine)
        stored = await item_store.find_items(engine)
    finally:
        await engine.dispose()
    relevant = sum(1 for i in stored if i.bucket != "off_topic")
    click.echo(f"\n{len(stored)} items stored: {relevant} candidates posted, "
               f"{len(stored) - relevant} judged off-topic and kept back.")
    for sid in sorted(sources):
        h = health.get(sid)
        state = ("not polled" if h is None else f"ok, {h.items_last_poll} items"
                 if not h.consecutive_errors else
                 f"failing ×{h.consecutive_errors}: {h.last_error_kind} (backing off)")
        click.echo(f"  {sid:<18} {state}")


def _checkout_file(path: Path) -> Path:
    """The configured file, or the checkout's own when run from another directory."""
    return path if path.exists() else ROOT / path.name
