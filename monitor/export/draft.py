"""The week's draft as data: which stories appear, under which section, in what order.

The renderers (Markdown, Word) only lay this out, so the rules live in one place:
kept stories first, numbered by section in `topics.yaml` order; unreviewed relevant candidates
after them unless the export is kept-only; skipped and off-topic items never appear. Copies of
one story (same `story`) are shown once, under the original publisher.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from monitor.config.topics import Topics
from monitor.models import OFF_TOPIC, Item
from monitor.weeks import parse_week

EXCERPT_CHARS = 600  # about one newsletter paragraph
OTHER_TITLE = "Unclassified"
UNTITLED = "(untitled)"
# A sentence ends at . ! ? … (plus closing quotes) before a space and a capital, digit or quote,
# or at a CJK full stop (which takes no space).
_SENTENCE_END = re.compile(
    r"[.!?…][\"'”’»)\]]*(?=\s+[\"'“‘«(\[]?[A-ZА-ЯЁ0-9\u4e00-\u9fff])|[。！？][”」』）]?")
# Words whose full stop does not end a sentence ("Mr. Putin", "Gen. Gerasimov").
_ABBREVIATIONS = {"mr", "mrs", "ms", "dr", "st", "gen", "col", "lt", "maj", "capt", "sgt",
                  "gov", "sen", "rep", "pres", "prof", "no", "vs", "jan", "feb", "mar", "apr",
                  "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "inc", "corp"}


@dataclass(slots=True)
class Entry:
    """One story as printed: its representative item and what the editor said about it."""

    item: Item
    outlet: str
    comment: str = ""
    also: list[str] = field(default_factory=list)  # outlets of the story's other copies

    @property
    def headline(self) -> str:
        return self.item.title.strip() or UNTITLED

    @property
    def credit(self) -> str:
        """'Author for Outlet', 'A and B for Outlet' or just 'Outlet' (as much as is known)."""
        return credit(self.item.authors, self.outlet)

    @property
    def heading(self) -> str:
        """The newsletter's item line: 'Headline – Author for Outlet'."""
        return f"{self.headline} – {self.credit}" if self.credit else self.headline

    @property
    def excerpt(self) -> str:
        return excerpt(self.item.summary)


@dataclass(slots=True)
class Section:
    title: str
    entries: list[Entry]
    number: int | None = None  # kept sections are numbered; unreviewed ones are not

    @property
    def label(self) -> str:
        return f"{self.number}) {self.title}" if self.number else self.title


@dataclass(slots=True)
class Draft:
    week: str
    first_day: date
    last_day: date
    kept: list[Section]
    unreviewed: list[Section]
    kept_only: bool = False

    @property
    def title(self) -> str:
        dates = span(self.first_day, self.last_day)
        return f"The China-Russia Report – draft for {self.week} ({dates})"

    @property
    def empty(self) -> bool:
        return not self.kept and not self.unreviewed

    @property
    def summary(self) -> str:
        """The line under the title: what the draft holds, or that it holds nothing."""
        kept = sum(len(s.entries) for s in self.kept)
        waiting = sum(len(s.entries) for s in self.unreviewed)
        if self.empty:
            return ("No items were kept this week." if self.kept_only
                    else "No candidates were collected this week.")
        text = (f"{count(kept, 'kept item')} in {count(len(self.kept), 'section')}" if kept
                else "No kept items yet")
        return f"{text}, then {count(waiting, 'unreviewed candidate')}." if waiting else f"{text}."


def build_draft(items: list[Item], topics: Topics, outlets: dict[str, str], week: str, *,
                kept_only: bool = False) -> Draft:
    """The draft for a week's stored items (all of them, in any status)."""
    year, number = parse_week(week)
    monday = date.fromisocalendar(year, number, 1)
    kept: dict[str, list[Entry]] = {}
    waiting: dict[str, list[Entry]] = {}
    for copies in stories(items):
        placed = place_story(copies, outlets)
        if placed is None:
            continue
        status, bucket, entry = placed
        if status == "kept" or not kept_only:
            (kept if status == "kept" else waiting).setdefault(bucket, []).append(entry)
    kept_sections = sections(kept, topics)
    for n, section in enumerate(kept_sections, start=1):
        section.number = n
    return Draft(week, monday, monday + timedelta(days=6), kept_sections,
                 sections(waiting, topics), kept_only)


def stories(items: list[Item]) -> list[list[Item]]:
    """Items grouped by story (an item without one is its own story), first-seen order kept."""
    groups: dict[str, list[Item]] = {}
    for item in items:
        groups.setdefault(item.story or item.key or f"id:{item.id}", []).append(item)
    return list(groups.values())


def place_story(copies: list[Item], outlets: dict[str, str]) -> tuple[str, str, Entry] | None:
    """(status, bucket, entry) for one story, or None when it must not appear.

    A keep on any copy wins (the editor chose the story, whatever the classifier said); failing
    that, a skip on any copy drops the story, and so does off-topic on every copy. The entry
    shows the original publisher's copy among those not skipped.
    """
    kept = [i for i in copies if i.status == "kept"]
    if not kept and any(i.status == "skipped" for i in copies):
        return None
    pool = [i for i in copies if i.status != "skipped"]
    rep = min(pool, key=lambda i: (not i.original, moment(i), i.id or 0))
    if kept:
        status, bucket = "kept", kept[0].bucket
    else:
        relevant = [i.bucket for i in [rep, *pool] if i.bucket != OFF_TOPIC]
        if not relevant:
            return None
        status, bucket = "new", relevant[0]
    comments = [i.comment.strip() for i in [*kept, rep, *pool] if i.comment.strip()]
    outlet = outlets.get(rep.source, rep.source)
    also = [outlets.get(i.source, i.source) for i in sorted(copies, key=moment) if i is not rep]
    entry = Entry(rep, outlet, "\n\n".join(dict.fromkeys(comments)),
                  [o for o in dict.fromkeys(also) if o != outlet])
    return status, bucket or "", entry


def sections(by_bucket: dict[str, list[Entry]], topics: Topics) -> list[Section]:
    """Non-empty sections in topics.yaml order; anything else (unclassified) last."""
    out = []
    for topic in topics.buckets:
        if topic.id in by_bucket:
            out.append(Section(topic.title, by_bucket.pop(topic.id)))
    rest = [e for entries in by_bucket.values() for e in entries]
    if rest:
        out.append(Section(OTHER_TITLE, rest))
    for section in out:
        section.entries.sort(key=lambda e: (moment(e.item), e.item.id or 0))
    return out


def moment(item: Item) -> datetime:
    """When an item counts as published: its published time, else when it was first seen."""
    when = item.published or item.first_seen
    return when if when is not None else datetime.max.replace(tzinfo=timezone.utc)


def credit(authors: list[str], outlet: str) -> str:
    """'A for Outlet', 'A and B for Outlet', 'A, B and C for Outlet', or the outlet alone.

    Feeds often name the outlet itself as the author ("TASS", "Xinhua"); that is dropped.
    """
    names = [a.strip() for a in authors if a.strip() and a.strip().casefold() != outlet.casefold()]
    names = list(dict.fromkeys(names))
    if not names:
        return outlet
    people = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    return f"{people} for {outlet}" if outlet else people


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The summary trimmed to whole sentences within `limit` characters; paragraphs kept.

    A first sentence longer than the limit is cut at a word and marked with '…'.
    """
    paragraphs = [" ".join(p.split()) for p in text.splitlines()]
    text = "\n".join(p for p in paragraphs if p)
    if len(text) <= limit:
        return text
    cuts = [m.end() for m in _SENTENCE_END.finditer(text, 0, limit + 1)
            if m.end() <= limit and not _abbreviation(text, m.start())]
    cuts += [i for i, ch in enumerate(text[:limit]) if ch == "\n"]
    if cuts:
        return text[:max(cuts)].rstrip()
    head = text[:limit].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit - 1]
    return head.rstrip(" ,;:") + "…"


def _abbreviation(text: str, stop: int) -> bool:
    """Whether the full stop at `stop` ends an abbreviation or an initial ('U.S.', 'J.')."""
    if text[stop] != ".":
        return False
    word = text[:stop].rsplit(None, 1)[-1] if text[:stop].strip() else ""
    last = word.rsplit(".", 1)[-1].lstrip("(\"'“‘")
    return len(last) <= 1 or last.casefold() in _ABBREVIATIONS


def span(first: date, last: date) -> str:
    """'1–7 July 2024', '29 July – 4 August 2024', '30 December 2024 – 5 January 2025'."""
    if first.year != last.year:
        return f"{first.day} {first:%B %Y} – {last.day} {last:%B %Y}"
    if first.month != last.month:
        return f"{first.day} {first:%B} – {last.day} {last:%B %Y}"
    return f"{first.day}–{last.day} {last:%B %Y}"


def count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
