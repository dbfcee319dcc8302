"""Hostile inputs, built in one place: tests/test_hostile_input.py asserts on them and
bench/reliability.py times each (with its peak memory).

Each attack in `ATTACKS` is a name and a zero-argument call into the adapter code that a real
response would reach: an entity bomb behind a decoy DOCTYPE, JSON nested 100,000 deep, dates
out of range, and inputs crafted against the regular expressions the issue named (the MFA and
People's Daily title patterns, MFA's body markers, the DOCTYPE scan, Carnegie's link pattern)
and one the adapter fuzz found (feedparser's e-mail pattern over an author name).
A call may raise a `MonitorError` (a one-line error is a correct answer to an attack).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from monitor.adapters import carnegie, mfa, peoples_daily, rss, tass, xinhua
from monitor.adapters.helpers import date_in_text, document, parse_time
from monitor.models import RawResponse, Source

DEEP = "[" * 100_000 + "]" * 100_000
DECOYS = ("<!-- <!DOCTYPE x> -->", "<!DOCTYPE decoy>", "")
OUT_OF_RANGE = ("9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00",
                "Fri, 31 Dec 9999 23:59:59 -1400")
REGEX_SIZE = 20_000  # characters: the crafted inputs were 10-84 KB


def source(adapter: str, zone: str = "Europe/Moscow") -> Source:
    return Source(id=adapter, name=adapter, adapter=adapter, urls=("https://example.org/feed",),
                  language="en", interval=timedelta(minutes=30), timezone=zone)


def raw(body: str | bytes, url: str = "https://example.org/feed") -> RawResponse:
    return RawResponse(url=url, content=body if isinstance(body, bytes) else body.encode())


def deep_json(key: str) -> str:
    """A JSON object whose `key` holds arrays nested 100,000 deep."""
    return '{"' + key + '": ' + DEEP + "}"


def carnegie_deep_page() -> str:
    return ('<html><body><script id="__NEXT_DATA__" type="application/json">' + DEEP
            + "</script></body></html>")


def entity_bomb(decoy: str) -> bytes:
    """A billion laughs (10^9 "lol"s if expanded) whose DOCTYPE follows `decoy`."""
    laughs = "".join(f'<!ENTITY l{n} "{"&l%d;" % (n - 1) * 10 if n else "lol"}">'
                     for n in range(10))
    return (f'<?xml version="1.0"?>{decoy}<!DOCTYPE rss [{laughs}]><rss version="2.0"><channel>'
            "<title>t</title><item><title>Boom &l9;</title><link>https://example.org/a</link>"
            "</item></channel></rss>").encode()


def year_9999_feed() -> bytes:
    return (b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item>'
            b"<title>Lavrov meets Wang Yi</title><link>https://example.org/a</link>"
            b"<pubDate>Fri, 31 Dec 9999 23:59:59 -1400</pubDate></item></channel></rss>")


def long_author_feed(size: int = REGEX_SIZE) -> bytes:
    """A feed entry whose dc:creator is one long word: feedparser looks for an e-mail address
    in it with a pattern that is quadratic in the word's length (found by the adapter fuzz)."""
    return ('<?xml version="1.0"?><rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">'
            "<channel><title>t</title><item><title>Lavrov meets Wang Yi</title>"
            f"<link>https://example.org/a</link><dc:creator>{'A' * size}</dc:creator></item>"
            "</channel></rss>").encode()


def _mfa_title_page(title: str) -> str:
    return (f"<html><head><title>{title}</title></head><body>"
            '<meta name="TRSWCM.ContStart"><p>Text.</p><meta name="TRSWCM.ContEnd">'
            "</body></html>")


def _mfa_title() -> Any:
    page = _mfa_title_page("—" * REGEX_SIZE + "x")
    return mfa.article_item(document(page), page, raw(page), source("mfa", "Asia/Shanghai"))


def _mfa_markers() -> Any:
    page = "<html><body>" + '<meta name="TRSWCM.ContStart">' * (REGEX_SIZE // 30) + "</body></html>"
    return mfa.parse(raw(page, "https://www.fmprc.gov.cn/eng/xw/fyrbt/"), source("mfa"))


def _people_title() -> Any:
    page = f"<html><head><title>{' --' * (REGEX_SIZE // 3)}x</title></head><body></body></html>"
    return peoples_daily.article_item(document(page), raw(page), source("peoples_daily"))


ATTACKS: dict[str, Callable[[], Any]] = {
    **{f"xml: entity bomb, decoy {d or 'none'!r}": (lambda d=d: rss.parse(
        raw(entity_bomb(d)), source("rss"))) for d in DECOYS},
    "json: TASS nested 100,000 deep": lambda: tass.parse(raw(deep_json("newsList")),
                                                        source("tass")),
    "json: Xinhua nested 100,000 deep": lambda: xinhua.parse(raw(deep_json("datasource")),
                                                            source("xinhua")),
    "json: Carnegie __NEXT_DATA__ 100,000 deep": lambda: carnegie.next_data_items(
        carnegie.document(carnegie_deep_page()), raw(carnegie_deep_page()), source("carnegie")),
    "regex: DOCTYPE scan, unclosed subsets": lambda: rss.without_doctypes(
        "<!DOCTYPE a [" * (REGEX_SIZE // 13)),
    "regex: MFA title suffix": _mfa_title,
    "regex: MFA body markers, no end": _mfa_markers,
    "regex: People's Daily title suffix": _people_title,
    "regex: feedparser's author e-mail pattern": lambda: rss.parse(raw(long_author_feed()),
                                                                    source("rss")),
    "regex: Carnegie research link": lambda: carnegie.RESEARCH_PATH.match(
        "https://" + "a" * REGEX_SIZE),
    **{f"date: {text}": (lambda text=text: parse_time(text)) for text in OUT_OF_RANGE},
    "date: year 1 in page text": lambda: date_in_text("发布时间：0001年01月01日"),
    "date: feed entry dated 9999": lambda: rss.parse(raw(year_9999_feed()), source("rss")),
}
