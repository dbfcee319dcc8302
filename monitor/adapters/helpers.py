"""Parse helpers shared by the adapters: charset, text, links and dates.

Decoding is ours, never the HTTP library's guess: MFA sends no charset, People's Daily sends
GBK bytes while declaring GB2312, and legacy Xinhua pages declare nothing at all.
"""

from __future__ import annotations

import codecs
import json
import re
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

from dateutil import parser as dateutil_parser
from lxml import html as lxml_html

from monitor.errors import NotAFeed
from monitor.models import RawResponse
from monitor.text import clean_text

_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.I)
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*+[\"']?\s*+([\w.:-]+)", re.I)
_XML_ENCODING = re.compile(rb"^\s*<\?xml[^>]+encoding\s*=\s*[\"']([\w.:-]+)", re.I)
# Declared names that are too narrow for what servers really send.
_WIDER = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "gb_2312-80": "gb18030",
          "iso-8859-1": "cp1252", "latin-1": "cp1252", "us-ascii": "utf-8", "ascii": "utf-8"}
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))


def charset_of(content: bytes, content_type: str | None = None) -> str:
    """The charset to read the bytes with: BOM, then HTTP header, then XML/`<meta>` declaration.

    Names are widened (gb2312/gbk → gb18030). With nothing declared, UTF-8 if the bytes are valid
    UTF-8, else gb18030 (what undeclared Chinese government pages are in practice). Non-ASCII
    bytes that are valid UTF-8 are read as UTF-8 even when a legacy charset is declared: a page
    re-encoded by a proxy or a scraper keeps its old `<meta charset=GB2312>`, and real GBK or
    Latin-1 text is practically never valid UTF-8, so the bytes are the better witness.
    """
    for bom, name in _BOMS:
        if content.startswith(bom):
            return name
    declared = None
    if content_type and (m := _HEADER_CHARSET.search(content_type)):
        declared = m.group(1)
    head = content[:4096]
    if not declared and (m := _XML_ENCODING.match(head) or _META_CHARSET.search(head)):
        declared = m.group(1).decode("ascii", "replace")
    utf8 = _is_utf8(content)
    if declared:
        name = declared.strip().lower()
        name = _WIDER.get(name, name)
        try:
            name = codecs.lookup(name).name
        except LookupError:
            name = ""
        if name and (name.startswith("utf") or not utf8 or content.isascii()):
            return name
    return "utf-8" if utf8 else "gb18030"


def decode(raw: RawResponse) -> str:
    """The body as text, decoded by `charset_of`; undecodable bytes become U+FFFD."""
    charset = charset_of(raw.content, raw.header("content-type"))
    text = raw.content.decode(charset, errors="replace")
    return text.lstrip("\ufeff")


def document(text: str) -> lxml_html.HtmlElement:
    """An lxml HTML tree of a decoded page (never raises: odd bodies give a near-empty tree).

    lxml refuses str input that carries an XML encoding declaration, and blank input.
    """
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text or "", count=1)
    try:
        return lxml_html.document_fromstring(text)
    except (ValueError, lxml_html.etree.ParserError):
        return lxml_html.document_fromstring("<html></html>")


def first_text(root: lxml_html.HtmlElement, *selectors: str) -> str:
    """Cleaned text of the first element any of the CSS selectors finds."""
    for selector in selectors:
        found = root.cssselect(selector)
        if found:
            text = clean_text(found[0].text_content())
            if text:
                return text
    return ""


def meta(root: lxml_html.HtmlElement, name: str) -> str:
    """Content of `<meta name=…>` / `property=…` / `id=…`, cleaned ("" when absent)."""
    for attr in ("name", "property", "id", "itemprop"):
        found = root.xpath(f"//meta[translate(@{attr},'ABCDEFGHIJKLMNOPQRSTUVWXYZ',"
                           f"'abcdefghijklmnopqrstuvwxyz')=$n]/@content", n=name.lower())
        if found and found[0].strip():
            return clean_text(found[0])
    return ""


def absolutize(href: str, base: str) -> str:
    """A link resolved against the page it came from (never against the host alone)."""
    return urljoin(base, href.strip())


def parse_time(text: str | None, *, dayfirst: bool = False) -> datetime | None:
    """A lenient date parser for odd formats ("July 31, 2026", RFC 822, ISO); None if hopeless."""
    if not text or not text.strip():
        return None
    try:
        value = dateutil_parser.parse(text.strip(), dayfirst=dayfirst, fuzzy=True)
    except (ValueError, OverflowError):
        return None
    return value if plausible(value) else None


def plausible(value: datetime) -> bool:
    """A publication date we can believe and convert: 1990–2100 (year 1 or 9999 with an offset
    cannot even be converted to UTC)."""
    return 1990 <= value.year <= 2100


def wallclock(value: datetime | None) -> datetime | None:
    """Drop a stated offset we know to be wrong: `normalize` then reads the source's zone."""
    return value.replace(tzinfo=None) if value is not None else None


def _is_utf8(content: bytes) -> bool:
    """Whether the bytes decode as UTF-8 (for `charset_of`)."""
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# Processing instructions, then any comments as one `<!--.*-->` (see rss._HTML_START), then
# more instructions, then the root: the same texts as a star over both, without its 2^n ways.
_FEED_ROOT = re.compile(r"^\s*(?:<\?[^>]*\?>\s*)*+(?:<!--.*-->\s*(?:<\?[^>]*\?>\s*)*+)?"
                        r"<(?:feed|rss|rdf:RDF)\b", re.S)
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]+(\d{1,2}):(\d{2}))?")
_ZH_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日\s*(?:(\d{1,2}):(\d{2}))?")
_EN_DATE = re.compile(r"\b([A-Z][a-z]{2,8}\.? \d{1,2}, \d{4})\b")
_SENTENCE_END = re.compile(r"[.!?][\"'”’)]?(?=\s)|[。！？][”’」）]?")
# html_to_text joins paragraphs with a space, which Chinese text doesn't put between sentences.
_CJK_GAP = re.compile(r"(?<=[。！？；!?;”’」）)])\s+(?=[\u3000-\u303f\u3400-\u9fff“‘《])")


def looks_like_feed(text: str) -> bool:
    """Whether decoded text starts as RSS/Atom/RDF (after any PIs and comments), not HTML."""
    return bool(_FEED_ROOT.match(text[:4000]))


def date_in_text(text: str | None) -> datetime | None:
    """The first date in a text, naive, with its time when one follows it.

    "2020-07-03", "2026-07-03 19:42", "2024年04月24日23:52", "July 3, 2020": the formats
    Chinese official and state-media pages print as wall-clock time without a zone.
    """
    if not text:
        return None
    for pattern in (_ISO_DATE, _ZH_DATE):
        if m := pattern.search(text):
            y, mo, d, hh, mm = (int(g) if g else 0 for g in m.groups())
            try:
                value = datetime(y, mo, d, hh, mm)
            except ValueError:
                return None
            return value if plausible(value) else None
    if m := _EN_DATE.search(text):
        return wallclock(parse_time(m.group(1).replace(".", "")))
    return None


def opening(text: str, *, sentences: int = 2, limit: int = 400) -> str:
    """The first sentences of a body text (EN or ZH), cleaned, at most `limit` characters."""
    text = _CJK_GAP.sub("", clean_text(text))
    ends = [m.end() for m in _SENTENCE_END.finditer(text)]
    if len(ends) >= sentences:
        text = text[:ends[sentences - 1]]
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit - 40 else cut).rstrip(",;:，；：、") + "…"


def json_list(text: str, url: str, key: str) -> list[Any]:
    """The list under `key` of a JSON reply (or a bare JSON list); NotAFeed for anything else."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise NotAFeed(f"{url}: not JSON ({exc})") from None
    except RecursionError:
        raise NotAFeed(f"{url}: JSON nested too deep to be a real reply") from None
    entries = data.get(key) if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise NotAFeed(f"{url}: JSON without a {key} list")
    return entries
