"""The weekly export: a stored week → the reviewed Markdown draft, the same draft in Word, the
table as CSV/JSON, and `monitor export` through a real subprocess (empty week, bad input).

The week is 2024-W27 in America/Chicago (UTC-5 in July): Monday 1 July 00:00 local is
05:00 UTC, and the week ends at 05:00 UTC on Monday 8 July. Items sit a second either side of
both edges. Run with `--update-expected` to rewrite the Markdown fixture, then review the diff.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import FIXTURES, ROOT
from docx import Document

from monitor.bootstrap import load
from monitor.config.settings import load_settings
from monitor.export import render, week_items, write_week_exports
from monitor.export.draft import build_draft, credit, excerpt
from monitor.export.markdown import render_markdown
from monitor.export.table import COLUMNS, flat, render_csv, table_rows
from monitor.models import Item
from monitor.store.items import insert_new

WEEK = "2024-W27"
ZONE = "America/Chicago"
EXPECTED_MD = FIXTURES / "export" / "2024-W27.md"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def item(key: str, source: str, title: str, published: str | None, **kw) -> Item:
    kw.setdefault("first_seen", utc(published) if published else None)
    return Item(key=key, source=source, url=f"https://example.org/{source}/{key}", title=title,
                published=utc(published) if published else None, lang="en", **kw)


GABUEV = (
    "Meanwhile, Beijing and Moscow are continuing to lay the foundations for a deeper and more "
    "durable economic relationship. During Russian President Vladimir Putin's state visit to "
    "China on May 16, Chinese and Russian state railroad companies signed an agreement to expand "
    "cross-border infrastructure. On the same trip, Mr. Putin likely greenlit a scheme to ship "
    "more Russian gas to Central Asia so that Kazakhstan and Uzbekistan could ship more gas to "
    "China. Following his trip, Putin called the presidents of Kazakhstan and Uzbekistan to tell "
    "them about the visit, something he has never done before. On June 7, Gazprom signed "
    "contracts that would expand Russian gas exports to Kazakhstan, Kyrgyzstan, and Uzbekistan.")

WEEK_ITEMS = [
    # Just inside the week's start (Monday 00:00:00 local) and just outside it (a second before).
    item("belarus", "rferl", "Chinese Soldiers Arrive In Belarus For Anti-Terrorism Exercises",
         "2024-07-01T05:00:00", bucket="military_security", confidence=0.93, status="kept",
         reviewed_by="joe",
         summary="Chinese soldiers arrived in Belarus on July 6 for a joint \"anti-terrorism "
                 "training exercise,\" Belarus's Defense Ministry said on Telegram.\n"
                 "It said the maneuvers will be held from July 8-19.",
         comment="Bilateral combined exercises between China and Belarus are not unprecedented. "
                 "Still, the symbolism is striking."),
    item("before", "rferl", "Sunday-night item of the previous week", "2024-07-01T04:59:59",
         bucket="military_security", confidence=0.9, status="kept", comment="Not this week."),
    item("drones", "rferl", "US Allies Say China Is Developing Attack Drones for Russia",
         "2024-07-03T14:00:00", bucket="military_security", confidence=0.88, status="kept",
         reviewed_by="joe", authors=["Rikard Jozwiak"],
         summary="Drones modeled on Iran's Shahed could constitute lethal aid; Ukraine's allies "
                 "worry about China's ability to boost production.",
         comment="Beijing may be considering more open military support for Moscow.\n\n"
                 "More on this soon."),
    item("gabuev", "carnegie", "Why China Is Sabotaging Ukraine", "2024-07-02T12:00:00",
         bucket="economy_trade_sanctions", confidence=0.77, status="kept", reviewed_by="joe",
         authors=["Alexander Gabuev"], summary=GABUEV),
    item("spr", "csis",
         "[Analysis] Is the SPR stockpile enough to support China's *crude* imports?",
         "2024-07-05T09:30:00", bucket="energy_minerals_cleantech", confidence=0.81,
         status="kept", reviewed_by="joe", authors=["Emma Li", "Jane Nakano", "Tom Reed"],
         summary="China has planned a new round of SPR stockpiling. The U.S. Treasury is "
                 "watching. 1. It adds 220,000 b/d of demand."),
    # One story in three outlets: the Xinhua original shows once, with the kept copy's comment.
    item("xi-xinhua", "xinhua", "Xi Jinping meets Putin in Astana", "2024-07-03T08:00:00",
         bucket="political_diplomatic", confidence=0.95, story="xi-xinhua", original=True,
         authors=["Xinhua"], summary="Chinese President Xi Jinping met Russian President "
                                     "Vladimir Putin on the sidelines of the SCO summit."),
    item("xi-pd", "peoples_daily", "Xi meets Putin in Astana", "2024-07-03T09:00:00",
         bucket="political_diplomatic", confidence=0.9, story="xi-xinhua", original=False,
         status="kept", reviewed_by="joe", comment="Putin touted the SCO as a powerful tool."),
    item("xi-gt", "globaltimes", "Xi, Putin meet in Astana", "2024-07-03T10:00:00",
         bucket="political_diplomatic", confidence=0.9, story="xi-xinhua", original=False),
    # Just inside the week's end (Sunday 23:59:59 local) and just outside it.
    item("sco", "kremlin", "Meeting of the SCO Heads of State Council", "2024-07-08T04:59:59",
         bucket="political_diplomatic", confidence=0.97, status="kept", reviewed_by="joe"),
    item("after", "kremlin", "Monday item of the next week", "2024-07-08T05:00:00",
         bucket="political_diplomatic", confidence=0.97, status="kept"),
    # Skipped: never shown, and a skip drops the copies of that story still waiting.
    item("naval", "tass", "Russia, China to hold naval drills", "2024-07-04T10:00:00",
         bucket="military_security", confidence=0.7, status="skipped", reviewed_by="joe",
         story="naval", comment="Routine."),
    item("naval-copy", "globaltimes", "Russian, Chinese navies to drill", "2024-07-04T11:00:00",
         bucket="military_security", confidence=0.7, story="naval", original=False),
    item("football", "tass", "Zenit wins the Russian Super Cup", "2024-07-06T18:00:00",
         bucket="off_topic", confidence=0.9),
    # Unreviewed candidates; one has no published time and counts by when it was first seen.
    item("sadykov", "rferl_centralasia", "Kazakh Journalist's Killing Sends Chill Through Exiles",
         "2024-07-05T16:00:00", bucket="political_diplomatic", confidence=0.71,
         summary="A small crowd of mourners gathered on Friday for the funeral of Aidos Sadykov."),
    item("briefing", "mfa_en_briefings",
         "Foreign Ministry Spokesperson's Regular Press Conference on July 5, 2024", None,
         first_seen=utc("2024-07-05T11:00:00"), bucket="taiwan_indopacific_west", confidence=0.6,
         summary="Question: Taiwan's leader said… Answer: There is but one China in the world."),
    item("batteries", "atlantic_council", "Batteries as a military enabler", "2024-07-07T15:00:00",
         authors=["Joseph Webster"],
         summary="Batteries are an increasingly important feature in military affairs."),
    # Outside the week by published time, whatever its first-seen time; and the reverse.
    item("late", "tass", "Published the week before, seen this week", "2024-06-28T10:00:00",
         first_seen=utc("2024-07-02T10:00:00"), bucket="military_security", confidence=0.8),
    item("unseen", "tass", "No time, first seen the week after", None,
         first_seen=utc("2024-07-09T10:00:00"), bucket="military_security", confidence=0.8),
]
IN_WEEK = {"belarus", "drones", "gabuev", "spr", "xi-xinhua", "xi-pd", "xi-gt", "sco", "naval",
           "naval-copy", "football", "sadykov", "briefing", "batteries"}


@pytest.fixture
def settings(tmp_path: Path, db_url: str):
    return load_settings({"DATABASE_URL": db_url, "MONITOR_STORAGE": str(tmp_path / "storage"),
                          "MONITOR_TIMEZONE": ZONE, "MONITOR_SOURCES": str(ROOT / "sources.yaml"),
                          "MONITOR_TOPICS": str(ROOT / "topics.yaml")})


@pytest.fixture
async def stored(engine) -> list[Item]:
    await insert_new(engine, [replace(i) for i in WEEK_ITEMS])
    return WEEK_ITEMS


async def test_week_is_iso_week_in_editors_zone_by_published_then_first_seen(
        settings, engine, stored) -> None:
    assert {i.key for i in await week_items(settings, engine, WEEK)} == IN_WEEK


async def test_markdown_draft_is_the_reviewed_fixture(settings, engine, stored, request) -> None:
    data, anything = render("md", await week_items(settings, engine, WEEK),
                            *context(settings), WEEK, kept_only=False)
    text = data.decode("utf-8")
    assert anything
    if request.config.getoption("--update-expected"):
        EXPECTED_MD.parent.mkdir(parents=True, exist_ok=True)
        EXPECTED_MD.write_text(text, encoding="utf-8")
    assert text == EXPECTED_MD.read_text(encoding="utf-8")


async def test_kept_only_leaves_out_unreviewed_part(settings, engine, stored) -> None:
    data, _ = render("md", await week_items(settings, engine, WEEK), *context(settings),
                     WEEK, kept_only=True)
    text = data.decode("utf-8")
    expected = EXPECTED_MD.read_text(encoding="utf-8").split("\n## Unreviewed candidates\n")[0]
    assert text == expected.replace(", then 3 unreviewed candidates.", ".")
    assert "Sadykov" not in text and "Batteries" not in text


def markdown_outline(text: str) -> list[tuple[str, str]]:
    """(kind, text) for every heading and link of the Markdown draft, unescaped."""
    out = []
    for line in text.splitlines():
        heading = re.match(r"^(#+) (.*)$", line)
        if heading:
            level = len(heading.group(1)) - 1
            out.append((f"h{level}", re.sub(r"\\(.)", r"\1", heading.group(2))))
        elif line.startswith("<http"):
            out.append(("link", line[1:-1]))
    return out


def docx_outline(data: bytes) -> list[tuple[str, str]]:
    """The same outline read back from the Word file: heading styles and hyperlink targets."""
    out = []
    for paragraph in Document(io.BytesIO(data)).paragraphs:
        style = paragraph.style.name
        if style == "Title":
            out.append(("h0", paragraph.text))
        elif style.startswith("Heading "):
            out.append((f"h{style.split()[1]}", paragraph.text))
        out += [("link", link.address) for link in paragraph.hyperlinks]
    return out


async def test_docx_has_same_sections_items_and_links(settings, engine, stored) -> None:
    items = await week_items(settings, engine, WEEK)
    data, _ = render("docx", items, *context(settings), WEEK, kept_only=False)
    outline = docx_outline(data)
    assert outline == markdown_outline(EXPECTED_MD.read_text(encoding="utf-8"))
    assert ("h1", "1) Political & diplomatic ties") in outline
    assert ("link", "https://example.org/xinhua/xi-xinhua") in outline
    doc = Document(io.BytesIO(data))
    comments = [p.text for p in doc.paragraphs if p.text.startswith("Comment: ")]
    assert "Comment: Putin touted the SCO as a powerful tool." in comments
    assert any(p.style.name == "Quote" and p.text.startswith("Meanwhile, Beijing")
               for p in doc.paragraphs)


async def test_csv_round_trips_and_lists_every_item_of_the_week(settings, engine, stored) -> None:
    items = await week_items(settings, engine, WEEK)
    rows = table_rows(items, *context(settings), WEEK)
    back = list(csv.DictReader(io.StringIO(render_csv(rows), newline="")))
    assert back == [flat(r) for r in rows]
    assert {r["url"].rsplit("/", 1)[1] for r in back} == IN_WEEK
    assert [r["status"] for r in back][:6] == ["kept"] * 6 and back[-1]["status"] == "skipped"
    drones = next(r for r in back if r["url"].endswith("/drones"))
    assert drones == {
        "week": WEEK, "bucket": "military_security", "status": "kept", "source": "rferl",
        "url": "https://example.org/rferl/drones",
        "title": "US Allies Say China Is Developing Attack Drones for Russia",
        "published": "2024-07-03T14:00:00Z",
        "comment": "Beijing may be considering more open military support for Moscow.\n\n"
                   "More on this soon.",
        "confidence": "0.88", "reviewed_by": "joe", "outlet": "RFE/RL",
        "authors": "Rikard Jozwiak", "first_seen": "2024-07-03T14:00:00Z", "story": "",
        "original": "true"}
    kept_only = table_rows(items, *context(settings), WEEK, kept_only=True)
    assert {r["status"] for r in kept_only} == {"kept"} and len(kept_only) == 6


def test_csv_cell_from_the_web_cannot_start_a_formula() -> None:
    row = dict.fromkeys(COLUMNS, None) | {"title": "=HYPERLINK(\"x\")", "authors": []}
    assert flat(row)["title"] == "'=HYPERLINK(\"x\")"


async def test_write_week_exports_writes_md_and_docx_atomically(settings, engine, stored) -> None:
    paths = await write_week_exports(load(settings), engine, WEEK)
    folder = settings.monitor_storage / "exports"
    assert paths == [folder / "china-russia-report-2024-W27.md",
                     folder / "china-russia-report-2024-W27.docx"]
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in paths)
    assert paths[0].read_text(encoding="utf-8") == EXPECTED_MD.read_text(encoding="utf-8")
    assert docx_outline(paths[1].read_bytes()) == markdown_outline(paths[0].read_text("utf-8"))


def test_excerpt_stops_at_a_sentence_not_an_abbreviation() -> None:
    cut = excerpt(GABUEV, 400)
    assert cut.endswith("expand cross-border infrastructure.")
    assert excerpt("The U.S. Treasury said so. More text follows here.", 30) == \
        "The U.S. Treasury said so."
    assert excerpt("中方表示欢迎。俄方也表示支持。双方将继续合作。", 15) == "中方表示欢迎。俄方也表示支持。"
    assert excerpt("one " * 50, 20) == "one one one one one…"


def test_credit_says_as_much_as_is_known() -> None:
    assert credit([], "TASS") == "TASS"
    assert credit(["TASS"], "TASS") == "TASS"
    assert credit(["Emma Li"], "Vortexa") == "Emma Li for Vortexa"
    assert credit(["A", "B", "C"], "CSIS") == "A, B and C for CSIS"


def test_empty_draft_says_so() -> None:
    from monitor.config.topics import load_topics

    draft = build_draft([], load_topics(ROOT / "topics.yaml"), {}, WEEK)
    assert render_markdown(draft) == (
        "# The China-Russia Report – draft for 2024-W27 (1–7 July 2024)\n\n"
        "No candidates were collected this week.\n")


# --- the command, through a real subprocess ---------------------------------------------------

def context(settings):
    """Section titles and outlet names, as the export reads them from the configuration."""
    config = load(settings)
    return config.topics, config.outlets


def run_cli(settings, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, DATABASE_URL=settings.database_url,
               MONITOR_STORAGE=str(settings.monitor_storage), MONITOR_TIMEZONE=ZONE,
               MONITOR_SOURCES=str(ROOT / "sources.yaml"), MONITOR_TOPICS=str(ROOT / "topics.yaml"))
    return subprocess.run([sys.executable, "-m", "monitor", "export", *args], env=env,
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)


async def test_cli_writes_each_format_and_the_csv_matches_the_json(
        settings, engine, stored, tmp_path) -> None:
    result = run_cli(settings, tmp_path, "--week", WEEK)
    assert result.returncode == 0, result.stderr
    default = settings.monitor_storage / "exports" / "china-russia-report-2024-W27.md"
    assert result.stdout.strip() == str(default)
    assert default.read_text(encoding="utf-8") == EXPECTED_MD.read_text(encoding="utf-8")
    for fmt in ("csv", "json", "docx"):
        result = run_cli(settings, tmp_path, "--week", WEEK, "--format", fmt,
                         "--out", str(tmp_path / f"week.{fmt}"))
        assert result.returncode == 0 and result.stderr == "", result.stderr
    with open(tmp_path / "week.csv", encoding="utf-8-sig", newline="") as handle:
        from_csv = list(csv.DictReader(handle))
    from_json = json.loads((tmp_path / "week.json").read_text(encoding="utf-8"))
    assert from_csv == [flat(r) for r in from_json] and len(from_csv) == len(IN_WEEK)
    assert docx_outline((tmp_path / "week.docx").read_bytes()) == \
        markdown_outline(default.read_text(encoding="utf-8"))


async def test_cli_empty_week_writes_a_draft_saying_so(settings, engine, tmp_path) -> None:
    out = tmp_path / "empty.md"
    result = run_cli(settings, tmp_path, "--week", "2024-W30", "--out", str(out))
    assert result.returncode == 0
    assert "No candidates were collected this week." in out.read_text(encoding="utf-8")
    assert "no candidates in 2024-W30" in result.stderr and len(result.stderr.splitlines()) == 1


async def test_cli_default_week_is_the_current_one(settings, engine, tmp_path) -> None:
    now = datetime.now(timezone.utc).replace(microsecond=0)
    await insert_new(engine, [Item(key="now", source="tass", url="https://example.org/now",
                                   title="Happening now", published=now, status="kept",
                                   bucket="military_security")])
    result = run_cli(settings, tmp_path, "--format", "json", "--out", "-")
    assert result.returncode == 0, result.stderr
    assert [r["title"] for r in json.loads(result.stdout)] == ["Happening now"]


@pytest.mark.parametrize("args, named", [
    (["--week", "2024-W7"], "'2024-W7'"),
    (["--week", "2024-W54"], "'2024-W54'"),
    (["--week", WEEK, "--format", "pdf"], "'pdf'"),
])
async def test_cli_bad_week_or_format_is_one_line_exit_2(settings, engine, tmp_path, args,
                                                         named) -> None:
    result = run_cli(settings, tmp_path, *args, "--out", str(tmp_path / "x"))
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1 and named in result.stderr
    assert not (tmp_path / "x").exists()


async def test_cli_unwritable_out_is_one_line_and_leaves_nothing(settings, engine, stored,
                                                                 tmp_path) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    (tmp_path / "a-dir").mkdir()
    for target in (tmp_path / "a-file" / "draft.md", tmp_path / "missing" / "draft.md",
                   tmp_path / "a-dir"):
        result = run_cli(settings, tmp_path, "--week", WEEK, "--out", str(target))
        assert result.returncode == 1
        assert len(result.stderr.splitlines()) == 1 and str(target) in result.stderr
    assert list((tmp_path / "a-dir").iterdir()) == []
    assert (tmp_path / "a-file").read_text() == "not a directory"
    assert not (tmp_path / "missing").exists()


# --- a large week -----------------------------------------------------------------------------

BUCKET_IDS = ["political_diplomatic", "military_security", "economy_trade_sanctions",
              "energy_minerals_cleantech", "tech_cyber_info", "taiwan_indopacific_west"]


def large_week(count: int) -> list[Item]:
    """`count` items over 2024-W27: kept (with comments) and new, every bucket, markup and
    breaks in titles, and every tenth item sharing its predecessor's URL (one relationship)."""
    out = []
    for n in range(count):
        page = n - 1 if n % 10 == 9 else n
        url = f"https://example.org/big/{page}?a=1&b=<{page}>"
        title = f"Item {n} & <co> – \"quoted\"" + ("\twith a tab\nand a break " if n % 7 == 0
                                                    else "")
        out.append(Item(
            key=f"big-{n}", source=("tass", "xinhua", "rferl", "carnegie")[n % 4], url=url,
            title=title, summary=f"First sentence of item {n}. Second one.\nAnother paragraph.",
            published=utc("2024-07-01T06:00:00") + timedelta(seconds=250 * n), lang="en",
            bucket=BUCKET_IDS[n % 6], confidence=0.8, status="kept" if n % 4 == 0 else "new",
            comment=f"Comment {n}.\n\nMore on {n}." if n % 4 == 0 else ""))
    return out


async def test_large_docx_export_is_valid_and_has_every_link(settings, engine) -> None:
    """2,000 stories: the Word file opens, shows every story under its heading with its link
    (each URL one relationship), and its tabs and breaks."""
    await insert_new(engine, large_week(2000))
    items = await week_items(settings, engine, WEEK)
    assert len(items) == 2000
    data, anything = render("docx", items, *context(settings), WEEK, kept_only=False)
    assert anything
    doc = Document(io.BytesIO(data))
    paragraphs = [(p.style.name, p.text, [h.address for h in p.hyperlinks])
                  for p in doc.paragraphs]  # one pass: python-docx looks styles up slowly
    assert sorted(a for *_, links in paragraphs for a in links) == sorted(i.url for i in items)
    external = {r.rId: r.target_ref for r in doc.part.rels.values() if r.is_external}
    assert sorted(external.values()) == sorted({i.url for i in items})
    assert len(external) == 1800
    level2 = [text for style, text, _ in paragraphs if style == "Heading 2"]
    level3 = [text for style, text, _ in paragraphs if style == "Heading 3"]
    assert len(level2) == 500 + 6 and len(level3) == 1500  # unreviewed: 6 sections, stories
    headings = level2 + level3
    assert "Item 28 & <co> – \"quoted\"\twith a tab\nand a break – TASS" in headings
    assert sum(text.startswith("Comment: ") for _, text, _ in paragraphs) == 500
