"""Carnegie Endowment (carnegieendowment.org/research): the Next.js research listing.

Carnegie's Solr feeds now return HTML, and the 2024 site is a Next.js app whose data comes from
a search API keyed from its JS bundle (sources.md); we read the listing page instead, in two
variants, so either rendering keeps working:

- `carnegie:next-data`: the page's `<script id="__NEXT_DATA__">` JSON (pages-router builds).
  Any object in it with a `/research/YYYY/MM/<slug>` link and a title is an item; date and
  authors are read from the usual key names. The JSON's shape is not pinned down, so the walk
  does not depend on where the list sits.
- `carnegie:cards`: server-rendered cards, i.e. the nearest container around each link to
  `/research/YYYY/MM/<slug>`: title from its heading (else the link text), date from
  `time[datetime]` or a "July 29, 2026" text, authors from links to `/people/`.

Dates without a time stay naive and are read as the source's zone (America/New_York).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from lxml import html as lxml_html

from monitor.adapters.helpers import absolutize, decode, document, first_text, parse_time
from monitor.errors import NotAFeed
from monitor.models import Item, RawResponse, Source
from monitor.text import clean_text

RESEARCH_PATH = re.compile(r"^(?:https?://[^/]*carnegieendowment\.org)?/research/\d{4}/\d{2}/[\w%-]+")
NEXT_DATA = 'script#__NEXT_DATA__'
LINK_KEYS = ("url", "href", "path", "slug", "link", "permalink")
TITLE_KEYS = ("title", "headline", "name")
DATE_KEYS = ("publishedAt", "publishDate", "datePublished", "date", "published")
SUMMARY_KEYS = ("summary", "description", "dek", "excerpt", "subtitle")
AUTHOR_KEYS = ("authors", "experts", "contributors", "people")
CARD_TAGS = ("article", "li", "div")
CARD_TITLE = ("h2", "h3", "h4", "[class*=title]")
CARD_DATE_TEXT = re.compile(r"\b[A-Z][a-z]{2,8}\.? \d{1,2}, \d{4}\b")
PEOPLE = 'a[href*="/people/"]'
MAX_SUMMARY = 1200


def parse(raw: RawResponse, source: Source) -> list[Item]:
    """Items from `__NEXT_DATA__` when it lists research, else from the rendered cards."""
    root = document(decode(raw))
    items = next_data_items(root, raw, source) or card_items(root, raw, source)
    if not items and not root.cssselect(NEXT_DATA):
        raise NotAFeed(f"{raw.url}: no links to /research/YYYY/MM/ (not the research listing)")
    return list({item.url: item for item in items}.values())


def next_data_items(root: lxml_html.HtmlElement, raw: RawResponse, source: Source) -> list[Item]:
    """Every research record found anywhere in the `__NEXT_DATA__` JSON."""
    scripts = root.cssselect(NEXT_DATA)
    try:
        data = json.loads(scripts[0].text_content()) if scripts else None
    except (ValueError, RecursionError):  # RecursionError: JSON nested beyond any real page
        return []
    return [item for record in _records(data)
            if (item := _record_item(record, raw, source)) is not None]


def _records(node: Any) -> Iterator[dict[str, Any]]:
    """Depth-first, in document order: dicts with a research link (their children are not
    searched again). A stack, not recursion: hostile JSON may nest as deep as the parser lets."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            if _first(current, LINK_KEYS, RESEARCH_PATH.match):
                yield current
                continue
            stack.extend(reversed(list(current.values())))
        elif isinstance(current, list):
            stack.extend(reversed(current))


def _first(record: dict[str, Any], keys: tuple[str, ...], test: Any = bool) -> str:
    for key in keys:
        value = record.get(key)
        if isinstance(value, str) and value.strip() and test(value.strip()):
            return value.strip()
    return ""


def _record_item(record: dict[str, Any], raw: RawResponse, source: Source) -> Item | None:
    title = clean_text(_first(record, TITLE_KEYS))
    if not title:
        return None
    people = next((record[k] for k in AUTHOR_KEYS if isinstance(record.get(k), list)), [])
    names = [p if isinstance(p, str) else _first(p, ("name", "title", "fullName"))
             for p in people if isinstance(p, (str, dict))]
    return Item(source=source.id, url=absolutize(_first(record, LINK_KEYS, RESEARCH_PATH.match),
                                                 raw.url),
                title=title, summary=clean_text(_first(record, SUMMARY_KEYS))[:MAX_SUMMARY],
                published=parse_time(_first(record, DATE_KEYS)), lang=source.language,
                authors=[clean_text(n) for n in names if n], variant="carnegie:next-data")


def card_items(root: lxml_html.HtmlElement, raw: RawResponse, source: Source) -> list[Item]:
    """One item per rendered card linking to a research piece."""
    items = []
    for link in root.iter("a"):
        href = link.get("href") or ""
        if RESEARCH_PATH.match(href) and (item := _card_item(link, raw, source)) is not None:
            items.append(item)
    return items


def _card(link: lxml_html.HtmlElement) -> lxml_html.HtmlElement:
    """The nearest article/li/div around a link that also holds a date or an author."""
    node = link.getparent()
    while node is not None and node.tag != "body":
        if node.tag in CARD_TAGS and (node.cssselect("time") or node.cssselect(PEOPLE)):
            return node
        node = node.getparent()
    return link


def _card_item(link: lxml_html.HtmlElement, raw: RawResponse, source: Source) -> Item | None:
    card = _card(link)
    title = first_text(card, *CARD_TITLE) if card is not link else ""
    title = title or clean_text(link.text_content())
    if not title:
        return None
    stamp = card.cssselect("time[datetime]")
    when = stamp[0].get("datetime") if stamp else ""
    if not when and (match := CARD_DATE_TEXT.search(clean_text(" ".join(card.itertext())))):
        when = match.group(0)
    summary = first_text(card, "p") if card is not link else ""
    return Item(source=source.id, url=absolutize(link.get("href", ""), raw.url), title=title,
                summary=summary[:MAX_SUMMARY], published=parse_time(when),
                lang=source.language, variant="carnegie:cards",
                authors=list(dict.fromkeys(clean_text(a.text_content())
                                           for a in card.cssselect(PEOPLE))))
