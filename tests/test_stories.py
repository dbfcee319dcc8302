"""Stories: one event across outlets and languages is one story; other events stay apart.

Unit tests build reports with controlled vectors (so the embedding's share is known) and check
the gazetteer, the time window and the rules that never merge. The store test checks that
linking reads only the window. The recorded MFA and Kremlin pages go through `monitor import`
and `monitor export` in a subprocess on a temporary SQLite file.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, shared_path

from monitor.models import Item, StoryRef
from monitor.pipeline import run, stories
from monitor.pipeline.dedupe import title_signature, vector_bytes
from monitor.pipeline.stories import features, link_stories, window_ranges
from monitor.store import items as item_store

T0 = datetime(2020, 7, 3, 12, 0, tzinfo=timezone.utc)
OUTLETS = {"kremlin": "Kremlin", "xinhua": "Xinhua", "tass": "TASS", "mfa_en": "PRC MFA",
           "mfa_zh": "PRC MFA", "peoples_daily_zh": "People's Daily"}


def item(key: str, source: str, title: str, hours: float | None, summary: str = "",
         date_only: bool = False, origin: str | None = None) -> Item:
    return Item(source=source, url=f"https://x/{key}", title=title, summary=summary, key=key,
                published=None if hours is None else T0 + timedelta(hours=hours),
                date_only=date_only, origin=origin)


def vectors(*cosines: float) -> np.ndarray:
    """Unit vectors: the first is e0, each other has the given cosine with it (and with each
    other: cos_i * cos_j, since their remaining parts are orthogonal)."""
    rows = [np.eye(len(cosines) + 1, dtype=np.float32)[0]]
    for n, c in enumerate(cosines, start=1):
        v = np.zeros(len(cosines) + 1, dtype=np.float32)
        v[0], v[n] = c, np.sqrt(1 - c * c)
        rows.append(v)
    return np.stack(rows)


def names(title: str, summary: str = "") -> set[str]:
    report = features("k", "k", "s", title, summary, T0, False)
    found = {n for n, hit in zip(stories._ENTITY_NAMES, report.names) if hit}
    return found | {k for k, hit in zip(stories._KIND_NAMES, report.kinds) if hit}


def test_the_gazetteer_reads_english_russian_and_chinese_alike() -> None:
    assert {"putin", "xi", "call"} <= names("习近平同俄罗斯总统普京通电话")
    assert {"putin", "xi", "call"} <= names("Путин провел телефонный разговор с Си Цзиньпином")
    assert {"xi", "call"} <= names("Telephone conversation with President of China Xi Jinping")
    assert {"lavrov", "wang_yi", "talks", "foreign_minister"} <= names(
        "Wang Yi Holds Talks with Russian Foreign Minister Sergey Lavrov")
    assert {"sco", "presser"} <= names("上合组织外长会议 记者会")
    assert "xi" not in names("Xinjiang exports rise")  # a word start, not a substring
    assert stories.title_date(stories._folded("… Press Conference on July 3, 2020")) == 703
    assert stories.title_date(stories._folded("2020年7月3日外交部发言人赵立坚主持例行记者会")) == 703


def test_one_call_across_languages_is_one_story_and_the_next_call_another() -> None:
    kremlin = item("k", "kremlin", "Telephone conversation with President of China Xi Jinping",
                   0, "Vladimir Putin had a telephone conversation with President of the "
                   "People's Republic of China Xi Jinping.")
    xinhua = item("x", "xinhua", "习近平同俄罗斯总统普京通电话", 10)
    tass = item("t", "tass", "Путин и Си Цзиньпин провели телефонный разговор", 3)
    # a same-day call of Xi with another leader, worded alike (cosine 0.7 with the first)
    other = item("o", "xinhua", "习近平同美国总统特朗普通电话", 5)
    link_stories([kremlin, xinhua, tass, other], OUTLETS, [], vectors(0.55, 0.5, 0.7))
    assert kremlin.story == xinhua.story == tass.story == "k"
    assert other.story == "o"
    assert (kremlin.original, tass.original, xinhua.original) == (True, False, False)


def test_press_conferences_of_other_dates_never_merge_and_one_date_does() -> None:
    en3 = item("en3", "mfa_en", "Foreign Ministry Spokesperson Zhao Lijian's Regular Press "
               "Conference on July 3, 2020", 0, date_only=True)
    zh3 = item("zh3", "mfa_zh", "2020年7月3日外交部发言人赵立坚主持例行记者会", 0, date_only=True)
    en2 = item("en2", "mfa_en", "Foreign Ministry Spokesperson Zhao Lijian's Regular Press "
               "Conference on July 2, 2020", -24, date_only=True)
    zh2 = item("zh2", "mfa_zh", "2020年7月2日外交部发言人赵立坚主持例行记者会", -24, date_only=True)
    v = np.tile(vectors(0.99)[1], (4, 1))  # embeddings that cannot tell them apart
    link_stories([en2, zh2, en3, zh3], OUTLETS, [], v)
    assert en3.story == zh3.story == "en3"
    assert en2.story == zh2.story == "en2"


def test_two_calls_of_one_source_on_different_days_never_merge() -> None:
    title = "Telephone conversation with President of Belarus Alexander Lukashenko"
    first, second = item("a", "kremlin", title, 0), item("b", "kremlin", title, 23)
    link_stories([first, second], OUTLETS, [], np.tile(vectors()[0], (2, 1)))
    assert first.story == "a" and second.story == "b"


def test_video_talks_agree_with_a_call_and_a_phone_call_never_with_talks() -> None:
    call = item("c", "xinhua", "普習通話 普丁：俄中為全球動盪下的「穩定因素」", 0)
    video = item("v", "tass", "Си Цзиньпин по видеосвязи провел переговоры с Владимиром Путиным", 1)
    link_stories([call, video], OUTLETS, [], vectors(0.45))
    assert video.story == "c", "video talks are a video call: a kind both share"
    talks = item("t", "tass", "Путин и Си Цзиньпин провели переговоры в Кремле", 1)
    link_stories([call, talks], OUTLETS, [], vectors(0.8))
    assert talks.story == "t"


def test_a_spokesman_telling_a_briefing_about_the_talks_reports_the_talks() -> None:
    relayed = names("BEIJING, October 19. /TASS/. Russian President Vladimir Putin and Chinese "
                    "President Xi Jinping had a candid, friendly exchange of views, Chinese "
                    "Foreign Ministry Spokesperson Mao Ning told a regular news briefing.")
    assert "presser" not in relayed and {"putin", "xi"} <= relayed
    assert "presser" in names("Foreign Ministry Spokesperson Mao Ning's Regular Press "
                              "Conference on October 19, 2023")
    assert "presser" in names("2020年7月2日外交部发言人赵立坚主持例行记者会")


def test_two_capitals_in_headlines_are_not_two_places_but_harbin_is_not_beijing() -> None:
    invite = item("i", "tass", "Putin Invites Xi to Come to Moscow Next Year", 0)
    spoke = item("s", "xinhua", "President Vladimir Putin spoke with Chinese leader Xi Jinping "
                 "amid signs of Beijing's impatience", 3)
    link_stories([invite, spoke], OUTLETS, [], vectors(0.6))
    assert spoke.story == "i"
    beijing = item("b", "tass", "Putin and Xi hold talks in Beijing", 0)
    harbin = item("h", "xinhua", "Putin and Xi in Harbin", 5)
    link_stories([beijing, harbin], OUTLETS, [], vectors(0.8))
    assert harbin.story == "h"


def test_a_headline_naming_both_sides_is_not_widened_by_the_roles_it_mentions() -> None:
    """"Lavrov meets Wang Yi: the heads of state are resolved …" is the ministers' meeting;
    the heads of state it mentions do not make it Putin's meeting with Wang Yi that day."""
    ministers = item("m", "tass", "俄外长拉夫罗夫会见王毅:俄中元首决心不断加强俄中联系", 0)
    putin = item("p", "xinhua", "Putin receives Wang Yi in the Kremlin", 2)
    link_stories([ministers, putin], OUTLETS, [], vectors(0.6))
    assert putin.story == "p"
    roles = item("r", "xinhua", "The foreign ministers of Russia and China met in Moscow", 2)
    link_stories([ministers, roles], OUTLETS, [], vectors(0.6))
    assert roles.story == "m", "a headline naming only the role still covers the ministers"


def test_a_story_is_joined_for_what_it_holds_not_through_one_member() -> None:
    """Three reports of one event, and a fourth close to the first only (the zoo visit after
    the talks): single-link chaining would merge it; the story's majority does not agree."""
    e = np.eye(4, dtype=np.float32)
    first, second, third = e[0], 0.9 * e[0] + 0.436 * e[1], 0.9 * e[0] + 0.436 * e[2]
    near_first = 0.7 * e[0] + 0.714 * e[3]  # 0.70 with the first, 0.63 with the others
    reports = [item(k, src, title, h) for k, src, title, h in (
        ("a", "tass", "A state visit begins", 0), ("b", "xinhua", "The state visit opens", 1),
        ("c", "kremlin", "First day of the state visit", 2),
        ("d", "peoples_daily_zh", "Pandas at the zoo", 3))]
    v = np.stack([first, second, third, near_first])
    link_stories(reports, OUTLETS, [], v / np.linalg.norm(v, axis=1, keepdims=True))
    assert [r.story for r in reports] == ["a", "a", "a", "d"]
    agreeing = item("e", "peoples_daily_zh", "The visit's first day", 3)
    v[3] = 0.8 * e[0] + 0.3 * e[1] + 0.3 * e[2] + 0.42 * e[3]  # 0.80, 0.85, 0.85
    reports[3] = agreeing
    link_stories(reports, OUTLETS, [], v / np.linalg.norm(v, axis=1, keepdims=True))
    assert agreeing.story == "a"


def test_the_window_is_on_publication_time_and_wider_for_date_only_items() -> None:
    timed = item("a", "tass", "Putin, Xi hold talks in Moscow", 0)
    late = item("b", "xinhua", "Putin, Xi hold talks in Moscow!", 45)  # same headline, 45 h on
    link_stories([timed, late], OUTLETS, [], None)
    assert late.story == "b"
    day = item("c", "xinhua", "Putin, Xi hold talks in Moscow", 45, date_only=True)
    link_stories([timed, day], OUTLETS, [], None)
    assert day.story == "a"
    unknown = item("d", "xinhua", "Putin, Xi hold talks in Moscow", None)
    link_stories([timed, unknown], OUTLETS, [], None)
    assert unknown.story == "a", "no time: the same headline still links"


def test_a_stored_original_is_demoted_by_an_earlier_copy_and_copies_never_lead() -> None:
    ref = StoryRef(key="s1", source="tass", story="s1", original=True,
                   published=T0 + timedelta(hours=3), title_sig=title_signature("Xi meets Putin"),
                   embedding=vector_bytes(vectors(0.9)[0]))
    stored = [stories.stored_report(ref, "Xi meets Putin", "", False)]
    earlier = item("n1", "xinhua", "Xi, Putin meet in Beijing", 1)
    copy = item("n2", "peoples_daily_zh", "Xi, Putin meet in Beijing", 0, origin="新华网")
    demoted = link_stories([earlier, copy], OUTLETS, stored, vectors(0.9)[1:].repeat(2, 0),
                           vectors(0.9)[:1])
    assert earlier.story == copy.story == "s1"
    assert demoted == ["s1"]
    assert earlier.original and not copy.original


def test_a_batch_spread_over_months_reads_only_the_days_around_its_items() -> None:
    times = [T0, T0 + timedelta(hours=5), T0 + timedelta(days=60), None]
    ranges = window_ranges(times)
    assert len(ranges) == 2
    assert ranges[0][0] < T0 < T0 + timedelta(hours=5) < ranges[0][1] < T0 + timedelta(days=5)
    assert ranges[1][0] > T0 + timedelta(days=55)
    assert window_ranges([None]) == []


async def test_linking_reads_only_the_window_of_the_batch(engine, monkeypatch) -> None:
    title = "Putin, Xi hold talks in Moscow"
    far = item("far", "tass", title, -24 * 30)
    near = item("near", "tass", title, -20)
    untimed = item("untimed", "tass", title, None)
    untimed.first_seen = T0 - timedelta(days=60)
    far.first_seen = near.first_seen = T0
    await item_store.insert_new(engine, [far, near, untimed],
                                {i.key: {"title_sig": title_signature(title)}
                                 for i in (far, near, untimed)})
    [(start, end)] = window_ranges([T0])
    assert start > far.published and end < T0 + timedelta(days=4)
    rows = await item_store.story_window(engine, start, end)
    assert [ref.key for ref, *_ in rows] == ["near"]
    assert [r.key for r in await item_store.recent_story_refs(engine, start, end)] == ["near"]

    seen: list[tuple[datetime, datetime]] = []
    real = item_store.story_window

    async def spy(engine, start, end):
        seen.append((start, end))
        return await real(engine, start, end)

    monkeypatch.setattr(item_store, "story_window", spy)
    new = item("new", "xinhua", title + "!", 0)
    pipeline = run.Pipeline(engine=engine, sources={})
    source = _source("xinhua")
    [stored] = await run.process(pipeline, source, [new])
    assert seen == window_ranges([stored.published])
    assert stored.story == "near", "linked within the window, not to the older copies"


def _source(sid: str):
    from monitor.models import Source

    return Source(id=sid, name=sid, adapter="rss", urls=("https://x/",), language="en",
                  interval=timedelta(hours=1), timezone="UTC", outlet=sid)


# --- the recorded MFA and Kremlin pages, through the pipeline into SQLite --------------------------------------

EN = "https://www.fmprc.gov.cn/mfa_eng/xwfw_665399/s2510_665401/2511_665403/"
ZH = "https://www.fmprc.gov.cn/web/wjdt_674879/fyrbt_674889/"
KREMLIN = "http://en.kremlin.ru/events/president/news/"
RECORDED = [  # (source, recorded page, the address it came from), in the order a backfill reads
    ("mfa_en_briefings", "fmprc/en-regular-press-conference-2020-07-03-t1794629.html",
     f"{EN}t1794629.shtml"),
    ("mfa_en_briefings", "fmprc/en-regular-press-conference-listing-default-2020-07-04.html",
     f"{EN}default.shtml"),
    ("mfa_en_briefings", "fmprc/en-regular-press-conference-listing-default_1-2020-07-04.html",
     f"{EN}default_1.shtml"),
    ("mfa_zh_briefings", "fmprc/zh-lxjzh-2020-07-03-t1794584.html", f"{ZH}t1794584.shtml"),
    ("mfa_zh_remarks", "fmprc/zh-fyrbt-listing-default-2020-07-04.html", f"{ZH}default.shtml"),
    ("kremlin", "kremlin/en-president-news-feed-atom-2020-08-27.xml", f"{KREMLIN}feed"),
    ("kremlin", "kremlin/en-president-news-listing-page2-2020-08.html", f"{KREMLIN}page/2"),
]
PRESSER = re.compile(r"Regular Press Conference on|主持例行记者会")
W27 = {"2020-06-29", "2020-06-30", "2020-07-01", "2020-07-02", "2020-07-03"}


class _Relevant:
    """The classifier's place: every item political (the draft leaves out off-topic items, and
    these tests are about stories, not about classification)."""

    def classify(self, items: list[Item], threshold=None, vectors=None) -> list[Item]:
        for i in items:
            i.bucket, i.confidence = "political_diplomatic", 0.9
        return items


async def _import_recorded(db_url: str, pages: list[tuple[str, Path, str]]) -> list[dict]:
    """The pages through the pipeline's `process` (as `monitor import` runs it) into db_url."""
    from monitor.adapters import get_adapter
    from monitor.bootstrap import load
    from monitor.config.settings import load_settings
    from monitor.fetch.saved import read_saved
    from monitor.learn.embed import embed
    from monitor.store.db import open_database

    config = load(load_settings({"MONITOR_SOURCES": str(ROOT / "sources.yaml")}))
    engine = await open_database(db_url)
    try:
        pipeline = run.Pipeline(engine=engine, sources=dict(config.sources), embed=embed,
                                classifier=_Relevant())
        for sid, path, url in pages:
            source = config.sources[sid]
            raw = read_saved(path, url)
            await run.process(pipeline, source, get_adapter(source.adapter).parse(raw, source),
                              raw.url)
        return [i.to_json() for i in await item_store.find_items(engine)]
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> tuple[list[dict], str]:
    """Every recorded page imported into one SQLite store; (stored items, the 2020-W27 draft
    as `monitor export` writes it)."""
    import asyncio

    pages = [(sid, shared_path(f"fixtures/feeds/{rel}"), url) for sid, rel, url in RECORDED]
    tmp = tmp_path_factory.mktemp("stories")
    db_url = f"sqlite:///{tmp / 'monitor.sqlite3'}"
    stored = asyncio.run(_import_recorded(db_url, pages))
    md = tmp / "w27.md"
    env = {**os.environ, "DATABASE_URL": db_url, "MONITOR_STORAGE": str(tmp / "storage"),
           "MONITOR_TIMEZONE": "Europe/London", "MONITOR_MAX_AGE": "0",
           "MONITOR_SOURCES": str(ROOT / "sources.yaml")}
    out = subprocess.run([sys.executable, "-m", "monitor", "export", "--week", "2020-W27",
                          "--format", "md", "--out", str(md)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return stored, md.read_text(encoding="utf-8")


def _pressers(stored: list[dict]) -> dict[tuple[str, str], dict]:
    return {(i["lang"], i["published"][:10]): i for i in stored if PRESSER.search(i["title"])}


def test_the_mfa_transcripts_of_3_july_2020_in_english_and_chinese_are_one_story(recorded):
    pressers = _pressers(recorded[0])
    en, zh = pressers["en", "2020-07-03"], pressers["zh", "2020-07-03"]
    assert en["story"] == zh["story"]


def test_each_press_conference_date_is_its_own_story_and_kremlin_items_stay_apart(recorded):
    stored = recorded[0]
    pressers = _pressers(stored)
    assert len(pressers) >= 90, "both listings pages and the Chinese listing were read"
    by_story: dict[str, set[str]] = {}
    for (_lang, day), i in pressers.items():
        by_story.setdefault(i["story"], set()).add(day)
    assert all(len(days) == 1 for days in by_story.values()), by_story
    kremlin = [i for i in stored if i["source"] == "kremlin"]
    assert len(kremlin) >= 30
    kremlin_stories = {i["story"] for i in kremlin}
    assert len(kremlin_stories) == len(kremlin), "two Kremlin items merged"
    assert not kremlin_stories & {i["story"] for i in stored if i["source"] != "kremlin"}


def test_every_press_conference_of_2020_w27_is_in_that_weeks_draft(recorded):
    stored, md = recorded
    pressers = _pressers(stored)
    for day in sorted(W27):
        titles = [i["title"] for (_s, d), i in pressers.items() if d == day]
        assert titles, f"no press conference of {day} was stored"
        assert any(t in md for t in titles), f"the press conference of {day} is not in the draft"
