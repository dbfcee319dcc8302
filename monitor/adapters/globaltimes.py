"""Global Times (globaltimes.cn): the Outbrain RSS feed, and article pages.

Feed (variant `globaltimes:rss`): read by the generic feed code. Its pubDates are taken as
they come: an offset, when present, is honoured; a time without one is Beijing wall-clock and
stays naive, so `normalize` reads it as the source's `Asia/Shanghai` (rss.entry_time).

Article (variant `globaltimes:article`): title `div.article_title`, byline `span.byline`
("By A and B"), `span.pub_time` "Published: Jul 06, 2026 01:40 PM" in Beijing time with no
zone, body `div.article_right` (text between `<br />`s, photo captions `p.picture` removed);
the "RELATED ARTICLES" block sits outside it and is never read. The canonical URL is only in
`twitter:url`. Mixed CRLF/LF endings are folded by `clean_text`.
"""

from __future__ import annotations

import re
from datetime import datetime

from lxml import html as lxml_html

from monitor.adapters import rss
from monitor.adapters.helpers import absolutize, decode, document, first_text, meta
from monitor.errors import NotAFeed
from monitor.models import Item, RawResponse, Source
from monitor.text import clean_text

TITLE = ("div.article_title", "h1.article_title", "h1")
BYLINE = "span.byline"
PUB_TIME = ("span.pub_time", ".author_share_left .pub_time")
BODY = "div.article_right"
CAPTIONS = ".//p[contains(concat(' ', normalize-space(@class), ' '), ' picture ')]"
CANONICAL = ("twitter:url", "og:url")
# The stamp itself: an optional "Published:" before it never changed which stamp was found,
# and its `\s*:?\s*` was cubic in a run of spaces.
PUB_TIME_TEXT = re.compile(r"([A-Z][a-z]{2,8}\.? \d{1,2}, \d{4} \d{1,2}:\d{2}(?: ?[AP]M)?)", re.I)
BY = re.compile(r"^\s*by\s+", re.I)
AUTHOR_SPLIT = re.compile(r"\s*(?:,|\band\b|&)\s*")
HTML_START = re.compile(r"^\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--.*-->\s*)?<(?:!doctype\s+html|html)\b",
                        re.I | re.S)  # comments as one, as in rss._HTML_START
MAX_SUMMARY = 1200


def parse(raw: RawResponse, source: Source) -> list[Item]:
    """Items of the RSS feed, or the one item of an article page."""
    text = decode(raw)
    if not HTML_START.match(text[:2000]):
        feed = rss.parse_feed(raw)
        return [item for entry in feed.entries
                if (item := rss.entry_item(entry, raw, source, variant="globaltimes:rss"))]
    root = document(text)
    if not root.cssselect(TITLE[0]):
        raise NotAFeed(f"{raw.url}: an HTML page that is not a Global Times article")
    return [article_item(root, raw, source)]


def article_item(root: lxml_html.HtmlElement, raw: RawResponse, source: Source) -> Item:
    """Title, byline, Beijing-time date, body text and canonical URL of an article page."""
    url = next((u for name in CANONICAL if (u := meta(root, name))), raw.url)
    return Item(source=source.id, url=absolutize(url, raw.url),
                title=first_text(root, *TITLE), summary=body_text(root)[:MAX_SUMMARY],
                published=pub_time(first_text(root, *PUB_TIME)), lang=source.language,
                authors=authors(first_text(root, BYLINE)), variant="globaltimes:article")


def body_text(root: lxml_html.HtmlElement) -> str:
    """The article text without photo captions (paragraphs are `<br />`-separated)."""
    found = root.cssselect(BODY)
    if not found:
        return ""
    body = found[0]
    for caption in body.xpath(CAPTIONS):
        caption.drop_tree()
    for br in body.iter("br"):
        br.tail = "\n" + (br.tail or "")
    return clean_text(body.text_content())


def pub_time(text: str) -> datetime | None:
    """'Published: Jul 06, 2026 01:40 PM' as a naive Beijing wall-clock time."""
    match = PUB_TIME_TEXT.search(text or "")
    if not match:
        return None
    stamp = match.group(1).replace(".", "")
    for fmt in ("%b %d, %Y %I:%M %p", "%B %d, %Y %I:%M %p", "%b %d, %Y %H:%M", "%B %d, %Y %H:%M"):
        try:
            return datetime.strptime(stamp, fmt)
        except ValueError:
            continue
    return None


def authors(byline: str) -> list[str]:
    """'By Liu Xuanzun and Guo Yuandan' → two names; 'By Global Times' stays as printed."""
    return [n for n in AUTHOR_SPLIT.split(BY.sub("", clean_text(byline))) if n]
