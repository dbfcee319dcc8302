"""Stories: the same event across outlets and languages, one story id for all its reports.

A new item joins the story of the stored (or earlier new) report it matches best, among the
reports published within a window of its own publication time (wider when either side is
known only to the day). A match needs enough evidence: the multilingual embedding cosine of
title and lead, plus what the two texts name in common — actors and places from a small
multilingual gazetteer (Putin/Путин/普京, SCO/ШОС/上合 …), the kind of event (a call, talks,
a press conference, a message) and the numbers they quote. Some pairs never merge whatever
their cosine: two calls or two press conferences of different days, two reports of one kind
of event with different counterparts (Putin–Xi against Putin–Trump), and a recurring title
that differs only in its date ("Regular Press Conference on July 2, 2020" / "… July 3 …").
A story is joined only if none of its reports vetoes the newcomer or lies outside its window,
and if at least half of them reach the linking score with it: a newcomer that resembles one
member only (the zoo visit after the talks) does not chain its story to another.

Scoring is vectorised: one matrix product of the new vectors against the window's, and the
feature sets compared as boolean matrices. Nothing outside the window is read or compared, so
the cost depends on the window's size, not the table's. In each story the first publisher is
`original`; a page naming another outlet as its source is a copy (dedupe.is_copy).
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import numpy as np

from monitor.models import Item, StoryRef
from monitor.pipeline import gazetteer
from monitor.pipeline.dedupe import is_copy, title_signature

WINDOW = timedelta(hours=36)  # two timed reports of one event: 94 % are within 48 h
DAY_SLACK = timedelta(hours=14)  # added per date-only side (stored at 12:00 UTC of its day)
SAME_KIND_GAP = timedelta(hours=26)  # two calls / press conferences further apart (timed)
THRESHOLD = 0.64  # linking score (cosine + evidence) a pair must reach
SUPPORT = 0.5  # share of a story's members that must reach THRESHOLD with a newcomer
STRONG_COSINE = 0.86  # near-verbatim copies link on the embedding alone (inside the window)


# --- the gazetteer: canonical id → patterns in English, Russian and Chinese ------------------
# Latin and Cyrillic patterns match from a word start (case-folded, so they may be stems); a
# trailing "$" asks for a word end too. CJK patterns match anywhere.
_PRINCIPALS = frozenset(gazetteer.ACTORS) - gazetteer.COMMENTATORS

_ENTITIES = {**gazetteer.ACTORS, **gazetteer.PLACES}
_ENTITY_NAMES = tuple(_ENTITIES)
_ROLE_OF = [(_ENTITY_NAMES.index(n), _ENTITY_NAMES.index(r)) for n, r in gazetteer.ROLES.items()]
_KIND_NAMES = tuple(gazetteer.KINDS)
_IS_PRINCIPAL = np.array([n in _PRINCIPALS for n in _ENTITY_NAMES])
_IS_PLACE = np.array([n in gazetteer.PLACES for n in _ENTITY_NAMES])
_IS_ACTOR = ~_IS_PLACE
_IS_PERSON = np.array([n in _PRINCIPALS and n not in gazetteer.ROLES.values()
                       for n in _ENTITY_NAMES])
_IS_SPOKESMAN = np.array([n in gazetteer.COMMENTATORS for n in _ENTITY_NAMES])
_IS_CITY = np.array([n in gazetteer.CITIES for n in _ENTITY_NAMES])
_IS_CAPITAL = np.array([n in ("moscow", "beijing") for n in _ENTITY_NAMES])
# Kinds that may describe one event (a video call, video talks, a launch by video link); any
# other two kinds exclude each other unless a report names both.
_COMPATIBLE = {frozenset(p) for p in (("call", "video"), ("talks", "video"),
                                      ("ceremony", "video"))}
_KIND_AGREE = np.array([[a == b or frozenset((a, b)) in _COMPATIBLE
                         for b in _KIND_NAMES] for a in _KIND_NAMES])
_PRESSER = _KIND_NAMES.index("presser")
_RECURRING_KINDS = np.array([k in gazetteer.RECURRING for k in _KIND_NAMES])
_NUMBER_BINS = 64
_DIGITS = re.compile(r"\d+")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_MONTHS = re.compile(r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b|"
                     r"(?:январ|феврал|март|апрел|ма[йя]|июн|июл|август|сентябр|октябр|"
                     r"ноябр|декабр)\w*", re.I)
_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
                "dec")
_RU_MONTHS = ("январ", "феврал", "март", "апрел", "ма", "июн", "июл", "август", "сентябр",
              "октябр", "ноябр", "декабр")
_EN_DATE = re.compile(r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? (\d{1,2})\b")
_RU_DATE = re.compile(r"\b(\d{1,2}) (январ|феврал|март|апрел|ма|июн|июл|август|сентябр|октябр|"
                      r"ноябр|декабр)[а-я]*")
_ZH_DATE = re.compile(r"(\d{1,2})月(\d{1,2})日")
_DOTTED_DATE = re.compile(r"\b(\d{1,2})\.(\d{1,2})\.(?:19|20)\d\d\b")
# "MOSCOW, February 4. /TASS/.", "MOSCOW (UrduPoint News / Sputnik - 11th September, 2020)",
# "Kazan [Russia], October 22 :": where the report was filed, not what it is about.
_CAPS = r"[A-Z][A-Z/-]{2,}(?: [A-Z][A-Z/-]+)*"
_DATELINE = re.compile(rf"^\s*(?:{_CAPS},\s+[A-Z][a-z]+ \d{{1,2}}\.\s*(?:/[A-Za-z]+/\.?)?"
                       rf"|{_CAPS}\s*\([^)]{{0,80}}\)|{_CAPS}\s+[-–]\s+"
                       r"|[A-Z][a-z]+ \[[^\]]{1,30}\],[^:]{0,20}:)\s*")
_CLAUSE = re.compile(r"[.。!！?？;；]")


@dataclass(slots=True)
class Report:
    """What linking compares of one report, stored or new."""

    key: str
    story: str
    source: str
    published: datetime | None
    date_only: bool
    names: np.ndarray  # gazetteer entities named in title + lead (bool per _ENTITY_NAMES)
    headline: np.ndarray  # entities named in the headline (title, or the lead's first clause)
    covered: np.ndarray  # those, and the names whose role the headline states
    kinds: np.ndarray  # event kinds named in the headline, else in the lead (bool per kind)
    numbers: np.ndarray  # numbers quoted, hashed into bins (dates' years left out)
    named_day: int  # the day the title names (month * 100 + day), or 0
    template: str  # the title with its digits and month names removed
    digits: str  # the title's digits, in order
    signature: str
    copy: bool = False
    stored: bool = False
    original: bool = False  # stored reports: the story's original


def features(key: str, story: str, source: str, title: str, summary: str,
             published: datetime | None, date_only: bool) -> Report:
    """The comparable features of one report."""
    text, head = _folded(f"{title} {summary}"), _folded(_DATELINE.sub("", title))
    lead = _folded(_CLAUSE.split(_DATELINE.sub("", summary), 1)[0]) if summary else ""
    names = _with_roles(_FIND_ENTITIES(text))
    stated = _FIND_ENTITIES(head)
    if not (stated & _IS_PRINCIPAL).any():
        stated |= _FIND_ENTITIES(lead)
    headline = _with_roles(stated.copy())
    covered = headline.copy()  # "the foreign ministers met" covers Lavrov and Wang Yi
    if (stated & _IS_PERSON).sum() < 2:  # … unless the headline names both sides ("Lavrov
        for name, role in _ROLE_OF:        # meets Wang Yi: the heads of state resolved …")
            covered[name] |= stated[role]
    kinds = _FIND_KINDS(head)
    if not kinds.any():
        kinds = _FIND_KINDS(lead)
    if (stated & _IS_SPOKESMAN).any() and (stated & _IS_PRINCIPAL).any():
        kinds[_PRESSER] = False  # "… had talks, Mao Ning told a briefing": the talks' report
    template = re.sub(r"[\W_\d]+", "", _MONTHS.sub("", head))
    return Report(key, story, source, published, date_only, names, headline, covered, kinds,
                  _numbers(text), title_date(head), template, "-".join(_DIGITS.findall(head)),
                  title_signature(title))


def _numbers(text: str) -> np.ndarray:
    """Numbers quoted (4.1 %, 190 billion), hashed into bins; years and single digits left out."""
    bins = np.zeros(_NUMBER_BINS, dtype=bool)
    for n in _NUMBER.findall(text):
        if len(n) > 1 and not (len(n) == 4 and n[:2] in ("19", "20")):
            bins[zlib.crc32(n.encode()) % _NUMBER_BINS] = True
    return bins


class _Matcher:
    """A table's patterns as substring tests (fast), with a word-boundary check by regex only
    where the substring occurs and the pattern asks for one."""

    def __init__(self, table: dict[str, tuple[str, ...]]) -> None:
        self.size = len(table)
        self.tests = [(pattern.rstrip("$"), self._boundary(pattern), n)
                      for n, patterns in enumerate(table.values()) for pattern in patterns]

    @staticmethod
    def _boundary(pattern: str) -> re.Pattern[str] | None:
        start = r"\b" if re.match(r"[a-zа-я]", pattern) else ""
        end = r"\b" if pattern.endswith("$") else ""
        return re.compile(start + re.escape(pattern.rstrip("$")) + end) if start or end else None

    def __call__(self, text: str) -> np.ndarray:
        found = np.zeros(self.size, dtype=bool)
        for literal, boundary, n in self.tests:
            if not found[n] and literal in text and (boundary is None or boundary.search(text)):
                found[n] = True
        return found


_FIND_ENTITIES = _Matcher(_ENTITIES)
_FIND_KINDS = _Matcher(gazetteer.KINDS)


def title_date(folded: str) -> int:
    """The day a title names ("July 2, 2020", "7月2日", "2 июля", "04.02.2026") as
    month * 100 + day, or 0."""
    if m := _ZH_DATE.search(folded):
        return int(m[1]) * 100 + int(m[2])
    if m := _EN_DATE.search(folded):
        return (_MONTH_NAMES.index(m[1]) + 1) * 100 + int(m[2])
    if m := _RU_DATE.search(folded):
        return (_RU_MONTHS.index(m[2]) + 1) * 100 + int(m[1])
    if m := _DOTTED_DATE.search(folded):
        return int(m[2]) * 100 + int(m[1])
    return 0


def _with_roles(found: np.ndarray) -> np.ndarray:
    for name, role in _ROLE_OF:
        found[role] |= found[name]
    return found


def _folded(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold().replace("ё", "е")
    return f" {text} "


def item_report(item: Item, outlet: str = "") -> Report:
    report = features(item.key, item.key, item.source, item.title, item.summary,
                      item.published, item.date_only)
    report.copy = is_copy(item, outlet)
    return report


def stored_report(ref: StoryRef, title: str, summary: str, date_only: bool) -> Report:
    report = features(ref.key, ref.story, ref.source, title, summary, ref.published, date_only)
    report.stored, report.original = True, ref.original
    return report


def stored_reports(rows: list[tuple[StoryRef, str, str, bool]],
                   dim: int) -> tuple[list[Report], np.ndarray]:
    """The stored window (store.items.story_window rows) as reports and their embeddings
    (float16 bytes; a zero row where none was stored, which matches nothing)."""
    reports = [stored_report(ref, title, summary, date_only)
               for ref, title, summary, date_only in rows]
    vectors = np.zeros((len(rows), dim), dtype=np.float32)
    for n, (ref, *_rest) in enumerate(rows):
        if ref.embedding and len(ref.embedding) == 2 * dim:
            vectors[n] = np.frombuffer(ref.embedding, dtype=np.float16)
    return reports, vectors


def window_ranges(times: list[datetime | None]) -> list[tuple[datetime, datetime]]:
    """The publication-time ranges whose stored reports a batch published at `times` can link
    to: one range per run of close times, so a backfill spread over months reads only the days
    around its items. Items without a time link within their batch (and by headline) only."""
    reach = WINDOW + 2 * DAY_SLACK
    ranges: list[tuple[datetime, datetime]] = []
    for when in sorted(t for t in times if t is not None):
        if ranges and when - reach <= ranges[-1][1]:
            ranges[-1] = (ranges[-1][0], when + reach)
        else:
            ranges.append((when - reach, when + reach))
    return ranges


# --- pair scores -------------------------------------------------------------------------------

_EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)


@dataclass(slots=True)
class Table:
    """Reports as arrays, for scoring all pairs of two sets at once."""

    hours: np.ndarray  # publication time, hours since 2000 (nan when unknown)
    day: np.ndarray  # publication day number (-1 when unknown)
    date_only: np.ndarray
    names: np.ndarray
    headline: np.ndarray
    covered: np.ndarray
    kinds: np.ndarray
    numbers: np.ndarray
    source: np.ndarray
    named_day: np.ndarray
    template: np.ndarray
    digits: np.ndarray
    signature: np.ndarray
    vectors: np.ndarray | None


def table(reports: list[Report], vectors: np.ndarray | None) -> Table:
    hours = np.array([np.nan if r.published is None else
                      (r.published - _EPOCH).total_seconds() / 3600 for r in reports], dtype=float)
    day = np.array([-1 if r.published is None else _day(r.published) for r in reports], dtype=int)

    def stack(name: str, width: int) -> np.ndarray:
        return np.array([getattr(r, name) for r in reports], dtype=bool).reshape(-1, width)

    def strings(name: str) -> np.ndarray:  # as codes: numpy compares strings holding the GIL
        return np.array([_code(getattr(r, name)) for r in reports], dtype=np.int64)

    entities = len(_ENTITY_NAMES)
    return Table(hours, day, np.array([r.date_only for r in reports], dtype=bool),
                 stack("names", entities), stack("headline", entities),
                 stack("covered", entities),
                 stack("kinds", len(_KIND_NAMES)), stack("numbers", _NUMBER_BINS),
                 strings("source"), np.array([r.named_day for r in reports], dtype=int),
                 strings("template"), strings("digits"), strings("signature"), vectors)


def _code(text: str) -> int:
    """A string's code in a table: equal strings, equal codes; the empty string 0 (others
    collide with it or each other with a chance of 2**-64 a pair). A table compares codes, not
    strings: a 2,000 × 2,000 comparison of strings holds the GIL for about 50 ms, which a poll
    linking in a worker thread would take from the event loop."""
    return 0 if text == "" else hash(text)


def _day(when: datetime) -> int:
    return (when.astimezone(timezone.utc).date() - date(2000, 1, 1)).days


def scores(a: Table, b: Table) -> tuple[np.ndarray, np.ndarray]:
    """(score, allowed) for every pair of a × b: a score >= THRESHOLD links, `allowed` False
    is a veto (outside the window, or a pair that never merges)."""
    gap = np.abs(a.hours[:, None] - b.hours[None, :])
    reach = (WINDOW.total_seconds() / 3600
             + DAY_SLACK.total_seconds() / 3600 * (a.date_only[:, None].astype(float)
                                                   + b.date_only[None, :]))
    inside = gap <= reach  # nan (unknown time) compares False
    unknown = np.isnan(a.hours)[:, None] | np.isnan(b.hours)[None, :]
    cos = (a.vectors @ b.vectors.T if a.vectors is not None and b.vectors is not None
           else np.zeros(gap.shape))
    same_title = (a.signature[:, None] == b.signature[None, :]) & (a.signature[:, None] != 0)
    score = cos + _evidence(a, b)
    score = np.where(same_title | (cos >= STRONG_COSINE), np.inf, score)
    # One outlet seldom reports one event twice but in near-identical words ("Telephone
    # conversation with President of France …" / "… European Council …"): no link between
    # two reports of one source otherwise (they may still meet through other outlets' reports).
    score = np.where(a.source[:, None] == b.source[None, :], np.where(np.isinf(score), score,
                                                                      -np.inf), score)
    allowed = (inside | (unknown & same_title)) & ~_never(a, b, gap)
    return score, allowed


# Weights of the evidence beyond the embedding (each count capped at 2).
WEIGHTS = {"actors": 0.08, "headline": 0.08, "places": 0.04, "numbers": 0.05, "kind": 0.08,
           "day": 0.08}


def _evidence(a: Table, b: Table) -> np.ndarray:
    """Names, places, numbers and the kind of event in common, as a bonus to the cosine."""
    def common(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.minimum(x.astype(np.float32) @ y.T.astype(np.float32), 2)
    w = WEIGHTS
    named = (a.named_day[:, None] == b.named_day[None, :]) & (a.named_day[:, None] > 0)
    return (w["actors"] * common(a.names[:, _IS_ACTOR], b.names[:, _IS_ACTOR])
            + w["day"] * named
            + w["headline"] * common(a.headline[:, _IS_PRINCIPAL], b.headline[:, _IS_PRINCIPAL])
            + w["places"] * common(a.names[:, _IS_PLACE], b.names[:, _IS_PLACE])
            + w["numbers"] * common(a.numbers, b.numbers)
            + w["kind"] * (common(a.kinds, b.kinds) > 0))


def _never(a: Table, b: Table, gap: np.ndarray) -> np.ndarray:
    """Pairs that never merge whatever their similarity."""
    ah, bh = a.headline[:, _IS_PRINCIPAL], b.headline[:, _IS_PRINCIPAL]
    ac, bc = a.covered[:, _IS_PRINCIPAL], b.covered[:, _IS_PRINCIPAL]
    a_only = (ah.astype(np.float32) @ (~bc).T) > 0  # a names a principal b does not cover
    b_only = ((~ac).astype(np.float32) @ bh.T) > 0
    counterparts = a_only & b_only & (ah.sum(1)[:, None] > 0) & (bh.sum(1)[None, :] > 0)
    # Kinds exclude each other when no kind of one agrees with a kind of the other: "video
    # talks" agree with a call through "video".
    kinds = (a.kinds.astype(float) @ _KIND_AGREE.astype(float) @ b.kinds.T.astype(float)) == 0
    kinds &= a.kinds.any(1)[:, None] & b.kinds.any(1)[None, :]
    recurring = (a.kinds[:, _RECURRING_KINDS].astype(float)
                 @ b.kinds[:, _RECURRING_KINDS].T) > 0
    other_day = a.day[:, None] != b.day[None, :]
    same_source = a.source[:, None] == b.source[None, :]
    timed = ~a.date_only[:, None] & ~b.date_only[None, :]
    repeat = recurring & ((timed & (gap > SAME_KIND_GAP.total_seconds() / 3600))
                          | (same_source & other_day))
    named = a.named_day[:, None], b.named_day[None, :]
    dated = (named[0] != named[1]) & (named[0] > 0) & (named[1] > 0)
    dated |= ((a.template[:, None] == b.template[None, :]) & (a.template[:, None] != 0)
              & (a.digits[:, None] != b.digits[None, :]))
    a_city, b_city = a.headline[:, _IS_CITY], b.headline[:, _IS_CITY]
    # Harbin is not Beijing; but "Moscow" and "Beijing" in headlines are as often the
    # governments ("signs of Beijing's impatience") as places, so two capitals alone do not veto.
    cities = (((a_city.astype(np.float32) @ b_city.T.astype(np.float32)) == 0)
              & a_city.any(1)[:, None] & b_city.any(1)[None, :]
              & ((a_city & ~_IS_CAPITAL[_IS_CITY]).any(1)[:, None]
                 | (b_city & ~_IS_CAPITAL[_IS_CITY]).any(1)[None, :]))
    return counterparts | kinds | repeat | dated | cities


# --- linking -----------------------------------------------------------------------------------

def link_stories(new: list[Item], outlets: dict[str, str], stored: list[Report],
                 vectors: np.ndarray | None,
                 stored_vectors: np.ndarray | None = None) -> list[str]:
    """Set `story` and `original` on the new items; return stored keys no longer original.

    `stored` are the stored reports in the batch's window (`stored_report`), with their
    embeddings in `stored_vectors`; `vectors` holds one L2-normalised embedding per new item
    (None: titles and names only). New items are taken in publication order; each joins the
    story of its best-scoring earlier report unless a report of that story vetoes it.
    """
    reports = [item_report(i, outlets.get(i.source, "")) for i in new]
    if vectors is not None and stored:
        if stored_vectors is None:
            stored_vectors = np.zeros((len(stored), vectors.shape[1]), dtype=np.float32)
        all_vectors = np.vstack([stored_vectors, vectors])
    else:
        all_vectors = vectors
    everyone = stored + reports
    score, allowed = scores(table(reports, vectors), table(everyone, all_vectors))
    order = sorted(range(len(new)), key=lambda i: _when(new[i].published))
    done = np.zeros(len(everyone), dtype=bool)
    done[:len(stored)] = True
    names = [r.story for r in stored] + [r.key for r in reports]
    ids = {name: n for n, name in enumerate(dict.fromkeys(names))}
    labels = np.array([ids[name] for name in names], dtype=np.int64)
    story_of = list(ids)
    for i in order:
        column = len(stored) + i
        chosen = _choose(score[i], allowed[i], done, labels, len(story_of))
        if chosen is not None:
            labels[column] = chosen
        reports[i].story = new[i].story = story_of[labels[column]]
        done[column] = True
    return _mark_originals(new, reports, stored)


def _choose(score: np.ndarray, allowed: np.ndarray, done: np.ndarray, labels: np.ndarray,
            stories: int) -> int | None:
    """The story of the best-scoring earlier report, among the stories none of whose members
    vetoes (or lies outside the window) and at least SUPPORT of whose members reach THRESHOLD:
    a story is joined for what it holds, not through the one report that resembles the
    newcomer (single-link chaining: the zoo visit after the talks, then a report of the next
    day's gala through the zoo)."""
    vetoed = np.zeros(stories, dtype=bool)
    vetoed[labels[done & ~allowed]] = True
    linked = done & (score >= THRESHOLD)
    size = np.bincount(labels[done], minlength=stories)
    agree = np.bincount(labels[linked], minlength=stories)
    ok = linked & allowed & ~vetoed[labels] & (agree >= SUPPORT * size)[labels]
    if not ok.any():
        return None
    return int(labels[int(np.argmax(np.where(ok, score, -np.inf)))])


def _mark_originals(new: list[Item], reports: list[Report], stored: list[Report]) -> list[str]:
    """The first publisher of each story is its original (copies only when nothing else)."""
    by_key = {i.key: i for i in new}
    current: dict[str, Report] = {r.story: r for r in stored if r.original}
    demoted: list[str] = []
    for report in sorted(reports, key=lambda r: _when(r.published)):
        item = by_key[report.key]
        held = current.get(report.story)
        if held is None or (not report.copy and (held.copy or
                                                 _when(report.published) < _when(held.published))):
            if held is not None and held.stored:
                demoted.append(held.key)
            elif held is not None:
                by_key[held.key].original = False
            current[report.story] = report
            item.original = not report.copy
        else:
            item.original = False
    return demoted


def _when(value: datetime | None) -> datetime:
    return value or datetime.max.replace(tzinfo=timezone.utc)
