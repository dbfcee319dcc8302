"""Kremlin (en.kremlin.ru, kremlin.ru): the Atom feed, the HTML listing and article pages.

Why its own adapter: the feed stamps `+04:00` on times that are Moscow wall-clock (Moscow has
been UTC+3 since 2014; the listing shows the same 15:20), so every time here is returned naive
and `normalize` reads it in the source's zone (Europe/Moscow). The site puts NBSPs after short
words in titles and text; `clean_text` turns them into plain spaces. The feed opens with an
`<?xml-stylesheet?>` processing instruction, which the feed parser tolerates.

`parse` dispatches on content (Atom feed, listing page, article page), so `monitor import`
takes any of the three. `poll` reads the feed and falls back to the HTML listing
(`options.listing_url`) when the feed fails, so a broken feed doesn't blind us.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from monitor.adapters import rss
from monitor.adapters.base import parse_in_thread
from monitor.adapters.helpers import (
    absolutize,
    decode,
    document,
    first_text,
    looks_like_feed,
    meta,
    parse_time,
    wallclock,
)
from monitor.errors import FetchError, NotAFeed, ParseError
from monitor.models import Get, Item, RawResponse, Source
from monitor.text import clean_text

log = logging.getLogger(__name__)

# Listing page (/events/president/news, /news/page/N, by-date/DD.MM.YYYY)
LISTING_ENTRY = "div.hentry"
LISTING_LINK = "h3.hentry__title a"
LISTING_TITLE = "span.entry-title"
LISTING_DATE = "time.published"
# The page's own path, from its other-language twin: a saved copy may be imported under another URL
SELF_PATH = "link[rel=alternate][hreflang][type='text/html']"
# Article page (/events/president/news/NNNNN)
ARTICLE_TITLE = ("h1.entry-title", "h1")
ARTICLE_DATE = "time.read__published"
ARTICLE_TIME = ".read__time"
ARTICLE_LEAD = ".read__lead"
CLOCK = re.compile(r"\b(\d{1,2}):(\d{2})\b")
# A saved mirror (wget --adjust-extension) appends ".html" to article links; the site's own
# article URLs have no extension, and the feed's ids don't either: drop it so both agree.
MIRROR_SUFFIX = re.compile(r"(/\d+)\.html$")


def parse(raw: RawResponse, source: Source) -> list[Item]:
    """Items of a feed, listing page or article page; NotAFeed for anything else."""
    text = decode(raw)
    if looks_like_feed(text):
        return feed_items(raw, source)
    root = document(text)
    if root.cssselect(LISTING_ENTRY):
        return listing_items(root, raw, source)
    if root.cssselect(ARTICLE_DATE):
        item = article_item(root, raw, source)
        return [item] if item else []
    raise NotAFeed(f"{raw.url}: neither a Kremlin feed nor a Kremlin listing or article page")


def feed_items(raw: RawResponse, source: Source) -> list[Item]:
    """The Atom feed's entries, with the stated (wrong) offset dropped."""
    items = []
    for entry in rss.parse_feed(raw).entries:
        item = rss.entry_item(entry, raw, source, variant="kremlin-atom")
        if item is None:
            continue
        item.published = wallclock(parse_time(entry.get("published") or entry.get("updated")))
        items.append(item)
    return items


def listing_items(root: Any, raw: RawResponse, source: Source) -> list[Item]:
    """One item per `div.hentry`; its date attribute plus the visible "…, 09:00"."""
    items = []
    base = page_url(root, raw.url)
    for entry in root.cssselect(LISTING_ENTRY):
        links = entry.cssselect(LISTING_LINK)
        if not links or not links[0].get("href"):
            continue
        title = first_text(links[0], LISTING_TITLE) or clean_text(links[0].text_content())
        stamp = entry.cssselect(LISTING_DATE)
        published = (moscow_time(stamp[0].get("datetime"), stamp[0].text_content())
                     if stamp else None)
        url = article_url(links[0].get("href"), base)
        items.append(Item(source=source.id, url=url, title=title, published=published,
                          lang=source.language, guid=url, variant="kremlin-listing"))
    return items


def article_item(root: Any, raw: RawResponse, source: Source) -> Item | None:
    """The article page as one item: title, date + time, lead (or meta description)."""
    title = first_text(root, *ARTICLE_TITLE) or meta(root, "og:title")
    if not title:
        return None
    stamp = root.cssselect(ARTICLE_DATE)[0]
    published = moscow_time(stamp.get("datetime"), first_text(root, ARTICLE_TIME))
    url = article_url(meta(root, "og:url") or raw.url, raw.url)
    summary = first_text(root, ARTICLE_LEAD) or meta(root, "description")
    return Item(source=source.id, url=url, title=title, summary=summary, published=published,
                lang=source.language, guid=url, variant="kremlin-article")


def moscow_time(date_attr: str | None, visible: str) -> datetime | None:
    """`datetime="2020-08-19"` plus the clock time in the visible text, naive (Moscow)."""
    day = parse_time(date_attr) if date_attr else None
    if day is None:
        return wallclock(parse_time(visible))
    clock = CLOCK.search(visible or "")
    if clock and int(clock.group(1)) < 24:
        return day.replace(hour=int(clock.group(1)), minute=int(clock.group(2)), tzinfo=None)
    return day.replace(hour=0, minute=0, tzinfo=None)


def page_url(root: Any, url: str) -> str:
    """The listing's own URL: the twin's path on this host (relative links resolve there)."""
    twins = [link.get("href", "") for link in root.cssselect(SELF_PATH)]
    path = urlsplit(twins[0]).path if twins else ""
    return urljoin(url, path) if path.startswith("/") else url


def article_url(href: str, base: str) -> str:
    """An article link made absolute, without a mirror's `.html`."""
    return MIRROR_SUFFIX.sub(r"\1", absolutize(href, base))


async def poll(source: Source, get: Get) -> list[Item]:
    """The feed; when it fails (transport or content), the HTML listing instead."""
    items: list[Item] = []
    for url in source.urls:
        try:
            raw = await get(url)
            if not raw.not_modified:
                items.extend(await parse_in_thread(parse, raw, source))
        except (FetchError, ParseError) as exc:
            listing = source.option("listing_url")
            if not listing:
                raise
            log.warning("%s: feed %s failed (%s: %s); reading the listing %s",
                        source.id, url, type(exc).__name__, exc, listing)
            raw = await get(listing, conditional=False)
            items.extend(await parse_in_thread(parse, raw, source))
    return items
