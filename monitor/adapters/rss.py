"""Generic RSS/Atom adapter (feedparser), for every source that has a usable feed.

Options (sources.yaml `options:`):
- `wallclock: true`   the feed's stated offsets are wrong; read its times as the source's zone.
- `min_items: N`      fewer entries than this from a 200 is a failure (default 1).
"""

from __future__ import annotations

import calendar
import re
from datetime import datetime, timezone
from typing import Any

import feedparser

from monitor.adapters.helpers import decode, parse_time, wallclock
from monitor.errors import NotAFeed
from monitor.models import Item, RawResponse, Source
from monitor.text import clean_text, html_to_text

# feedparser's fallback parser expands internal entities without limit (a 160 KB feed took
# over 4 GB): remove any DOCTYPE, with its internal subset, before parsing.
# Any run of comments before the root is one `<!--.*-->` (their contents may hold "-->"): a
# star of lazy comments would try every way of cutting them up, 2^n for n comments.
_HTML_START = re.compile(r"^\s*(?:<!--.*-->\s*)?<(?:!doctype\s+html|html)\b", re.I | re.S)
MAX_SUMMARY = 1200
# A stated time ends in an offset, a zone name or Z; without one it is the source's wall clock
# (feedparser would read a zoneless ISO time as UTC).
_ZONED = re.compile(r"(?:[+-]\d\d:?\d\d|[A-Za-z]{1,5}|\dZ)\s*$")


def parse(raw: RawResponse, source: Source) -> list[Item]:
    """Every entry of the feed as an Item; raises NotAFeed for pages and broken XML."""
    feed = parse_feed(raw)
    items = [item for entry in feed.entries
             if (item := entry_item(entry, raw, source, variant="rss")) is not None]
    if not items and feed.bozo:  # cut off or broken before the first complete entry
        raise NotAFeed(f"{raw.url}: malformed feed ({_reason(feed)})")
    return items


def without_doctypes(text: str) -> str:
    """Every DOCTYPE declaration removed, internal subset included, wherever it stands.

    Not only the first: a decoy (a DOCTYPE-like string in a comment, or a second one) must not
    shield the real one, whose entities feedparser's fallback parser would expand without
    limit. A linear scan with str.find, not a regular expression: no input makes it slow.
    """
    lower = text.lower()
    if "<!doctype" not in lower:
        return text
    out, pos = [], 0
    while (start := lower.find("<!doctype", pos)) >= 0:
        out.append(text[pos:start])
        close, bracket = lower.find(">", start), lower.find("[", start)
        if bracket >= 0 and (close < 0 or bracket < close):  # an internal subset: skip to "]>"
            end = lower.find("]", bracket)
            close = lower.find(">", end) if end >= 0 else -1
        pos = len(text) if close < 0 else close + 1
    out.append(text[pos:])
    return "".join(out)


# An author element of any namespace prefix: feedparser looks for an e-mail address in its text
# with a pattern quadratic in a long word, so that text is cut before feedparser sees it.
# Bounded quantifiers: each start costs at most a few hundred steps, so the scan is linear.
_AUTHOR_TAG = re.compile(r"<(?:[A-Za-z_][\w.-]{0,40}:)?(?:author|creator|publisher|managingeditor"
                         r"|webmaster)\b[^<>]{0,500}>", re.I)
MAX_AUTHOR = 300  # characters: a byline, or a few of them


def with_short_authors(text: str) -> str:
    """The text of every author-like element (RSS author, dc:creator, webMaster, …) cut to
    MAX_AUTHOR characters, CDATA included; everything else untouched."""
    out, pos = [], 0
    for m in _AUTHOR_TAG.finditer(text):
        start = m.end()
        if start < pos:
            continue
        cdata = text.startswith("<![CDATA[", start)
        if cdata:
            start += len("<![CDATA[")
        end = text.find("]]>" if cdata else "<", start)
        end = len(text) if end < 0 else end
        if end - start > MAX_AUTHOR:
            out.append(text[pos:start + MAX_AUTHOR])
            pos = end
    out.append(text[pos:])
    return "".join(out)


def parse_feed(raw: RawResponse) -> Any:
    """feedparser's result for a body that must be a feed (else NotAFeed)."""
    text = decode(raw)
    if _HTML_START.match(text[:2000]):
        raise NotAFeed(f"{raw.url}: an HTML page, not a feed")
    text = with_short_authors(without_doctypes(text))
    # Hand feedparser text whose encoding we decided, declared as what it now is.
    text = re.sub(r"^\s*<\?xml[^>]*\?>", '<?xml version="1.0" encoding="utf-8"?>', text, count=1)
    feed = feedparser.parse(text.encode("utf-8"), sanitize_html=False,
                            resolve_relative_uris=False, response_headers={
                                "content-location": raw.url, "content-type": "application/xml"})
    if not feed.entries and (feed.bozo or not feed.get("version")):
        raise NotAFeed(f"{raw.url}: not a feed ({_reason(feed)})")
    return feed


def _reason(feed: Any) -> str:
    """feedparser's complaint, in one line."""
    exc = feed.get("bozo_exception")
    return " ".join(str(exc).split())[:160] if exc else "no feed elements"


def entry_item(entry: Any, raw: RawResponse, source: Source, *, variant: str) -> Item | None:
    """One feedparser entry as an Item (None when it has neither title nor link)."""
    title = clean_text(entry.get("title"))
    link = (entry.get("link") or "").strip()
    if not link and entry.get("id", "").startswith("http"):
        link = entry["id"]
    if not title and not link:
        return None
    summary = html_to_text(entry.get("summary") or _content(entry))
    return Item(
        source=source.id, url=link, title=title or summary[:120],
        summary=summary[:MAX_SUMMARY], published=entry_time(entry, source),
        lang=_lang(entry, source), authors=_authors(entry),
        guid=(entry.get("id") or "").strip() or None, variant=variant,
    )


def entry_time(entry: Any, source: Source) -> datetime | None:
    """Published (or updated) time; aware UTC, or naive wall-clock when `wallclock` is set."""
    stated = entry.get("published") or entry.get("updated") or entry.get("created")
    if source.option("wallclock"):
        return wallclock(parse_time(stated))
    # `in` first: feedparser warns when a missing key is read through its old aliases.
    parsed = next((entry[k] for k in ("published_parsed", "updated_parsed", "created_parsed")
                   if k in entry and entry[k]), None)
    if parsed and (not stated or _ZONED.search(stated)):
        return datetime.fromtimestamp(calendar.timegm(parsed), tz=timezone.utc)
    return parse_time(stated)  # Hoover's "July 31, 2026": naive → the source's zone


def _content(entry: Any) -> str:
    content = entry.get("content") or []
    return content[0].get("value", "") if content else ""


def _authors(entry: Any) -> list[str]:
    names = [clean_text(a.get("name")) for a in entry.get("authors") or [] if a.get("name")]
    if not names and entry.get("author"):
        names = [clean_text(entry["author"])]
    return [n for n in dict.fromkeys(names) if n]


def _lang(entry: Any, source: Source) -> str:
    lang = (entry.get("title_detail") or {}).get("language") or ""
    return lang.split("-")[0].lower() or source.language
