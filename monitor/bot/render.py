"""Message text in Telegram's HTML: cards, digests, lists and command answers.

Everything that came from a source or a user is escaped; a title is linked only when its URL
is http(s); nothing we send exceeds Telegram's 4096 characters (the excerpt, then the comment,
is shortened first). Times are shown in the editor's zone (MONITOR_TIMEZONE), with the year
when it is not this year, and an item known only to the day shows its date alone.

A card says what (bucket, linked title, excerpt), when, from whom (the source's short name)
and why: the classifier's relevance (P(relevant), not the bucket's share) and its reason (the
decisive terms, or the nearest labelled example). A digest is one message per section with
numbered lines; the numbered buttons under it open each item's card.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from html import escape, unescape
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from monitor.config.topics import Topics
from monitor.models import OFF_TOPIC, Item, Source
from monitor.store.decisions import Decision
from monitor.store.health import Health

MAX_TEXT = 4096  # Telegram's limit, in UTF-16 code units after entity parsing
_TAG = re.compile(r"<[^<>]{0,2000}>")
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]")
EXCERPT = 280  # characters: two to three lines on a phone
_VERDICT = {"keep": "✅ Kept", "skip": "⏭ Skipped (not this week)",
            "offtopic": "🚫 Marked off-topic"}
WHY = 160  # characters of the classifier's reason


def bucket_title(topics: Topics, bucket: str | None) -> str:
    if not bucket:
        return "Unclassified"
    try:
        return topics.get(bucket).title
    except KeyError:
        return bucket


def visible_length(html_text: str) -> int:
    """Telegram's measure of a message: UTF-16 code units after entity parsing (tags dropped,
    entities decoded). An emoji counts twice."""
    return len(unescape(_TAG.sub("", html_text)).encode("utf-16-le", "surrogatepass")) // 2


def plain(html_text: str) -> str:
    """The message as plain text (the fallback when Telegram refuses the HTML), within limits."""
    text = unescape(_TAG.sub("", html_text))
    while len(text.encode("utf-16-le", "surrogatepass")) // 2 > MAX_TEXT:
        text = text[: len(text) - max(1, (len(text.encode("utf-16-le", "surrogatepass")) // 2
                                           - MAX_TEXT))]
    return text


def printable(text: str | None) -> str:
    """Text as it may be sent: no NUL or other control characters (newlines and tabs stay), no
    lone surrogates or non-characters, which Telegram refuses or shows as boxes."""
    return _UNPRINTABLE.sub("", text or "")


def shorten(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a word boundary with an ellipsis."""
    text = " ".join(printable(text).split())
    if len(text) <= limit:
        return text
    cut = text[: max(0, limit - 1)].rsplit(" ", 1)[0] if limit > 20 else text[: max(0, limit - 1)]
    return cut + "…"


def link(url: str, title: str) -> str:
    """An escaped title, linked only to an http(s) URL (a link needs visible text)."""
    url, title = printable(url).strip(), printable(title)
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.netloc and title.strip():
        return f'<a href="{escape(url, quote=True)}">{escape(title)}</a>'
    return escape(title)


def when(moment: datetime | None, zone: ZoneInfo, *, date_only: bool = False) -> str:
    """"Mon 29 Jun 14:05 BST"; the year too when it is not this year; the date alone for an
    item known only to the day (stored at noon UTC of its own calendar day)."""
    if moment is None:
        return "time unknown"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    if date_only:
        local = moment.astimezone(timezone.utc)
        fmt = "%a %d %b"
    else:
        local = moment.astimezone(zone)
        fmt = "%a %d %b %H:%M %Z"
    if local.year != datetime.now(zone).year:
        fmt = fmt.replace("%b", "%b %Y")
    return local.strftime(fmt)


def item_when(item: Item, zone: ZoneInfo) -> str:
    if item.published is None:
        return when(item.first_seen, zone)
    return when(item.published, zone, date_only=item.date_only)


def outlets_line(names: list[str], shown: int = 3) -> str:
    """"Kremlin (EN) · MFA (ZH) · TASS (RU) · 2 more": who reported the story."""
    line = " · ".join(names[:shown])
    return line + (f" · {len(names) - shown} more" if len(names) > shown else "")


def reports_text(reports: list[Item], names: dict[str, str], zone: ZoneInfo) -> str:
    """Every report of a story: linked title, source and time."""
    lines = [f"📚 <b>{len(reports)} reports of this story</b>"]
    for n, report in enumerate(reports, start=1):
        lines.append(f"{n}. {link(report.url, shorten(report.title, 160))} · "
                     f"<i>{escape(names.get(report.source, report.source))}, "
                     f"{escape(item_when(report, zone))}</i>")
    return fit(lines)


def relevance(item: Item) -> float | None:
    """P(relevant) as the classifier scored it: 1 - its off-topic score."""
    if item.scores and OFF_TOPIC in item.scores:
        return 1.0 - float(item.scores[OFF_TOPIC])
    return item.confidence


def card_text(item: Item, topics: Topics, zone: ZoneInfo, source_name: str,
              verdict: Decision | None = None) -> str:
    """The card: bucket · source · time, linked title, excerpt, relevance and why, then the
    decision."""
    scale = 1.0
    while True:  # shrink the parts, never cut the HTML: a cut tag is a refused message
        text = _card(item, topics, zone, source_name, verdict, scale)
        if visible_length(text) <= MAX_TEXT or scale < 0.01:
            return text
        scale /= 2


def _card(item: Item, topics: Topics, zone: ZoneInfo, source_name: str,
          verdict: Decision | None, scale: float) -> str:
    def room(n: int) -> int:
        return max(12, int(n * scale))

    head = (f"<b>{escape(shorten(bucket_title(topics, item.bucket), room(80)))}</b> · "
            f"{escape(shorten(source_name, room(200)))} · {escape(item_when(item, zone))}")
    title = link(item.url, shorten(item.title, room(400)) or "(untitled)")
    score = relevance(item)
    confidence = "" if score is None else f"\n<i>relevance {score:.0%}"
    if confidence and item.why:
        confidence += f" · {escape(shorten(item.why, room(WHY)))}"
    confidence += "</i>" if confidence else ""
    footer = _footer(item, topics, zone, verdict)
    comment = (f"\n💬 <i>{escape(shorten(item.comment, room(1500)))}</i>"
               if item.comment else "")
    excerpt = escape(shorten(item.summary, room(EXCERPT)))
    text = f"{head}\n{title}" + (f"\n{excerpt}" if excerpt else "") + confidence
    return text + (f"\n\n{footer}" if footer else "") + comment


def _footer(item: Item, topics: Topics, zone: ZoneInfo, verdict: Decision | None) -> str:
    if verdict is None:
        return ""
    name = shorten(verdict.user_name or str(verdict.user_id), 64)
    by = f"by {escape(name)}, {escape(when(verdict.at, zone))}"
    if verdict.action == "move":
        kept = " and kept" if item.status == "kept" else ""
        return (f"🗂 Moved from {escape(bucket_title(topics, verdict.bucket_from))} to "
                f"{escape(bucket_title(topics, verdict.bucket_to))}{kept} {by}")
    if verdict.action in _VERDICT:
        return f"{_VERDICT[verdict.action]} {by}"
    return ""


def digest_text(section: str, items: list[Item], zone: ZoneInfo, names: dict[str, str],
                heading: str = "new candidates", more: dict[int, int] | None = None) -> str:
    """One section's digest: a numbered line per story (the buttons open them); `more` counts
    the other reports of a line's story."""
    more = more or {}
    lines = [f"📰 <b>{escape(section)}</b>: {len(items)} {escape(heading)}"]
    for n, item in enumerate(items, start=1):
        extra = more.get(item.id or 0, 0)
        lines.append(f"{n}. {link(item.url, shorten(item.title, 140))} · "
                     f"<i>{escape(names.get(item.source, item.source))}, "
                     f"{escape(item_when(item, zone))}"
                     + (f", +{extra} more report{'s' if extra > 1 else ''}" if extra else "")
                     + "</i>")
    lines.append("\nOpen one by its number, or review them one by one.")
    return fit(lines)


def item_list(items: list[Item], topics: Topics, zone: ZoneInfo, heading: str,
              offset: int = 0, names: dict[str, str] | None = None) -> str:
    """A numbered list (the numbers match the buttons that open each card)."""
    lines = [heading]
    names = names or {}
    for n, item in enumerate(items, start=offset + 1):
        source = names.get(item.source, item.source)
        lines.append(f"{n}. {link(item.url, shorten(item.title, 160))}\n"
                     f"    <i>{escape(bucket_title(topics, item.bucket))} · {escape(source)}"
                     f" · {escape(item_when(item, zone))}</i>")
    return fit(lines)


def week_text(week: str, items: list[Item], topics: Topics) -> list[str]:
    """This week's kept items per bucket, in topics.yaml order, as messages."""
    kept = [i for i in items if i.status == "kept"]
    if not kept:
        return [f"Nothing kept yet in {escape(week)}."]
    lines = [f"<b>Kept in {escape(week)}</b> ({len(kept)})"]
    for topic in topics.buckets:
        mine = [i for i in kept if i.bucket == topic.id]
        if mine:
            lines.append(f"\n<b>{escape(topic.title)}</b>")
            for item in mine:
                lines.append(f"• {link(item.url, shorten(item.title, 200))} ({escape(item.source)})"
                             + (f"\n  💬 <i>{escape(shorten(item.comment, 300))}</i>"
                                if item.comment else ""))
    return chunks(lines)


def sources_text(sources: list[Source], health: dict[str, Health],
                 zone: ZoneInfo) -> list[str]:
    """One line per source: state (a disabled one with its reason), last success, last error."""
    marks = {"ok": "✅", "failing": "❌", "paused": "⏸", "never polled": "…"}
    lines = ["<b>Sources</b>"]
    for source in sorted(sources, key=lambda s: s.id):
        h = health.get(source.id) or Health(source=source.id)
        head = f"<code>{escape(source.id)}</code> {escape(source.name)}"
        if not source.enabled:
            lines.append(f"⛔ {head}: disabled — {escape(source.reason or 'no reason given')}")
            continue
        line = f"{marks[h.state]} {head}: {h.state}"
        if h.last_success:
            line += f", last success {escape(when(h.last_success, zone))}"
        if h.consecutive_errors:
            line += (f"\n    {h.consecutive_errors}× {escape(h.last_error_kind or 'error')}: "
                     f"{escape(shorten(h.last_error or '', 160))}")
        lines.append(line)
    return chunks(lines)


def stats_text(week: str, counts: dict[str, dict[str, int]], topics: Topics,
               agreed: int, labelled: int) -> str:
    lines = [f"<b>{escape(week)}</b>: stored items per bucket (kept / skipped / pending)"]
    order = [*topics.ids, OFF_TOPIC, "unclassified"]
    for bucket in sorted(counts, key=lambda b: order.index(b) if b in order else len(order)):
        c = counts[bucket]
        lines.append(f"• {escape(bucket_title(topics, bucket))}: {sum(c.values())} "
                     f"({c.get('kept', 0)} / {c.get('skipped', 0)} / {c.get('new', 0)})")
    if labelled:
        lines.append(f"\nThe classifier agreed with you on {agreed} of {labelled} decided items "
                     f"({agreed / labelled:.0%}).")
    else:
        lines.append("\nNo decisions yet to compare the classifier with.")
    return fit(lines)


def fit(lines: list[str]) -> str:
    """Lines of HTML joined into one message, dropping whole lines from the end (never cutting
    inside one, which would leave a broken tag) until it fits, with "…" for what was left out."""
    text = "\n".join(lines)
    if visible_length(text) <= MAX_TEXT:
        return text
    kept = list(lines)
    while kept and visible_length("\n".join([*kept, "…"])) > MAX_TEXT:
        kept.pop()
    return "\n".join([*kept, "…"]) if kept else escape(plain(text)[: MAX_TEXT - 1])


def chunks(lines: list[str], limit: int = MAX_TEXT) -> list[str]:
    """Lines joined into as few messages as fit; an over-long line loses its markup and is cut."""
    out: list[str] = []
    current = ""
    for line in lines:
        if visible_length(line) > limit:  # one over-long line: its text alone, still valid
            line = escape(plain(line)[: limit - 1])
        if current and visible_length(f"{current}\n{line}") > limit:
            out.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        out.append(current)
    return out
