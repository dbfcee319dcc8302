"""Hostile input that real servers (or attackers) can send: a one-line error or a skipped
field, never a traceback, and never a date that cannot be stored."""

from __future__ import annotations

from datetime import datetime

import pytest
from hostile import (
    DECOYS,
    OUT_OF_RANGE,
    carnegie_deep_page,
    deep_json,
    entity_bomb,
    source,
    year_9999_feed,
)

from monitor.adapters import carnegie, rss, tass, xinhua
from monitor.adapters.helpers import date_in_text, parse_time
from monitor.errors import NotAFeed
from monitor.models import RawResponse
from monitor.pipeline.normalize import normalize, to_utc


@pytest.mark.parametrize("module, body", [
    (tass, deep_json("newsList")),
    (xinhua, deep_json("datasource")),
])
def test_json_nested_100000_deep_is_one_malformed_line(module, body) -> None:
    raw = RawResponse(url="https://example.org/api", content=body.encode())
    with pytest.raises(NotAFeed, match="nested too deep") as caught:
        module.parse(raw, source(module.__name__.rsplit(".", 1)[1]))
    assert "\n" not in str(caught.value)


def test_carnegie_next_data_nested_100000_deep_gives_no_items() -> None:
    page = carnegie_deep_page()
    raw = RawResponse(url="https://carnegieendowment.org/research", content=page.encode())
    assert carnegie.next_data_items(carnegie.document(page), raw, source("carnegie")) == []


@pytest.mark.parametrize("text", OUT_OF_RANGE)
def test_dates_out_of_range_are_rejected(text) -> None:
    assert parse_time(text) is None


def test_year_one_in_page_text_is_rejected() -> None:
    assert date_in_text("发布时间：0001年01月01日") is None
    assert date_in_text("0001-01-01") is None
    assert date_in_text("2020-07-03") == datetime(2020, 7, 3)


def test_a_naive_time_that_has_no_utc_is_dropped_not_raised() -> None:
    assert to_utc(datetime(1, 1, 1), source("rss", "Asia/Shanghai")) is None


def test_a_feed_entry_dated_year_9999_keeps_its_other_fields() -> None:
    raw = RawResponse(url="https://example.org/feed", content=year_9999_feed())
    (item,) = rss.parse(raw, source("rss"))
    item = normalize(item, source("rss"))
    assert item.title == "Lavrov meets Wang Yi" and item.published is None


@pytest.mark.parametrize("decoy", DECOYS)
def test_entity_bombs_behind_a_decoy_doctype_are_not_expanded(decoy) -> None:
    import tracemalloc

    raw = RawResponse(url="https://example.org/feed", content=entity_bomb(decoy))
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
