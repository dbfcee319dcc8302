"""TASS (tass.com, tass.ru): the RSS feed, with the JSON section API as a fallback.

The feed wraps `<guid>`/`<link>` in CDATA and states `+0300` offsets; feedparser reads both.
When the feed fails (TASS has served bot walls to non-browsers), `poll` asks the section API
that tass.com's own section pages use: POST `{"sectionId": N, "limit": 20, "type": "all"}` to
`options.api_url`, one request per `options.sections` entry; the reply is `newsList[]` with
`title`, `lead`, `link` (relative) and `date` (a unix timestamp). `parse` reads either body,
so a saved API reply can be imported like a feed.

Options: `api_url` (the section API), `sections` ({name: section id}).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from monitor.adapters import rss
from monitor.adapters.base import parse_in_thread
from monitor.adapters.helpers import absolutize, decode, json_list
from monitor.errors import FetchError, ParseError
from monitor.models import Get, Item, RawResponse, Source
from monitor.text import clean_text, html_to_text

API_LIMIT = 20
JSON_START = (b"{", b"[")
NEWS_LIST = "newsList"


def parse(raw: RawResponse, source: Source) -> list[Item]:
    """Items of an RSS body or of a section-API JSON reply (told apart by the first byte)."""
    if raw.content.lstrip()[:1] in JSON_START:
        return api_items(raw, source)
    feed = rss.parse_feed(raw)
    return [item for entry in feed.entries
            if (item := rss.entry_item(entry, raw, source, variant="tass:rss")) is not None]


def api_items(raw: RawResponse, source: Source) -> list[Item]:
    """The `newsList` of a section-API reply; entries without title or link are skipped."""
    news = json_list(decode(raw), raw.url, NEWS_LIST)
    return [item for entry in news if (item := _api_item(entry, raw, source)) is not None]


def _api_item(entry: Any, raw: RawResponse, source: Source) -> Item | None:
    if not isinstance(entry, dict):
        return None
    title = clean_text(str(entry.get("title") or ""))
    link = str(entry.get("link") or "").strip()
    if not title or not link:
        return None
    url = absolutize(link, raw.url)
    return Item(source=source.id, url=url, title=title,
                summary=html_to_text(str(entry.get("lead") or ""))[:rss.MAX_SUMMARY],
                published=_timestamp(entry.get("date")), lang=source.language,
                guid=url, variant="tass:api")


def _timestamp(value: Any) -> datetime | None:
    """A unix timestamp (number or digits) as aware UTC; None for anything else."""
    try:
        return datetime.fromtimestamp(int(value), tz=timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


async def poll(source: Source, get: Get) -> list[Item]:
    """The feed; when it cannot be fetched or read, the section API (if configured)."""
    try:
        items: list[Item] = []
        for url in source.urls:
            raw = await get(url)
            if not raw.not_modified:
                items.extend(await parse_in_thread(parse, raw, source))
        return items
    except (FetchError, ParseError):
        if not source.option("api_url") or not source.option("sections"):
            raise
        return await poll_api(source, get)


async def poll_api(source: Source, get: Get) -> list[Item]:
    """Every configured section through the API; fails only if no section gave items."""
    items: list[Item] = []
    failure: Exception | None = None
    for section_id in dict(source.option("sections")).values():
        body = {"sectionId": int(section_id), "limit": API_LIMIT, "type": "all"}
        try:
            raw = await get(source.option("api_url"), method="POST", json=body,
                            conditional=False)
            items.extend(await parse_in_thread(parse, raw, source))
        except (FetchError, ParseError) as exc:
            failure = exc
    if not items and failure is not None:
        raise failure
    return list({item.url: item for item in items}.values())
