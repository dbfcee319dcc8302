"""PRC Ministry of Foreign Affairs (fmprc.gov.cn / mfa.gov.cn): listing and article pages.

There is no feed: we read the listing pages (press conferences, spokesperson remarks; EN and
ZH) and, when given one, a transcript or statement page. Two layouts are known and both are
kept, each item recording which one read it (`variant`):

- `mfa-2020` (recorded 2020-07): EN links in `div.newsLst_mod`, ZH links in `div.rebox_news`
  with the date in brackets after each link; the EN transcript's date field is empty (filled
  by JS), so its date comes from the title.
- `mfa-2024` (the redesign): links `./YYYYMM/tYYYYMMDD_N.html` (`.shtml` on mfa.gov.cn) in
  `ul.list1`; articles carry `meta[name=ArticleTitle]`, `meta[name=PubDate]` and a body
  between the `TRSWCM.ContStart` / `TRSWCM.ContEnd` markers.

Dates come from, in order: `PubDate` meta, the page's date field or the listing's bracketed
date, the title ("… on July 3, 2020", "2020年7月3日…"), the URL (`/tYYYYMMDD_`). Times are
Beijing wall-clock and returned naive (`normalize` applies Asia/Shanghai). When only a date is
known the item is dated 00:00 Beijing time on that day: we don't invent a press-conference
hour. Missing pages come back as a 200 "system" page or a redirect to `error.htm`; both are
`ErrorPage`, never a quiet day.

A regular press conference transcript also yields one item per question-and-answer exchange
(`mfa-exchange`, split by `exchanges.split` from the body's paragraphs): what was asked, by
which outlet (`authors`), the start of the answer, a link to the transcript, the transcript's
date; the spokesperson's opening announcements are exchange 0. The classifier then drops the
exchanges that bear on no bucket.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from monitor.adapters import exchanges
from monitor.adapters.helpers import (
    absolutize,
    date_in_text,
    decode,
    document,
    first_text,
    meta,
    opening,
)
from monitor.errors import ErrorPage, NotAFeed
from monitor.models import Item, RawResponse, Source
from monitor.text import clean_text, html_to_text

SYSTEM_URL = re.compile(r"/system/|/error\.html?\b", re.I)
SYSTEM_TEXT = re.compile(r"系统维护|页面不存在|已被删除|system maintenance"
                         r"|page (?:not found|does not exist)",
                         re.I)
LISTING_2020 = ("div.newsLst_mod li a", "div.rebox_news li a")
LISTING_2024 = ("ul.list1 li a", ".list1 li a")
ARTICLE_HREF = re.compile(r"(?:^|/)t\d{7,8}(?:_\d+)?\.s?html?$")
ARTICLE_MARKERS = ("#News_Body_Txt_A", ".content_mod .content", ".TRS_Editor", ".TRS_UEDITOR")
TITLE_2020 = ("#News_Body_Title", ".content_mod h2.title", "h2.title")
TITLE_2024 = ("h1", ".news-title")
BODY = ("#News_Body_Txt_A", ".TRS_UEDITOR", ".TRS_Editor", ".news_content",
        ".content_mod .content", "div.content")
DATE_FIELD = ("#News_Body_Time", ".time span", ".time")
# The 2024 body lies between these two markers (`trs_body`: two searches, not one pattern
# whose lazy `(.*?)` scanned to the end of the page from every start marker).
TRS_START_TAG = re.compile(r"<meta\s++name=[\"']?TRSWCM\.ContStart", re.I)
TRS_END_TAG = re.compile(r"<meta\s++name=[\"']?TRSWCM\.ContEnd", re.I)
# " — 中华人民共和国外交部" / "_Ministry of Foreign Affairs of …" after a page <title>. Linear:
# a match starts only where a run of white space or of dashes starts (the lookbehinds), and the
# runs are taken possessively, so a title of 20,000 dashes is one scan, not 20,000.
TITLE_SUFFIX = re.compile(r"(?:(?<!\s)\s++|(?<![\s—_-]))[—_-]++\s*+"
                          r"(?:中华人民共和国外交部|Ministry of Foreign Affairs.*+)$")
URL_DATE = re.compile(r"/t(\d{4})(\d{2})(\d{2})_\d+")
LISTED_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")  # "(2020-07-03)" beside a ZH link
PRESS_CONFERENCE = re.compile(r"Regular Press Conference|例行记者会", re.I)
SPOKESPERSON = re.compile(r"Spokesperson ([^’'\s][^’']{1,38})[’']s Regular"
                          r"|发言人([\u4e00-\u9fff·]{2,5}?)主持")
TRS_START, TRS_END = "trswcm.contstart", "trswcm.contend"


def parse(raw: RawResponse, source: Source) -> list[Item]:
    """A listing page's articles, or an article page as one item."""
    text = decode(raw)
    check_not_system(raw, text)
    root = document(text)
    if meta(root, "ArticleTitle") or trs_body(text) is not None or _has(root, ARTICLE_MARKERS):
        item = article_item(root, text, raw, source)
        if item is None:
            return []
        if not PRESS_CONFERENCE.search(item.title):
            return [item]
        return [item, *exchange_items(item, body_paragraphs(root))]
    items = listing_items(root, raw, source)
    if not items and SYSTEM_TEXT.search(root.text_content()):
        raise ErrorPage(f"{raw.url}: the site's system page (\"page not found\")")
    if not items:
        raise NotAFeed(f"{raw.url}: neither an MFA listing nor an MFA article page")
    return items


def check_not_system(raw: RawResponse, text: str) -> None:
    """Raise ErrorPage for the 200 "system" page or a redirect to the error page."""
    location = raw.header("location") or ""
    if SYSTEM_URL.search(raw.url) or SYSTEM_URL.search(location):
        raise ErrorPage(f"{raw.url}: the site's system/error page ({location or raw.url})")
    head = text[:3000]
    title = re.search(r"<title>(.*?)</title>", head, re.I | re.S)
    if SYSTEM_TEXT.search(title.group(1) if title else "") or (
            re.search(r"<title>\s*30[12] ", head) and SYSTEM_URL.search(text)):
        raise ErrorPage(f"{raw.url}: the site's system/error page")


def listing_items(root: Any, raw: RawResponse, source: Source) -> list[Item]:
    """Article links of a listing page, 2020 layout first, then the current one."""
    for variant, selectors in (("mfa-2020", LISTING_2020), ("mfa-2024", LISTING_2024),
                               ("mfa-2024", ("a[href]",))):
        anchors = dict.fromkeys(a for sel in selectors for a in root.cssselect(sel)
                                if ARTICLE_HREF.search(a.get("href", "").strip()))
        items = [item for a in anchors if (item := link_item(a, raw, source, variant))]
        if items:
            return items
    return []


def link_item(anchor: Any, raw: RawResponse, source: Source, variant: str) -> Item | None:
    """One listing link; its date from the bracketed date beside it, the URL or the title."""
    title = clean_text(anchor.get("title") or anchor.text_content())
    if not title:
        return None  # image-only links (spokesperson portraits)
    url = absolutize(anchor.get("href"), raw.url)
    published = bracket_date(anchor) or url_date(url) or date_in_text(title)
    return Item(source=source.id, url=url, title=title, published=published,
                lang=source.language, guid=url, variant=f"{variant}-listing",
                date_only=published is not None)  # listings print the day only


def article_item(root: Any, text: str, raw: RawResponse, source: Source) -> Item | None:
    """A transcript or statement page: title, date, and the opening of the body."""
    marked = trs_body(text)
    current = bool(meta(root, "ArticleTitle")) or marked is not None
    title = (meta(root, "ArticleTitle") or first_text(root, *TITLE_2020, *TITLE_2024)
             or TITLE_SUFFIX.sub("", first_text(root, "title")))
    if not title:
        return None
    published = (date_in_text(meta(root, "PubDate"))
                 or date_in_text(first_text(root, *DATE_FIELD))
                 or date_in_text(title) or url_date(raw.url))
    body = html_to_text(marked) if marked is not None else first_text(root, *BODY)
    return Item(source=source.id, url=raw.url, title=title, summary=opening(body),
                published=published, lang=source.language, guid=raw.url,
                variant="mfa-2024-article" if current else "mfa-2020-article",
                date_only=published is not None and (published.hour, published.minute) == (0, 0))


def trs_body(text: str) -> str | None:
    """The HTML between the first ContStart marker's `>` and the next ContEnd marker; None
    unless both are there. What `<meta…ContStart[^>]*>(.*?)<meta…ContEnd` found, in one pass:
    a later start marker cannot succeed where the first one failed."""
    start = TRS_START_TAG.search(text)
    close = text.find(">", start.end()) if start else -1
    end = TRS_END_TAG.search(text, close + 1) if close >= 0 else None
    return text[close + 1:end.start()] if end else None


def body_paragraphs(root: Any) -> list[str]:
    """The body's `<p>` texts: between the TRSWCM markers (2024), else in the body element."""
    inside, paragraphs = False, []
    for el in root.iter("meta", "p"):
        name = (el.get("name") or "").lower() if el.tag == "meta" else ""
        inside = (inside or name == TRS_START) and name != TRS_END
        if inside and el.tag == "p":
            paragraphs.append(el.text_content())
    if paragraphs:
        return paragraphs
    body = next((found[0] for sel in BODY if (found := root.cssselect(sel))), None)
    return [p.text_content() for p in body.iter("p")] if body is not None else []


def exchange_items(transcript: Item, paragraphs: list[str]) -> list[Item]:
    """One item per exchange of a press-conference transcript (none when no question is found)."""
    found = exchanges.split(paragraphs, transcript.lang, spokesperson(transcript.title))
    if not any(e.n for e in found):
        return []
    zh, day = transcript.lang.startswith("zh"), transcript.published
    if zh:
        head = (f"{day.year}年{day.month}月{day.day}日" if day else "") + "外交部例行记者会"
    else:
        head = f"MFA press conference {day.day} {day:%B %Y}" if day else "MFA press conference"
    return [Item(source=transcript.source, url=transcript.url,
                 title=exchanges.title(e, head, zh), summary=exchanges.quote(e, zh),
                 published=day, lang=transcript.lang, authors=[e.asker] if e.asker else [],
                 guid=f"exchange:{transcript.url}:{e.n}", variant="mfa-exchange",
                 date_only=transcript.date_only) for e in found]


def spokesperson(title: str) -> str | None:
    """The spokesperson a transcript's title names ("… Zhao Lijian's Regular …", "…赵立坚主持…")."""
    m = SPOKESPERSON.search(title)
    return (m.group(1) or m.group(2)).strip() if m else None


def bracket_date(anchor: Any) -> datetime | None:
    """The `(2020-07-03)` after a link, within its own list item only."""
    parent = anchor.getparent()
    if parent is not None and parent.tag == "li":
        beside = parent.text_content().replace(anchor.text_content(), " ")
    else:
        beside = anchor.tail or ""
    return date_in_text(beside) if LISTED_DATE.search(beside) else None


def url_date(url: str) -> datetime | None:
    """The date in a current-layout article URL (`/t20260703_…`)."""
    m = URL_DATE.search(url)
    return date_in_text("-".join(m.groups())) if m else None


def _has(root: Any, selectors: tuple[str, ...]) -> bool:
    return any(root.cssselect(sel) for sel in selectors)
