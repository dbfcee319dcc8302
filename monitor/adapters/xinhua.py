"""Xinhua (english.news.cn, www.news.cn): listing pages fed by datasource JSON, and articles.

Xinhua has no reliable RSS. Its listing pages are filled by script from JSON: each list element
carries `data="datasource:<32-hex>"` and the data sits at `<same dir>/ds_<32-hex>.json`, so
`poll` fetches the listing, then each datasource. `parse` reads three bodies, told apart by
content: the datasource JSON (variant `xinhua:ds`), an article page (`xinhua:article`), and a
listing page's own server-rendered article links (`xinhua:listing`, the fallback when the
datasource cannot be fetched). All times are Beijing wall-clock with no zone: they stay naive
and `normalize` reads them as the source's `Asia/Shanghai`.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from lxml import html as lxml_html

from monitor.adapters.base import parse_in_thread
from monitor.adapters.helpers import absolutize, decode, document, first_text, json_list, meta
from monitor.errors import FetchError, NotAFeed, ParseError
from monitor.models import Get, Item, RawResponse, Source
from monitor.text import clean_text, html_to_text

DATASOURCE = re.compile(r'data\s*=\s*["\']datasource:([0-9a-f]{32})["\']', re.I)
MAX_DATASOURCES = 4  # the main list comes first; the rest are sidebars
ARTICLE_LINK = re.compile(r"/(\d{8})/([0-9a-f]{32})/c\.html?$")
TITLE = ("h1 .title", ".mheader h1 .title", "h1")
HEADER_TIME = (".header-time", ".mheader .info")
BODY = ("#detail #detailContent", "#detailContent", "#detail")
WALLCLOCK = re.compile(
    r"(\d{4})\D{1,3}(\d{1,2})\D{1,3}(\d{1,2})\D{1,5}(\d{1,2}):(\d{2})(?::(\d{2}))?")
# Starts only where white space starts (a match never begins inside a run of it) and takes
# runs possessively: `\s*…\s*` around the optional name was quadratic in a run of spaces.
TITLE_SUFFIX = re.compile(r"(?<!\s)\s*+[-|_]\s*+(新华网|Xinhua)?\s*+$")
MAX_SUMMARY = 1200


def parse(raw: RawResponse, source: Source) -> list[Item]:
    """Items of a datasource JSON, an article page or a listing page."""
    text = decode(raw)
    if text.lstrip()[:1] in ("{", "["):
        return datasource_items(text, raw, source)
    root = document(text)
    if root.cssselect(TITLE[0]) or meta(root, "contentid"):
        return [article_item(root, raw, source)]
    return listing_items(root, raw, source)


def datasource_items(text: str, raw: RawResponse, source: Source) -> list[Item]:
    """Every entry of a `ds_<hex>.json` (a `datasource` list, or a bare list)."""
    entries = json_list(text, raw.url, "datasource")
    return [item for entry in entries if (item := _ds_item(entry, raw, source)) is not None]


def _ds_item(entry: Any, raw: RawResponse, source: Source) -> Item | None:
    if not isinstance(entry, dict):
        return None
    title = clean_text(str(entry.get("title") or ""))
    link = str(entry.get("publishUrl") or "").strip()
    if not title or not link:
        return None
    author = clean_text(str(entry.get("author") or ""))
    return Item(source=source.id, url=absolutize(link, raw.url), title=title,
                summary=html_to_text(str(entry.get("summary") or ""))[:MAX_SUMMARY],
                published=wallclock_time(str(entry.get("publishTime") or "")),
                lang=source.language, authors=[author] if author else [],
                variant="xinhua:ds")


def article_item(root: lxml_html.HtmlElement, raw: RawResponse, source: Source) -> Item:
    """One article page: `h1 .title`, Beijing time from the header, summary, origin."""
    title = first_text(root, *TITLE) or TITLE_SUFFIX.sub("", first_text(root, "title"))
    if not title:
        raise NotAFeed(f"{raw.url}: a Xinhua page without a title")
    published = None
    for selector in HEADER_TIME:
        if published := wallclock_time(first_text(root, selector)):
            break
    published = published or wallclock_time(meta(root, "publishdate") + " 00:00")
    author = meta(root, "author")
    return Item(source=source.id, url=raw.url, title=title, summary=_summary(root, title),
                published=published, lang=source.language, authors=[author] if author else [],
                variant="xinhua:article", origin=meta(root, "source") or None)


def _summary(root: lxml_html.HtmlElement, title: str) -> str:
    """The meta description, unless it only repeats the title (then the body's start)."""
    described = TITLE_SUFFIX.sub("", meta(root, "description"))
    if described and described != title:
        return described[:MAX_SUMMARY]
    return first_text(root, *BODY)[:MAX_SUMMARY]


def listing_items(root: lxml_html.HtmlElement, raw: RawResponse, source: Source) -> list[Item]:
    """Server-rendered links to `/YYYYMMDD/<32-hex>/c.html` articles (date from the path)."""
    items: dict[str, Item] = {}
    for anchor in root.iter("a"):
        url = absolutize(anchor.get("href") or "", raw.url)
        match = ARTICLE_LINK.search(url.split("?")[0])
        title = clean_text(anchor.text_content())
        if not match or not title or url in items:
            continue
        items[url] = Item(source=source.id, url=url, title=title, published=_path_day(match[1]),
                          lang=source.language, variant="xinhua:listing")
    if not items and not DATASOURCE.search(lxml_html.tostring(root, encoding="unicode")):
        raise NotAFeed(f"{raw.url}: neither a Xinhua listing, article nor datasource")
    return list(items.values())


def _path_day(digits: str) -> datetime | None:
    """The date in an article path; midnight Beijing time (the listing gives no time)."""
    try:
        return datetime.strptime(digits, "%Y%m%d")
    except ValueError:
        return None


def wallclock_time(text: str) -> datetime | None:
    """'2026-09-15 16:53:58' or '2026 09/15 16:53:58' as a naive Beijing wall-clock time."""
    match = WALLCLOCK.search(text or "")
    if not match:
        return None
    year, month, day, hour, minute = (int(g) for g in match.groups()[:5])
    try:
        return datetime(year, month, day, hour, minute, int(match.group(6) or 0))
    except ValueError:
        return None


def datasource_urls(raw: RawResponse) -> list[str]:
    """`<same dir>/ds_<hex>.json` for each datasource a listing page names, in page order."""
    ids = dict.fromkeys(DATASOURCE.findall(decode(raw)))
    return [absolutize(f"ds_{hexid}.json", raw.url) for hexid in list(ids)[:MAX_DATASOURCES]]


async def poll(source: Source, get: Get) -> list[Item]:
    """Each listing, then its datasource JSON; the listing's own links when those fail."""
    items: dict[str, Item] = {}
    for url in source.urls:
        listing = await get(url, conditional=False)
        found: list[Item] = []
        unchanged = False
        for ds_url in datasource_urls(listing):
            try:
                raw = await get(ds_url)
                unchanged = unchanged or raw.not_modified
                if not raw.not_modified:
                    found.extend(await parse_in_thread(parse, raw, source))
            except (FetchError, ParseError):
                continue
        if not found and not unchanged:
            found = await parse_in_thread(parse, listing, source)
        items.update((item.url, item) for item in found if item.url not in items)
    return list(items.values())
