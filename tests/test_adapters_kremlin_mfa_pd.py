"""Kremlin, MFA and People's Daily beyond the expected-JSON cases: charsets, variants,
origin, the feed→listing fallback, and bodies that must be refused without a crash."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest
from conftest import FIXTURES, shared_path

from monitor.adapters import kremlin, mfa, peoples_daily
from monitor.adapters.helpers import charset_of, decode
from monitor.errors import ConnectFailed, ErrorPage, NotAFeed, ParseError
from monitor.fetch.saved import read_saved
from monitor.models import RawResponse

PD_ARTICLE = "fixtures/feeds/peoples_daily/zh-politics-article-c1001-40223222-2024-04-24.html"
PD_URL = "http://politics.people.com.cn/n1/2024/0424/c1001-40223222.html"
KREMLIN = "fixtures/feeds/kremlin/"
FEED_URL = "http://en.kremlin.ru/events/president/news/feed"


def test_utf8_bytes_declaring_gb2312_are_read_as_utf8() -> None:
    body = '<meta http-equiv="content-type" content="text/html;charset=GB2312"/>习近平'
    assert charset_of(body.encode("utf-8")) == "utf-8"
    assert charset_of(body.encode("utf-8"), "text/html; charset=gb2312") == "utf-8"


def test_gbk_bytes_declaring_gb2312_are_read_as_gb18030() -> None:
    body = '<?xml version="1.0" encoding="gb2312"?><rss><title>李镕、王喆</title></rss>'
    raw = RawResponse(url="http://www.people.com.cn/rss/politics.xml",
                      content=body.encode("gbk"))
    assert charset_of(raw.content) == "gb18030"
    assert "李镕、王喆" in decode(raw)


def test_ascii_keeps_its_declared_charset() -> None:
    assert charset_of(b"<p>plain</p>", "text/html; charset=iso-8859-1") == "cp1252"


def test_synthetic_zh_feed_is_real_gbk_with_characters_outside_gb2312(sources: dict) -> None:
    path = FIXTURES / "feeds/peoples_daily/zh-politics-rss-gbk.xml"
    content = path.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        content.decode("utf-8")
    with pytest.raises(UnicodeEncodeError):
        content.decode("gbk").encode("gb2312")
    raw = read_saved(path, "http://www.people.com.cn/rss/politics.xml")
    items = peoples_daily.parse(raw, sources["peoples_daily_zh"])
    text = " ".join(f"{i.title} {i.summary}" for i in items)
    assert "李镕" in text and "张喆" in text and "\ufffd" not in text


@pytest.mark.parametrize("encoding", ["utf-8", "gbk"])
def test_people_article_same_from_utf8_copy_and_real_gbk(encoding: str, sources: dict) -> None:
    text = shared_path(PD_ARTICLE).read_bytes().decode("utf-8")
    raw = RawResponse(url=PD_URL, content=text.encode(encoding, errors="xmlcharrefreplace"),
                      headers={"Content-Type": "text/html"})
    [item] = peoples_daily.parse(raw, sources["peoples_daily_zh"])
    assert item.title.startswith("促进航天技术更好惠及人民――习近平主席向首届")
    assert not item.title.endswith("人民网")
    assert item.published == datetime(2024, 4, 24, 23, 52)  # Beijing wall clock
    assert item.origin == "Xinhua" and item.variant == "people-article"
    assert "习近平主席" in item.summary


def test_kremlin_feed_times_are_moscow_wall_clock_without_nbsp(sources: dict) -> None:
    raw = read_saved(shared_path(KREMLIN + "en-president-news-feed-atom-2020-08-27.xml"),
                     FEED_URL)
    items = kremlin.parse(raw, sources["kremlin"])
    assert len(items) == 20
    assert items[0].published == datetime(2020, 8, 27, 15, 20)  # naive: Europe/Moscow
    assert {i.variant for i in items} == {"kremlin-atom"}
    assert not any("\xa0" in i.title or "\xa0" in i.summary for i in items)


def test_kremlin_poll_falls_back_to_the_listing(sources: dict) -> None:
    listing = read_saved(shared_path(KREMLIN + "en-president-news-listing-page2-2020-08.html"),
                         "http://en.kremlin.ru/events/president/news/page/2")
    asked: list[str] = []

    async def get(url: str, **_: object) -> RawResponse:
        asked.append(url)
        if url == FEED_URL:
            raise ConnectFailed("refused", url=url)
        return listing

    items = asyncio.run(kremlin.poll(sources["kremlin"], get))
    assert asked == [FEED_URL, "http://en.kremlin.ru/events/president/news"]
    assert len(items) == 20 and items[0].variant == "kremlin-listing"
    assert items[0].url == "http://en.kremlin.ru/events/president/news/63911"


def test_mfa_variants_and_date_only_at_midnight(sources: dict) -> None:
    base = "https://www.fmprc.gov.cn/web/wjdt_674879/fyrbt_674889/"
    raw = read_saved(shared_path("fixtures/feeds/fmprc/zh-fyrbt-listing-default-2020-07-04.html"),
                     base + "default.shtml")
    items = mfa.parse(raw, sources["mfa_zh_remarks"])
    assert items[0].variant == "mfa-2020-listing"
    assert items[0].url == base + "t1794584.shtml"
    assert items[0].published == datetime(2020, 7, 3)
    current = FIXTURES / "feeds/mfa/en-lxjzh-transcript-2024-layout.html"
    item, *exchanges = mfa.parse(read_saved(current, "https://www.fmprc.gov.cn/eng/xw/fyrbt/"
                                                     "lxjzh/202607/t20260703_11665432.html"),
                                 sources["mfa_en_briefings"])
    assert {e.variant for e in exchanges} == {"mfa-exchange"}  # the transcript comes first
    assert item.variant == "mfa-2024-article"
    assert item.published == datetime(2026, 7, 3, 19, 42)
    assert item.title == ("Foreign Ministry Spokesperson Lin Jian’s Regular Press Conference"
                          " on July 3, 2026")


def test_mfa_system_page_after_a_redirect_is_error_page(sources: dict) -> None:
    raw = RawResponse(url="https://www.fmprc.gov.cn/error.htm", content=b"<html>...</html>")
    with pytest.raises(ErrorPage):
        mfa.parse(raw, sources["mfa_en_briefings"])


BAD_BODIES = [b"", b"   ", b"\x00\xff\xfe garbage", b"<html><body><p>hello</p></body></html>",
              b'<?xml version="1.0" encoding="utf-8"?><rss><channel><item><title>x',
              b"<feed xmlns='http://www.w3.org/2005/Atom'><entry><title>t</title>",
              '<?xml version="1.0" encoding="gb2312"?><p>镕</p>'.encode("gbk")]


@pytest.mark.parametrize("adapter,source_id", [(kremlin, "kremlin"), (mfa, "mfa_zh_briefings"),
                                                (peoples_daily, "peoples_daily_zh")])
@pytest.mark.parametrize("body", BAD_BODIES)
def test_bad_bodies_are_refused_never_a_crash(adapter, source_id, body, sources: dict) -> None:
    raw = RawResponse(url="http://127.0.0.1/bad", content=body)
    try:
        items = adapter.parse(raw, sources[source_id])
    except ParseError as exc:
        assert "127.0.0.1/bad" in str(exc)
        return
    assert all(item.title for item in items)


def test_a_kremlin_page_is_not_an_mfa_page(sources: dict) -> None:
    raw = read_saved(shared_path(KREMLIN + "en-president-news-article-63953-2020-08-27.html"),
                     "http://en.kremlin.ru/events/president/news/63953")
    with pytest.raises(NotAFeed):
        mfa.parse(raw, sources["mfa_en_briefings"])



def test_kremlin_listing_saved_under_the_feed_url_still_resolves_links(sources: dict) -> None:
    raw = read_saved(shared_path(KREMLIN + "en-president-news-listing-page2-2020-08.html"),
                     FEED_URL)  # what `monitor import` uses without --url
    items = kremlin.parse(raw, sources["kremlin"])
    assert items[0].url == "http://en.kremlin.ru/events/president/news/63911"
