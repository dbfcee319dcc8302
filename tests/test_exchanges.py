"""Press conferences by exchange: the split, the topic query and the MFA adapter's exchange items.

The recorded transcripts of 3 July 2020 (EN and ZH, ../shared) were read by hand: 11 questions
each, all answered by Zhao Lijian, the last one (on Diaoyu Dao) "raised after the press
conference" by an unnamed reporter; no opening announcements. India comes up in questions 6
(Phoenix TV), 8 (PTI) and 9 (Kyodo News, Modi at the border); Hong Kong in 1 (CCTV), 3 (China
News Service) and 9 (Kyodo News, the LDP resolution); Russia in none. The constructed
2024-layout transcript (synthetic, tests/fixtures/feeds/mfa/) has an exchange about Russia.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FIXTURES, ROOT, shared_path

from monitor.adapters import exchanges, mfa
from monitor.adapters.helpers import decode, document
from monitor.fetch.saved import read_saved
from monitor.pipeline.normalize import normalize

EN_URL = "https://www.fmprc.gov.cn/mfa_eng/xwfw_665399/s2510_665401/2511_665403/t1794629.shtml"
ZH_URL = "https://www.fmprc.gov.cn/web/wjdt_674879/fyrbt_674889/t1794584.shtml"
RUSSIA_FILE = FIXTURES / "feeds/mfa/en-lxjzh-transcript-2024-layout-russia.html"
RUSSIA_URL = "https://www.fmprc.gov.cn/eng/xw/fyrbt/lxjzh/202607/t20260707_11667001.html"
EN_ASKERS = ["CCTV", "Beijing Youth Daily", "China News Service", "RIA Novosti", "CNR",
             "Phoenix TV", "China Daily", "PTI", "Kyodo News", "AFP", None]
ZH_ASKERS = ["中央电视台", "北京青年报", "中新社", "今日俄罗斯", "中央人民广播电台", "凤凰卫视",
             "中国日报", "印度报业托拉斯", "共同社", "法新社", None]


def _split_recorded(name: str, url: str, lang: str) -> list[exchanges.Exchange]:
    raw = read_saved(shared_path(f"fixtures/feeds/fmprc/{name}"), url)
    root = document(decode(raw))
    title = mfa.article_item(root, decode(raw), raw, _source(lang)).title
    return exchanges.split(mfa.body_paragraphs(root), lang, mfa.spokesperson(title))


def _source(lang: str):
    from monitor.adapters import ADAPTERS
    from monitor.config.sources import load_sources

    wanted = "mfa_en_briefings" if lang == "en" else "mfa_zh_briefings"
    return next(s for s in load_sources(ROOT / "sources.yaml", ADAPTERS) if s.id == wanted)


@pytest.fixture(scope="module")
def en() -> list[exchanges.Exchange]:
    return _split_recorded("en-regular-press-conference-2020-07-03-t1794629.html", EN_URL, "en")


@pytest.fixture(scope="module")
def zh() -> list[exchanges.Exchange]:
    return _split_recorded("zh-lxjzh-2020-07-03-t1794584.html", ZH_URL, "zh")


# --- the split, on text we write here ---------------------------------------------------------

def test_opening_labels_outlets_follow_ups_and_continuations_in_english() -> None:
    text = """Lin Jian: The Foreign Minister will visit Moscow next week.
    The visit will last three days.
    Bloomberg: What will be discussed?
    Can you give details?
    Lin Jian: Bilateral relations. It illustrates a simple truth: we are partners.
    On July 1: nothing more to add.
    Follow-up: Will a pipeline deal be signed?
    Lin Jian: I have nothing to release.
    Q: Another question?
    Spokesperson Lin Jian: Another answer."""
    got = exchanges.split(text, "en")
    assert [(e.n, e.asker, e.answerer) for e in got] == [
        (0, None, "Lin Jian"), (1, "Bloomberg", "Lin Jian"), (2, "Bloomberg", "Lin Jian"),
        (3, None, "Lin Jian")]
    assert got[0].question == "" and got[0].answer.endswith("will last three days.")
    assert got[1].question == "What will be discussed? Can you give details?"
    assert got[1].answer.startswith("Bilateral relations. It illustrates a simple truth: we")
    assert got[1].answer.endswith("On July 1: nothing more to add.")
    assert got[3].answer == "Another answer."


def test_chinese_labels_with_full_width_colons() -> None:
    paragraphs = ["　　毛宁：应邀，外长将访问俄罗斯。", "　　总台央视记者：中方对此访有何期待？",
                  "　　毛宁：关于第一个问题：中俄关系很好。", "　　彭博社记者：还有问题吗？",
                  "　　毛宁：没有。", "　　问：最后一个问题？", "　　毛宁：谢谢。",
                  "　　追问：再追问一下？", "　　毛宁：不再回答。"]
    got = exchanges.split(paragraphs, "zh")
    assert [(e.n, e.asker, e.answerer) for e in got] == [
        (0, None, "毛宁"), (1, "总台央视", "毛宁"), (2, "彭博社", "毛宁"), (3, None, "毛宁"),
        (4, None, "毛宁")]
    assert got[1].answer == "关于第一个问题：中俄关系很好。"
    assert got[1].question == "中方对此访有何期待？"


def test_a_given_spokesperson_wins_over_the_most_frequent_label() -> None:
    text = "CCTV: One?\nWang Wenbin: Yes.\nCCTV: Two?\nWang Wenbin: No.\nCCTV: Three?"
    got = exchanges.split(text, "en", "Wang Wenbin")
    assert [(e.asker, e.answerer, e.answer) for e in got] == [
        ("CCTV", "Wang Wenbin", "Yes."), ("CCTV", "Wang Wenbin", "No."),
        ("CCTV", "Wang Wenbin", "")]
    # A name no label carries (the title's spelling differs): the spokesperson is inferred.
    text = "Wang Wenbin: Opening.\nCCTV: One?\nWang Wenbin: Yes.\nAFP: Two?\nWang Wenbin: No."
    got = exchanges.split(text, "en", "Somebody Else")
    assert [(e.n, e.asker, e.answerer) for e in got] == [
        (0, None, "Wang Wenbin"), (1, "CCTV", "Wang Wenbin"), (2, "AFP", "Wang Wenbin")]


def test_topic_aliases_match_whole_words_only() -> None:
    one = exchanges.Exchange(1, "AFP", "Will you work with us on Indonesia?", "X",
                             "印度尼西亚 is not India. A Russian-made engine.")
    two = exchanges.Exchange(2, "AFP", "What about the US and Sino-Russian ties?", "X", "")
    assert exchanges.about([one, two], "the US") == [two]  # "us" is not the US
    assert exchanges.about([one, two], "India") == [one]  # "India" in the answer
    assert exchanges.about([exchanges.Exchange(3, None, "Indonesia?", "X", "印度尼西亚。")],
                           "印度") == []
    assert exchanges.about([one, two], "Russia") == [one, two]
    assert exchanges.about([one, two], "俄罗斯") == [one, two]  # looked up by any alias
    assert exchanges.about([one, two], "Indonesia") == [one]  # unknown: the word itself


# --- the recorded transcripts of 3 July 2020 --------------------------------------------------

def test_the_recorded_english_transcript_splits_into_its_eleven_exchanges(en) -> None:
    assert [e.n for e in en] == list(range(1, 12)), "no opening announcements on 3 July 2020"
    assert [e.asker for e in en] == EN_ASKERS
    assert {e.answerer for e in en} == {"Zhao Lijian"}
    assert en[0].question.startswith("The foreign ministry of Laos issued a statement")
    assert en[0].answer.startswith("China highly applauds Laos and Vietnam")
    assert en[0].answer.endswith("while an unjust one finds little.\"")  # two paragraphs
    assert en[9].answer.endswith("tens of thousands of miles away."), "the note is dropped"
    assert en[10].question.startswith("In response to Chinese Coast Guard vessels")
    assert not any("Zhao Lijian:" in e.answer or "CCTV:" in e.question for e in en)


def test_the_recorded_chinese_transcript_splits_the_same_way(zh) -> None:
    assert [e.n for e in zh] == list(range(1, 12))
    assert [e.asker for e in zh] == ZH_ASKERS
    assert {e.answerer for e in zh} == {"赵立坚"}
    assert zh[5].question.startswith("据报道，印度交通部长宣布")
    assert zh[10].question.startswith("据报道，日本内阁官房长官菅义伟")


@pytest.mark.parametrize("topic,numbers", [("India", [6, 8, 9]), ("Hong Kong", [1, 3, 9]),
                                           ("Russia", []), ("Xinjiang", [5])])
def test_a_topic_query_finds_exactly_the_exchanges_about_it(en, zh, topic, numbers) -> None:
    assert [e.n for e in exchanges.about(en, topic)] == numbers
    assert [e.n for e in exchanges.about(zh, topic)] == numbers


def test_chinese_aliases_query_the_chinese_transcript(zh) -> None:
    assert [e.n for e in exchanges.about(zh, "印度")] == [6, 8, 9]
    assert [e.n for e in exchanges.about(zh, "香港")] == [1, 3, 9]


def test_the_adapter_adds_one_item_per_exchange_to_the_transcript(sources) -> None:
    source = sources["mfa_en_briefings"]
    raw = read_saved(shared_path(
        "fixtures/feeds/fmprc/en-regular-press-conference-2020-07-03-t1794629.html"), EN_URL)
    transcript, *items = mfa.parse(raw, source)
    assert transcript.variant == "mfa-2020-article" and len(items) == 11
    assert {i.variant for i in items} == {"mfa-exchange"}
    assert {i.url for i in items} == {EN_URL}
    assert [i.authors for i in items] == [[a] if a else [] for a in EN_ASKERS]
    assert {(i.published, i.date_only) for i in items} == {(transcript.published, True)}
    assert items[5].title == ("MFA press conference 3 July 2020: Phoenix TV asks about According"
                              " to reports, India's transport minister said Chinese companies"
                              " will be barred…")
    assert items[5].summary.startswith("Phoenix TV: According to reports, India's transport")
    assert "Zhao Lijian: In recent days some politicians in India" in items[5].summary
    keys = {normalize(i, source, raw.url).key for i in [transcript, *items]}
    assert len(keys) == 12, "each exchange has its own identity key"


def test_the_chinese_adapter_titles_say_who_asked(sources) -> None:
    raw = read_saved(shared_path("fixtures/feeds/fmprc/zh-lxjzh-2020-07-03-t1794584.html"),
                     ZH_URL)
    transcript, *items = mfa.parse(raw, sources["mfa_zh_briefings"])
    assert len(items) == 11
    assert items[0].title.startswith("2020年7月3日外交部例行记者会：中央电视台记者提问：日前")
    assert items[0].authors == ["中央电视台"]
    assert "主持例行记者会" not in items[0].title, "an exchange is not a transcript"


def test_a_statement_page_is_not_split(sources) -> None:
    raw = read_saved(shared_path(
        "fixtures/feeds/fmprc/zh-fyrbt-statement-hk-nsl-2020-06-30.html"),
        "https://www.fmprc.gov.cn/web/wjdt_674879/fyrbt_674889/t1793530.shtml")
    assert [i.variant for i in mfa.parse(raw, sources["mfa_zh_remarks"])] == ["mfa-2020-article"]


# --- the constructed 2024-layout transcript with an exchange about Russia ---------------------

def test_the_constructed_transcript_splits_and_finds_russia(sources) -> None:
    root = document(RUSSIA_FILE.read_text(encoding="utf-8"))
    got = exchanges.split(mfa.body_paragraphs(root), "en", "Lin Jian")
    assert [(e.n, e.asker) for e in got] == [(0, None), (1, "CCTV"), (2, "TASS"),
                                              (3, "Bloomberg"), (4, None), (5, "Reuters")]
    assert got[0].answer.endswith("We welcome friends from all countries to attend.")
    assert [e.n for e in exchanges.about(got, "Russia")] == [2]
    assert [e.n for e in exchanges.about(got, "India")] == [5]


def test_the_russia_exchange_is_offered_as_a_relevant_candidate(tmp_path: Path) -> None:
    env = {**os.environ, "MONITOR_STORAGE": str(tmp_path / "storage"), "MONITOR_MAX_AGE": "0",
           "MONITOR_SOURCES": str(ROOT / "sources.yaml")}
    env.pop("DATABASE_URL", None)
    out = subprocess.run([sys.executable, "-m", "monitor", "import", "--source",
                          "mfa_en_briefings", "--dry-run", "--json", "--url", RUSSIA_URL,
                          str(RUSSIA_FILE)], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=240)
    assert out.returncode == 0, out.stderr[-2000:]
    items = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(items) == 7, "the transcript, its opening and five exchanges"
    [russia] = [i for i in items if i["authors"] == ["TASS"]]
    assert russia["title"].startswith("MFA press conference 7 July 2026: TASS asks about Russian"
                                      " President Vladimir Putin")
    assert russia["url"] == RUSSIA_URL
    assert "Lin Jian: China and Russia are comprehensive strategic partners" in russia["summary"]
    assert russia["bucket"] != "off_topic", russia
