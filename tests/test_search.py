"""Full-text search of stored items, on SQLite (FTS5) and PostgreSQL (tsvector + GIN): case
folding in every script, Chinese two-character words inside longer runs, ranked results, and
the index kept in step with items stored before and after the migration."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from monitor.models import Item
from monitor.store import items as item_store
from monitor.text import search_terms

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc)


def item(n: int, title: str, summary: str = "", lang: str = "en") -> Item:
    return Item(source="tass", url=f"https://tass.ru/{n}", title=title, summary=summary,
                lang=lang, key=f"s{n}", published=T0 + timedelta(minutes=n))


def test_search_terms_fold_case_in_every_script_and_pair_chinese() -> None:
    assert search_terms("ПУТИН и Си") == ["путин", "и", "си"]
    assert search_terms("中俄关系") == ["中俄", "俄关", "关系"]
    assert search_terms("Straße") == ["strasse"]


async def test_search_finds_putin_in_capitals_and_a_chinese_two_character_word(engine) -> None:
    await item_store.insert_new(engine, [
        item(1, "ПУТИН ПРОВЁЛ ПЕРЕГОВОРЫ С СИ ЦЗИНЬПИНОМ", lang="ru"),
        item(2, "习近平同俄罗斯总统普京会谈 中俄关系进入新时代", lang="zh"),
        item(3, "Zenit beat Spartak", "Football in Moscow"),
        item(4, "Lavrov and Wang Yi discuss the talks", "Putin and Xi Jinping will meet")])

    async def keys(query: str) -> list[str]:
        return [i.key for i in await item_store.find_items(engine, search=query)]

    assert await keys("Путин") == ["s1"]
    assert await keys("путин") == ["s1"]
    assert await keys("中俄") == ["s2"]
    assert await keys("关系") == ["s2"]
    assert await keys("putin") == ["s4"]
    assert await keys("xi jin") == ["s4"]
    assert await keys("moscow football") == ["s3"]
    assert await keys("beijing") == []
    assert await keys("  ,, ") == []
    assert await keys('"; DROP TABLE items; --') == []


async def test_search_ranks_the_better_match_first(engine) -> None:
    await item_store.insert_new(engine, [
        item(1, "Trade", "a note on gas"),
        item(2, "Gas, gas and more gas", "gas pipeline gas prices")])
    found = await item_store.find_items(engine, search="gas")
    assert [i.key for i in found] == ["s2", "s1"]
