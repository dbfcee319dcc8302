"""normalize: canonical URL, clean text, UTC by the source's zone rules, language, identity key."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

import pytest

from monitor.models import Item
from monitor.pipeline.normalize import canonical_url, identity_key, language, normalize


@pytest.mark.parametrize("url, base, expected", [
    ("https://WWW.Example.org:443/a/b?utm_source=x&id=5#frag", "", "https://www.example.org/a/b?id=5"),
    ("./t1794629.shtml", "https://www.fmprc.gov.cn/mfa_eng/xwfw/default.shtml",
     "https://www.fmprc.gov.cn/mfa_eng/xwfw/t1794629.shtml"),
    ("../63911.html", "http://en.kremlin.ru/events/president/news/page/2",
     "http://en.kremlin.ru/events/president/news/63911.html"),
    ("http://example.org", "", "http://example.org/"),
    ("https://example.org/p?fbclid=1&gclid=2", "", "https://example.org/p"),
])
def test_canonical_url(url: str, base: str, expected: str) -> None:
    assert canonical_url(url, base) == expected


def test_text_times_and_key(sources) -> None:
    kremlin = sources["kremlin"]
    item = Item(source="kremlin", url="http://en.kremlin.ru/events/president/news/63953#x",
                title="Launching motor traffic on\xa0completed sections\r\n of\xa0Taurida",
                summary="During&nbsp;his working trip", published=datetime(2020, 8, 27, 15, 20))
    normalize(item, kremlin)
    assert item.title == "Launching motor traffic on completed sections of Taurida"
    assert item.summary == "During his working trip"
    assert item.published == datetime(2020, 8, 27, 12, 20, tzinfo=timezone.utc)
    assert item.url == "http://en.kremlin.ru/events/president/news/63953"
    assert item.lang == "en" and len(item.key) == 24


def test_aware_times_are_converted_not_reinterpreted(sources) -> None:
    gt = sources["globaltimes"]
    item = Item(source="globaltimes", url="https://www.globaltimes.cn/page/1.shtml", title="x",
                published=datetime(2026, 7, 6, 13, 40, tzinfo=timezone.utc))
    assert normalize(item, gt).published == datetime(2026, 7, 6, 13, 40, tzinfo=timezone.utc)
    naive = Item(source="globaltimes", url="https://www.globaltimes.cn/page/2.shtml", title="x",
                 published=datetime(2026, 7, 6, 13, 40))
    assert normalize(naive, gt).published == datetime(2026, 7, 6, 5, 40, tzinfo=timezone.utc)


def test_language_by_script() -> None:
    assert language("2020年7月3日外交部发言人赵立坚主持例行记者会", "en") == "zh"
    assert language("Путин провёл переговоры с Си Цзиньпином", "en") == "ru"
    assert language("Putin meets Xi", "ru") == "en"
    assert language("Xi 习近平 meets Putin in Moscow for talks", "en") == "en"


def test_identity_key_prefers_guid_then_url_then_title_and_date(sources) -> None:
    rferl = sources["rferl"]
    base = Item(source="rferl", url="https://www.rferl.org/a/slug/33.html", title="T",
                published=datetime(2026, 1, 1, tzinfo=timezone.utc))
    by_guid = identity_key(replace(base, guid="rferl:33"), rferl)
    assert by_guid == identity_key(replace(base, guid="rferl:33", url="https://x.org/"), rferl)
    by_url = identity_key(base, rferl)
    assert by_url == identity_key(replace(base, guid="https://www.rferl.org/a/slug/33.html"), rferl)
    assert by_url != by_guid
    nolink = replace(base, url="")
    assert identity_key(nolink, rferl) != identity_key(replace(nolink, title="U"), rferl)


def test_an_article_saved_without_its_address_is_keyed_by_title_and_date(sources) -> None:
    mfa = sources["mfa_zh_briefings"]
    listing = mfa.urls[0]
    one = Item(source=mfa.id, url=listing, title="2020年7月3日外交部发言人赵立坚主持例行记者会",
               published=datetime(2020, 7, 3))
    two = replace(one, title="2020年7月2日外交部发言人赵立坚主持例行记者会",
                  published=datetime(2020, 7, 2))
    assert identity_key(one, mfa) != identity_key(two, mfa)
