"""The readout comparison: figures, characterisations and topics across EN, RU and ZH readouts.

Real pairs come from tests/fixtures/stories/readouts.jsonl (p01 is complete on both sides; p04
is a cut Russian report against the whole Xinhua text); the constructed pairs are written here.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import main
from monitor.models import Item
from monitor.pipeline.compare import (
    NO_DIFFERENCES,
    TELEGRAM_LIMIT,
    Readout,
    compare,
    comparison_html,
    figures,
    render_comparison,
    sentences,
)

ROOT = Path(__file__).resolve().parent.parent
READOUTS = ROOT / "tests" / "fixtures" / "stories" / "readouts.jsonl"

# A Kremlin-style English readout and a Xinhua-style Chinese one of the same (constructed) call:
# the trade totals differ ($245 bn against 2400亿美元 = $240 bn), the growth rate agrees, the
# Russian side says "best period in history" and the Chinese side the official partnership
# formula, and only the Russian side mentions Ukraine.
KREMLIN_EN = """Telephone conversation with President of China Xi Jinping
Vladimir Putin had a telephone conversation with President of the People's Republic of China Xi Jinping.
The leaders noted with satisfaction that Russian-Chinese relations are going through the best period in their history.
Trade between the two countries grew by 4.1 percent last year to reach $245 billion.
Vladimir Putin informed Xi Jinping about the situation around Ukraine.
The parties discussed preparations for the SCO summit."""
XINHUA_ZH = """习近平同俄罗斯总统普京通电话
新华社北京5月20日电 国家主席习近平20日同俄罗斯总统普京通电话。
习近平指出,中俄全面战略协作伙伴关系保持高水平运行。去年两国贸易额增长4.1%,达到2400亿美元。
双方就筹备上海合作组织峰会交换了意见。"""


def _readout(pair: str, side: str, lang: str) -> Readout:
    for line in READOUTS.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if (row["pair"], row["side"], row["lang"]) == (pair, side, lang):
            title = "" if row["title"].startswith("(no headline") else row["title"]
            return Readout(text=row["text"], title=title, lang=row["lang"], source=row["source"])
    raise AssertionError(f"no {pair} {side} {lang} readout in {READOUTS}")


def _found(comparison, kind: str) -> dict[str, tuple[str, str]]:
    """label → (status, the quote of the side that has it) for one kind of difference."""
    return {d.label: (d.status, d.ru_quote or d.cn_quote) for d in comparison.differences
            if d.kind == kind}


def _concepts(comparison, attr: str, side: str) -> set[str]:
    return {m.concept for m in getattr(comparison, attr)[side]}


# --- the real pair p01 (19 March 2020: Kremlin EN, Xinhua ZH, both complete) ----------------

def test_p01_real_pair_characterisations_and_topics():
    ru, cn = _readout("p01", "ru", "en"), _readout("p01", "cn", "zh")
    c = compare(ru, cn)
    # both sides speak of close cooperation and mutual support / assistance
    assert {"close", "mutual_support"} <= _concepts(c, "characterisations", "ru")
    assert {"close", "mutual_support"} <= _concepts(c, "characterisations", "cn")
    traits = _found(c, "characterisation")
    assert traits["friendly / friendship"][0] == "ru only"
    assert "friendly Russian-Chinese relations" in traits["friendly / friendship"][1]
    csp = traits["comprehensive strategic partnership (of coordination)"]
    assert csp[0] == "cn only" and "全面战略协作伙伴关系" in csp[1]
    assert traits["new era"] == ("cn only", "习近平强调,在抗击疫情的特殊时刻,中俄相互支持、守望相助,"
                                            "开展了密切合作,体现了新时代中俄关系高水平。")
    topics = _found(c, "topic")
    assert "COVID-19" not in topics and "covid" in _concepts(c, "topics", "ru")
    science = topics["science, technology and innovation"]
    assert science[0] == "cn only" and "中俄科技创新年" in science[1]
    # figures: neither side gives a trade figure; only Xinhua dates the call
    assert [(d.label, d.status, d.cn) for d in c.differences if d.kind == "figure"] == [
        ("date", "cn only", "3月19日 (= 19 March)")]
    # every quote is a sentence of the text it is attributed to
    for d in c.differences:
        assert d.ru_quote is None or d.ru_quote in sentences(f"{ru.title}\n{ru.text}")
        assert d.cn_quote is None or d.cn_quote in sentences(f"{cn.title}\n{cn.text}")


def test_p01_russian_text_against_chinese():
    """The Kremlin's Russian text (first two paragraphs only) against the same Xinhua text."""
    c = compare(_readout("p01", "ru", "ru"), _readout("p01", "cn", "zh"))
    assert "close" in _concepts(c, "characterisations", "ru") & _concepts(
        c, "characterisations", "cn")  # «тесное сотрудничество» / 密切合作
    assert "covid" in _concepts(c, "topics", "ru") & _concepts(c, "topics", "cn")
    assert _found(c, "characterisation")["mutual support and assistance"][0] == "cn only"


def test_p04_omitted_topics_on_each_side():
    """15 June 2022: Xinhua has Putin on Xinjiang, Hong Kong, Taiwan and the Global Security
    Initiative; the Kremlin-based report has Xi on the legitimacy of Russia's actions."""
    c = compare(_readout("p04", "ru", "ru"), _readout("p04", "cn", "zh"))
    topics = _found(c, "topic")
    for label in ("Taiwan", "Hong Kong", "Xinjiang", "the Global Security Initiative"):
        status, quote = topics[label]
        assert status == "cn only"
        assert "反对任何势力借口所谓新疆、香港、台湾等问题干涉中国内政" in quote
    status, quote = topics["Russia's security concerns / legitimacy of its actions"]
    assert status == "ru only" and "правомерность предпринимаемых Россией действий" in quote
    assert "ukraine" in _concepts(c, "topics", "ru") & _concepts(c, "topics", "cn")
    traits = _found(c, "characterisation")
    assert traits["unprecedented"][0] == "ru only"  # «на беспрецедентно высоком уровне»


# --- constructed pairs ------------------------------------------------------------------------

def test_constructed_pair_finds_all_three_kinds():
    c = compare(Readout(KREMLIN_EN, source="Kremlin"), Readout(XINHUA_ZH, source="Xinhua"))
    money = [d for d in c.differences if d.kind == "figure" and d.label == "trade total (USD)"]
    assert len(money) == 1
    (trade,) = money
    assert trade.status == "differs"
    assert trade.ru == "$245 billion" and trade.cn == "2400亿美元 (= $240 billion)"
    assert trade.ru_quote.startswith("Trade between the two countries grew by 4.1 percent")
    assert trade.cn_quote == "去年两国贸易额增长4.1%,达到2400亿美元。"
    # the growth rate agrees, so it is not a difference
    assert [(a.shown, b.shown) for a, b in c.same_figures] == [("4.1 percent", "4.1%")]
    traits = _found(c, "characterisation")
    assert traits["best period in history"][0] == "ru only"
    assert traits["comprehensive strategic partnership (of coordination)"] == (
        "cn only", "习近平指出,中俄全面战略协作伙伴关系保持高水平运行。")
    topics = _found(c, "topic")
    assert topics["Ukraine"] == ("ru only",
                                 "Vladimir Putin informed Xi Jinping about the situation around "
                                 "Ukraine.")
    assert "SCO" not in topics and "sco" in _concepts(c, "topics", "cn")
    text = render_comparison(c)
    assert "≠ trade total (USD): RU $245 billion  |  CN 2400亿美元 (= $240 billion)" in text
    assert "only RU: Ukraine (Ukraine)" in text
    assert NO_DIFFERENCES not in text


def test_equal_totals_in_different_units_are_not_a_difference():
    c = compare(Readout(KREMLIN_EN.replace("$245 billion", "$240 billion")), Readout(XINHUA_ZH))
    assert not [d for d in c.differences if d.label == "trade total (USD)"]
    assert ("$240 billion", "2400亿美元") in [(a.shown, b.shown) for a, b in c.same_figures]


def test_pair_without_differences_says_so():
    ru = Readout("Trade grew by 4.1% to $240 billion. The presidents praised the comprehensive "
                 "strategic partnership of coordination between Russia and China.")
    cn = Readout("两国贸易额增长4.1%,达到2400亿美元。两国元首积极评价中俄全面战略协作伙伴关系。")
    c = compare(ru, cn)
    assert c.differences == []
    assert len(c.same_figures) == 2
    assert render_comparison(c).endswith(NO_DIFFERENCES)
    assert comparison_html(c).endswith(NO_DIFFERENCES)


def test_russian_side_in_russian():
    ru = Readout("Товарооборот в прошлом году вырос на 4,1 % и достиг 245 млрд долларов. "
                 "Российско-китайские отношения переживают лучший период в своей истории. "
                 "Обсуждалась ситуация на Украине.")
    cn = Readout("去年两国贸易额增长4.1%,达到2400亿美元。中俄关系处于历史最好时期。")
    c = compare(ru, cn)
    (trade,) = [d for d in c.differences if d.kind == "figure"]
    assert (trade.label, trade.ru, trade.cn) == (
        "trade total (USD)", "245 млрд долларов (= $245 billion)", "2400亿美元 (= $240 billion)")
    assert "best_period" in _concepts(c, "characterisations", "ru") & _concepts(
        c, "characterisations", "cn")
    assert _found(c, "topic") == {"Ukraine": ("ru only", "Обсуждалась ситуация на Украине.")}


@pytest.mark.parametrize(("text", "measure", "unit", "value"), [
    ("trade reached $107 billion", "money", "USD", 107e9),
    ("товарооборот достиг 107 млрд долларов", "money", "USD", 107e9),
    ("贸易额达到1070亿美元", "money", "USD", 107e9),
    ("贸易额突破1.07万亿美元", "money", "USD", 1.07e12),
    ("товарооборот 1 070 млрд рублей", "money", "RUB", 1.07e12),
    ("trade of 3.1 trillion yuan", "money", "CNY", 3.1e12),
    ("gas deliveries of 38 bcm", "volume", "m3", 38e9),
    ("поставки 38 млрд кубометров газа", "volume", "m3", 38e9),
    ("trade grew by 4.1%", "percent", "%", 4.1),
    ("贸易额增长4.1%", "percent", "%", 4.1),
    ("товарооборот вырос на 4,1 %", "percent", "%", 4.1),
    ("the 75th anniversary of Victory", "anniversary", "", 75),
    ("卫国战争胜利75周年", "anniversary", "", 75),
    ("к 75-летию Победы", "anniversary", "", 75),
    ("signed 20 documents", "count", "docs", 20),
    ("签署了20项合作文件", "count", "docs", 20),
    ("on 19 March", "date", "", 319),
    ("on March 19", "date", "", 319),
    ("19 марта", "date", "", 319),
    ("新华社北京3月19日电", "date", "", 319),
])
def test_figures_are_read_with_their_units(text, measure, unit, value):
    (figure,) = figures(text)
    assert (figure.measure, figure.unit) == (measure, unit)
    assert figure.value == pytest.approx(value)


def test_generic_words_count_only_about_the_relationship():
    """"unprecedented calamity" (World War II) is not a characterisation of the ties."""
    c = compare(_readout("p06", "ru", "en"), _readout("p06", "cn", "en"))
    assert "unprecedented" not in _concepts(c, "characterisations", "cn")


def test_html_is_escaped_and_fits_telegram():
    topics = ("Ukraine", "Taiwan", "Hong Kong", "Xinjiang", "NATO", "BRICS", "sanctions",
              "the Power of Siberia pipeline", "COVID-19", "the United States", "Tibet", "Iran",
              "Japan", "Afghanistan", "the Arctic", "the Korean Peninsula", "terrorism",
              "the Belt and Road", "Central Asia", "the SCO", "the Constitution", "vaccines")
    ru = Readout(" ".join(f"<b>{t}</b> & " + "padding " * 80 + "." for t in topics))
    cn = Readout("中俄关系处于历史最好时期,<i>全面战略协作伙伴关系</i>。" * 3)
    c = compare(ru, cn)
    assert len(render_comparison(c)) > TELEGRAM_LIMIT  # so the HTML had to be shortened
    html_text = comparison_html(c)
    assert len(html_text) <= TELEGRAM_LIMIT
    assert "<b>Ukraine</b> &" not in html_text and "&lt;b&gt;Ukraine&lt;/b&gt; &amp;" in html_text
    assert "<i>全面" not in html_text and "&lt;i&gt;全面" in html_text
    assert "only RU: <b>vaccines" in html_text or "only RU: <b>health care" in html_text


# --- the command ------------------------------------------------------------------------------

def test_cli_compares_two_files(tmp_path: Path):
    ru, cn = tmp_path / "kremlin.txt", tmp_path / "xinhua.txt"
    ru.write_text(KREMLIN_EN, encoding="utf-8")
    cn.write_text(XINHUA_ZH, encoding="utf-8")
    result = CliRunner().invoke(main, ["compare", "--ru", str(ru), "--cn", str(cn)])
    assert result.exit_code == 0, result.output
    assert "≠ trade total (USD): RU $245 billion  |  CN 2400亿美元 (= $240 billion)" in result.output
    assert "only RU: Ukraine" in result.output
    lonely = CliRunner().invoke(main, ["compare", "--ru", str(ru)])
    assert lonely.exit_code == 2


def _env(tmp_path: Path) -> dict[str, str]:
    return {"DATABASE_URL": f"sqlite:///{tmp_path / 'monitor.sqlite3'}",
            "MONITOR_STORAGE": str(tmp_path), "MONITOR_SOURCES": str(ROOT / "sources.yaml"),
            "MONITOR_TOPICS": str(ROOT / "topics.yaml")}


async def _store(url: str, items: list[Item]) -> None:
    from monitor.store.db import open_database
    from monitor.store.items import insert_new

    engine = await open_database(url)
    try:
        assert len(await insert_new(engine, items)) == len(items)
    finally:
        await engine.dispose()


def _item(source: str, key: str, story: str, title: str, summary: str, lang: str) -> Item:
    return Item(source=source, url=f"https://example.org/{key}", title=title, summary=summary,
                lang=lang, key=key, story=story, original=source == "kremlin",
                published=datetime(2026, 5, 20, 12, tzinfo=timezone.utc))


def test_cli_compares_a_stored_story(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    env = _env(tmp_path)
    lead_ru = KREMLIN_EN.split("\n", 2)
    lead_cn = XINHUA_ZH.split("\n", 2)
    asyncio.run(_store(env["DATABASE_URL"], [
        _item("kremlin", "k1", "s1", lead_ru[0], " ".join(lead_ru[1:]), "en"),
        _item("tass", "t1", "s1", "Putin, Xi hold phone talks", "Trade reached $245 billion.",
              "en"),
        _item("xinhua_zh", "x1", "s1", lead_cn[0], " ".join(lead_cn[1:]), "zh"),
        _item("tass", "t2", "s2", "Lavrov meets Wang Yi", "The ministers met in Moscow.", "en"),
    ]))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    result = CliRunner().invoke(main, ["compare", "s1"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Story s1: kremlin (item 1) against xinhua_zh (item 3).")
    assert "only the title and the lead" in result.output
    assert "≠ trade total (USD): RU $245 billion" in result.output
    assert "only RU: Ukraine" in result.output
    unpaired = CliRunner().invoke(main, ["compare", "s2"])
    assert unpaired.exit_code == 2
    assert unpaired.stderr.strip().splitlines() == [
        "monitor: story 's2' has no pair of official readouts (a Kremlin or Russian MFA item and "
        "a PRC MFA, Xinhua or People's Daily item); it holds: tass"]
