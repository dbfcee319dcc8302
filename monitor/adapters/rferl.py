"""RFE/RL (rferl.org and its language services): Pangea RSS, with Google-News sitemaps as a
fallback format.

Pangea serves the same story in several section feeds under one article id
(`https://www.rferl.org/a/<slug>/<id>.html`), so the guid is `rferl:<id>` and the item dedupes
across feeds whatever the slug or host alias. Pangea ids are one counter across the services'
CMS, so the namespace is the outlet, not the host.

A 200 with an empty channel, and a 200 with a blank body (seen: 11 bytes), both parse to no
items, which `parse_checked` reports as EmptyFeed: the feed id answers but carries nothing, and
that is what an operator needs to read, not "malformed" (which would send them looking for
broken XML that is not there).

The news sitemap (`sitemap_8_news.xml.gz`: `<url><loc>` with `news:title` and
`news:publication_date`) is read when a body is a `<urlset>`; it lists the last ~48 h of
articles and keeps working when a feed id dies.
"""

from __future__ import annotations

import re
from datetime import datetime

from lxml import etree

from monitor.adapters import rss
from monitor.adapters.helpers import decode, parse_time
from monitor.errors import NotAFeed
from monitor.models import Item, RawResponse, Source
from monitor.text import clean_text

ARTICLE_ID = re.compile(r"/a/(?:[^/?#]+/)?(\d{4,})\.html")
GUID_PREFIX = "rferl:"
SITEMAP_ROOT = re.compile(  # comments as one, as in rss._HTML_START
    rb"^\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--.*-->\s*)?<(?:\w+:)?(?:urlset|sitemapindex)\b",
                          re.S)
NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9",
      "news": "http://www.google.com/schemas/sitemap-news/0.9"}
SITEMAP_URL = "//sm:url"
SITEMAP_TITLE = "string(news:news/news:title)"
SITEMAP_DATE = "string(news:news/news:publication_date)"
SITEMAP_LANG = "string(news:news/news:publication/news:language)"


def parse(raw: RawResponse, source: Source) -> list[Item]:
    """Items of a Pangea feed or a news sitemap; a blank 200 body is no items (EmptyFeed)."""
    if not raw.content.strip():
        return []
    if SITEMAP_ROOT.match(raw.content[:4096]):
        return sitemap_items(raw, source)
    feed = rss.parse_feed(raw)
    items = [rss.entry_item(entry, raw, source, variant="rferl:rss") for entry in feed.entries]
    return [_with_article_guid(item) for item in items if item is not None]


def article_guid(url: str) -> str | None:
    """`rferl:<id>` for a Pangea article URL; None for anything else (videos, galleries)."""
    match = ARTICLE_ID.search(url or "")
    return f"{GUID_PREFIX}{match.group(1)}" if match else None


def _with_article_guid(item: Item) -> Item:
    item.guid = article_guid(item.url) or article_guid(item.guid or "") or item.guid
    return item


def sitemap_items(raw: RawResponse, source: Source) -> list[Item]:
    """The `<url>` entries of a Google-News sitemap that carry a title."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(decode(raw).encode("utf-8"), parser)
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise NotAFeed(f"{raw.url}: broken sitemap XML ({exc})") from None
    if etree.QName(root).localname != "urlset":
        raise NotAFeed(f"{raw.url}: a sitemap index, not a list of articles")
    items = [_sitemap_item(node, source) for node in root.xpath(SITEMAP_URL, namespaces=NS)]
    found = [item for item in items if item is not None]
    if items and not found:
        raise NotAFeed(f"{raw.url}: a sitemap without news titles (not a news sitemap)")
    return found


def _sitemap_item(node: etree._Element, source: Source) -> Item | None:
    url = clean_text(node.findtext("sm:loc", namespaces=NS))
    title = clean_text(node.xpath(SITEMAP_TITLE, namespaces=NS))
    if not url or not title:
        return None
    published: datetime | None = parse_time(node.xpath(SITEMAP_DATE, namespaces=NS))
    lang = clean_text(node.xpath(SITEMAP_LANG, namespaces=NS)).split("-")[0].lower()
    return Item(source=source.id, url=url, title=title, published=published,
                lang=lang or source.language, guid=article_guid(url) or url,
                variant="rferl:news-sitemap")
