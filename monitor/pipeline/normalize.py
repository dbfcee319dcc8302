"""Normalize: one clean form for every Item, whatever the source did.

Canonical absolute URL (no fragment, no tracking parameters), clean text (NBSP, entities, CRLF,
runs of white space), `published` in UTC by the source's zone rules, a language tag and the
identity key that the database enforces as unique.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timezone
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from monitor.models import Item, Source
from monitor.text import clean_text

_TRACKING = re.compile(r"^(utm_\w+|fbclid|gclid|yclid|mc_cid|mc_eid|_ga|ref|ref_src|"
                       r"cmpid|spm|from|share|smid|ocid|at_\w+|xtor)$", re.I)
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LATIN = re.compile(r"[A-Za-z]")
_BOILERPLATE = (
    # `(?<!\s)\s*+`: a match starts where white space starts, not at each of its characters
    # (`\s*` tried from every position of a run of spaces was quadratic); runs possessive.
    re.compile(r"(?<!\s)\s*+The post\b.{1,400}?\bappeared first on\b.{1,200}+$", re.S),
    re.compile(r"(?<!\s)\s*+(?:\[(?:…|\.\.\.|&hellip;)\]|Continue reading\W*+|Read more\W*+|"
               r"Читать далее\W*+|阅读全文\W*+)$", re.I),
)
MAX_TITLE = 500
MAX_SUMMARY = 1200


def normalize(item: Item, source: Source, base_url: str = "") -> Item:
    """The item in canonical form, with `key` set. Mutates and returns the same object."""
    item.url = canonical_url(item.url, base_url or (source.urls[0] if source.urls else ""))
    item.title = clean_text(item.title)[:MAX_TITLE]
    item.summary = without_boilerplate(clean_text(item.summary))[:MAX_SUMMARY]
    item.authors = [a for a in dict.fromkeys(clean_text(a) for a in item.authors) if a]
    item.published = (calendar_noon(item.published, source) if item.date_only
                      else to_utc(item.published, source))
    item.lang = language(f"{item.title} {item.summary}", item.lang or source.language)
    item.key = identity_key(item, source)
    return item


def canonical_url(url: str, base: str = "") -> str:
    """Absolute http(s) URL with lower-case host, no default port, fragment or tracking query."""
    url = urljoin(base, (url or "").strip())
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return url
    host = (parts.hostname or "").lower()
    if parts.port and parts.port not in (80, 443):
        host = f"{host}:{parts.port}"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                       if not _TRACKING.match(k)])
    return urlunsplit((parts.scheme.lower(), host, parts.path or "/", query, ""))


def to_utc(value: datetime | None, source: Source) -> datetime | None:
    """Aware times converted; naive ones read as the source's wall clock (its `timezone`)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=source.zone)
    try:
        return value.astimezone(timezone.utc).replace(microsecond=0)
    except (OverflowError, ValueError):  # year 1 or 9999 with an offset: no such UTC time
        return None


def calendar_noon(value: datetime | None, source: Source) -> datetime | None:
    """A time known only to the day, as 12:00 UTC of the source's own calendar day.

    Stored at the source's midnight (00:00 Beijing), an MFA item of Monday 29 June would be
    Sunday 28 June 17:00 in London: the wrong day on the card and the wrong week in the draft.
    Noon UTC is the same calendar day in every zone within eleven hours of UTC.
    """
    if value is None:
        return None
    day = value.astimezone(source.zone).date() if value.tzinfo else value.date()
    return datetime(day.year, day.month, day.day, 12, tzinfo=timezone.utc)


def without_boilerplate(text: str) -> str:
    """The summary without the footers feed generators append: WordPress's "The post … appeared
    first on …", a trailing "[…]" or "Read more", "Continue reading…"."""
    for pattern in _BOILERPLATE:
        text = pattern.sub("", text)
    return text.strip()


def language(text: str, default: str) -> str:
    """zh/ru by script when the text clearly says so; otherwise what the source declared."""
    cjk, cyr, lat = (len(p.findall(text)) for p in (_CJK, _CYRILLIC, _LATIN))
    if cjk >= 2 and cjk * 2 >= lat:
        return "zh"
    if cyr >= 4 and cyr >= lat:
        return "ru"
    if lat and not cjk and not cyr and default in ("zh", "ru"):
        return "en"
    return default or "en"


def identity_key(item: Item, source: Source) -> str:
    """The unique key: guid, then canonical URL, then a hash of title and date.

    A guid that is a URL is canonicalised and treated as the URL, so the same article listed
    by two feeds of one outlet (RFE/RL section feeds) gets one key. An opaque guid is only
    unique within its adapter, so the adapter name is part of it. An item whose URL is the
    source's own feed or listing URL (an article page saved without its address) is not
    identified by it.
    """
    guid = (item.guid or "").strip()
    if guid.startswith(("http://", "https://")):
        identity = "url:" + canonical_url(guid)
    elif guid:
        identity = f"guid:{source.adapter}:{guid}"
    elif item.url.startswith(("http://", "https://")) and item.url not in _feed_urls(source):
        identity = "url:" + item.url
    else:
        day = item.published.date().isoformat() if item.published else ""
        identity = f"hash:{source.id}:{item.title.lower()}:{day}"
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()[:24]


def _feed_urls(source: Source) -> set[str]:
    return {canonical_url(u) for u in source.urls}
