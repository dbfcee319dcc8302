"""Hostile input that real servers (or attackers) can send: a one-line error or a skipped
field, never a traceback, and never a date that cannot be stored."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from monitor.adapters import carnegie, rss, tass, xinhua
from monitor.adapters.helpers import date_in_text, parse_time
from monitor.errors import NotAFeed
from monitor.models import RawResponse, Source
from monitor.pipeline.normalize import normalize, to_utc

DEEP = "[" * 100_000 + "]" * 100_000


def source(adapter: str, zone: str = "Europe/Moscow") -> Source:
    return Source(id=adapter, name=adapter, adapter=adapter, urls=("https://example.org/feed",),
                  language="en", interval=timedelta(minutes=30), timezone=zone)


@pytest.mark.parametrize("module, body", [
    (tass, '{"newsList": ' + DEEP + "}"),
    (xinhua, '{"datasource": ' + DEEP + "}"),
])
def test_json_nested_100000_deep_is_one_malformed_line(module, body) -> None:
    raw = RawResponse(url="https://example.org/api", content=body.encode())
    with pytest.raises(NotAFeed, match="nested too deep") as caught:
        module.parse(raw, source(module.__name__.rsplit(".", 1)[1]))
    assert "\n" not in str(caught.value)


def test_carnegie_next_data_nested_100000_deep_gives_no_items() -> None:
    page = ('<html><body><script id="__NEXT_DATA__" type="application/json">' + DEEP
            + "</script></body></html>")
    raw = RawResponse(url="https://carnegieendowment.org/research", content=page.encode())
    assert carnegie.next_data_items(carnegie.document(page), raw, source("carnegie")) == []


@pytest.mark.parametrize("text", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00",
                                  "Fri, 31 Dec 9999 23:59:59 -1400"])
def test_dates_out_of_range_are_rejected(text) -> None:
    assert parse_time(text) is None


def test_year_one_in_page_text_is_rejected() -> None:
    assert date_in_text("发布时间：0001年01月01日") is None
    assert date_in_text("0001-01-01") is None
    assert date_in_text("2020-07-03") == datetime(2020, 7, 3)


def test_a_naive_time_that_has_no_utc_is_dropped_not_raised() -> None:
    assert to_utc(datetime(1, 1, 1), source("rss", "Asia/Shanghai")) is None


def test_a_feed_entry_dated_year_9999_keeps_its_other_fields() -> None:
    feed = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item>'
            b"<title>Lavrov meets Wang Yi</title><link>https://example.org/a</link>"
            b"<pubDate>Fri, 31 Dec 9999 23:59:59 -1400</pubDate></item></channel></rss>")
    raw = RawResponse(url="https://example.org/feed", content=feed)
    (item,) = rss.parse(raw, source("rss"))
    item = normalize(item, source("rss"))
    assert item.title == "Lavrov meets Wang Yi" and item.published is None


@pytest.mark.parametrize("decoy", ["<!-- <!DOCTYPE x> -->", "<!DOCTYPE decoy>", ""])
def test_entity_bombs_behind_a_decoy_doctype_are_not_expanded(decoy) -> None:
    import tracemalloc

    laughs = "".join(f'<!ENTITY l{n} "{"&l%d;" % (n - 1) * 10 if n else "lol"}">'
                     for n in range(10))  # 10^9 "lol"s if expanded
    feed = (f'<?xml version="1.0"?>{decoy}<!DOCTYPE rss [{laughs}]><rss version="2.0"><channel>'
            "<title>t</title><item><title>Boom &l9;</title><link>https://example.org/a</link>"
            "</item></channel></rss>").encode()
    raw = RawResponse(url="https://example.org/feed", content=feed)
    tracemalloc.start()
    try:
        items = tass.parse(raw, source("tass"))
    except NotAFeed:
        items = []
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < 50 * 2**20  # not the gigabytes an expansion takes
    assert all("lollol" not in item.title for item in items)
