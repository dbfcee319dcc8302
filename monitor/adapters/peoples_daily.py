"""People's Daily (en.people.cn, www.people.com.cn): RSS feeds, article pages, ZH listings.

Why its own adapter: the Chinese site sends GBK bytes while declaring GB2312, and its pages
give the time only in text ("2024年04月24日23:52", Beijing wall-clock, returned naive so
`normalize` applies Asia/Shanghai). `helpers.decode` reads GB2312/GBK as gb18030, and reads
bytes that are valid UTF-8 as UTF-8 whatever they declare (copies re-encoded by scrapers).
Much of the ZH copy is Xinhua's: an article's "来源：新华网" becomes `origin`, so dedupe can
link the copy to the original. Article pages and listing pages are parsed too, so that a
failing feed can be replaced by its channel page (`politics.people.com.cn/GB/1024/`).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from monitor.adapters import rss
from monitor.adapters.helpers import (
    absolutize,
    date_in_text,
    decode,
    document,
    first_text,
    looks_like_feed,
    meta,
    opening,
)
from monitor.errors import NotAFeed
from monitor.models import Item, RawResponse, Source
from monitor.text import clean_text

# Article page
TITLE = (".rm_txt h1", ".col-1 h1", ".text_title h1", "h1")
SITE_NAME, SEGMENT_MAX = "人民网", 20  # "<title>标题 -- 频道 -- 人民网"
DATELINE = (".channel .col-1-1", ".col-1-1", ".box01 .fl", ".text_title .box01")
BODY = (".rm_txt_con", ".show_text", "#rwb_zw", ".box_con")
BODY_NOISE = ".paper_num, #rwb_tjyd, .edit, .bza, .box_pic, script, style"
ORIGIN_LABEL = re.compile(r"^\s*来源[:：]\s*")
# The outlets named as "来源" that we also poll, by their `outlet` name in sources.yaml.
OUTLETS = {"新华网": "Xinhua", "新华社": "Xinhua", "人民网": "People's Daily",
           "人民日报": "People's Daily", "环球时报": "Global Times", "环球网": "Global Times"}
# Listing page: /n1/YYYY/MMDD/c<channel>-<id>.html, usually relative ("../n1/…")
ARTICLE_HREF = re.compile(r"/n\d?/(\d{4})/(\d{2})(\d{2})/c\d+-\d+\.html$")
LISTING_SKIP = ".page_n, .page, em.more"


def parse(raw: RawResponse, source: Source) -> list[Item]:
    """Items of an RSS feed, an article page, or a channel listing page."""
    text = decode(raw)
    if looks_like_feed(text):
        feed = rss.parse_feed(raw)
        return [item for entry in feed.entries
                if (item := rss.entry_item(entry, raw, source, variant="people-rss"))]
    root = document(text)
    if meta(root, "contentid") and root.cssselect(", ".join(BODY)):
        item = article_item(root, raw, source)
        return [item] if item else []
    items = listing_items(root, raw, source)
    if not items:
        raise NotAFeed(f"{raw.url}: neither a People's Daily feed, article nor listing page")
    return items


def article_item(root: Any, raw: RawResponse, source: Source) -> Item | None:
    """Title, Beijing time from the dateline, origin from the `source` meta, body opening."""
    title = first_text(root, *TITLE) or without_site_suffix(first_text(root, "title"))
    if not title:
        return None
    dateline = first_text(root, *DATELINE)
    published = date_in_text(dateline) or date_in_text(meta(root, "publishdate"))
    url = absolutize(meta(root, "og:url") or raw.url, raw.url)
    return Item(source=source.id, url=url, title=title, summary=opening(body_text(root)),
                published=published, lang=source.language, guid=url,
                origin=origin_of(meta(root, "source"), source), variant="people-article")


def without_site_suffix(title: str) -> str:
    """The page title without its trailing "-- 频道 -- 人民网" chain.

    What `(\\s*--\\s*[^-]{1,20})*\\s*--\\s*人民网\\s*$` removed, read from the end with str
    methods: that pattern's nested quantifiers took seconds on a title of dashes and spaces.
    Each segment between two "--" has no "-" and at most 20 characters besides its white space.
    """
    rest = title.rstrip()
    if not rest.endswith(SITE_NAME):
        return title
    rest = rest[:-len(SITE_NAME)].rstrip()
    if not rest.endswith("--"):
        return title
    cut = len(rest) - 2
    while (dash := title.rfind("-", 0, cut)) > 0 and title[dash - 1] == "-":
        segment = title[dash + 1:cut]
        if not segment or len(segment.strip()) > SEGMENT_MAX:
            break
        cut = dash - 1
    return title[:cut].rstrip()


def body_text(root: Any) -> str:
    """The article body without the page's share, editor and print-edition blocks."""
    for selector in BODY:
        found = root.cssselect(selector)
        if found:
            for noise in found[0].cssselect(BODY_NOISE):
                noise.drop_tree()
            return clean_text(" ".join(found[0].itertext()))
    return ""


def origin_of(label: str, source: Source) -> str | None:
    """"来源：新华网" → "Xinhua"; None when the page names its own outlet or nothing."""
    name = clean_text(ORIGIN_LABEL.sub("", label or ""))
    outlet = OUTLETS.get(name, name)
    return outlet if outlet and outlet != source.outlet else None


def listing_items(root: Any, raw: RawResponse, source: Source) -> list[Item]:
    """Article links of a channel page, each dated by the time beside it or its URL."""
    for junk in root.cssselect(LISTING_SKIP):
        junk.drop_tree()
    items: dict[str, Item] = {}
    for anchor in root.cssselect("a[href]"):
        url = absolutize(anchor.get("href"), raw.url)
        match = ARTICLE_HREF.search(url)
        title = clean_text(anchor.text_content())
        if not match or not title or url in items:
            continue  # not an article, or an image-only link
        items[url] = Item(source=source.id, url=url, title=title,
                          published=listed_time(anchor) or date_in_text("-".join(match.groups())),
                          lang=source.language, guid=url, variant="people-listing")
    return list(items.values())


def listed_time(anchor: Any) -> datetime | None:
    """The time printed beside a link in its own list item ("2026年07月03日10:25")."""
    parent = anchor.getparent()
    if parent is None or parent.tag != "li":
        return None
    return date_in_text(parent.text_content().replace(anchor.text_content(), " "))

