"""Text cleaning shared by the adapters, normalize and the renderers (a leaf module).

Every stage that compares or shows text needs the same idea of "the same text": entities
unescaped, NFC, and every run of white space (NBSP, ideographic space, CRLF) as one space.
"""

from __future__ import annotations

import html
import re
import unicodedata

from lxml import html as lxml_html

# NUL and the other control characters (PostgreSQL refuses NUL in text; Telegram refuses it in
# messages), lone surrogates and non-characters: never part of a headline.
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# A run of Han characters, or a run of other letters and digits (any script).
_WORD = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+|[^\W_\u3400-\u9fff\uf900-\ufaff]+")
_SPACE = re.compile(r"[ \t\r\n\f\v\u00a0\u2000-\u200b\u202f\u205f\u3000]+")


def clean_text(text: str | None) -> str:
    """Entities unescaped, NFC, control characters dropped, NBSP and every run of white space
    (CRLF too) as one space.

    NFC, not NFKC: NFKC would turn Chinese full-width punctuation (，（）) into ASCII.
    """
    if not text:
        return ""
    text = html.unescape(text)
    text = unicodedata.normalize("NFC", text.replace("\u00a0", " "))
    return _SPACE.sub(" ", _CONTROL.sub("", text)).strip()


def html_to_text(fragment: str | None) -> str:
    """Visible text of an HTML fragment (feed summaries), cleaned."""
    if not fragment or not fragment.strip():
        return ""
    if "<" not in fragment:
        return clean_text(fragment)
    try:
        root = lxml_html.fragment_fromstring(fragment, create_parent="div")
    except Exception:  # lxml raises several types on odd fragments; the text is still wanted
        return clean_text(without_tags(fragment))
    for bad in root.xpath(".//script|.//style"):
        bad.drop_tree()
    return clean_text(" ".join(root.itertext()))


def without_tags(fragment: str) -> str:
    """Every `<…>` (at least one character, no `>` inside) as a space: what `<[^>]+>` replaced,
    by str.find, since that pattern scans to the end from every `<` when no `>` follows."""
    out, pos = [], 0
    while (start := fragment.find("<", pos)) >= 0:
        close = fragment.find(">", start + 1)
        if close < 0:
            break
        if close == start + 1:  # "<>": not a tag; a later "<" may open one
            out.append(fragment[pos:start + 1])
            pos = start + 1
            continue
        out.append(fragment[pos:start] + " ")
        pos = close + 1
    out.append(fragment[pos:])
    return "".join(out)


def item_text(title: str, summary: str = "") -> str:
    """The text we embed for a news item: headline, then the lead."""
    title = (title or "").strip()
    summary = " ".join((summary or "").split())
    if title and summary:
        return f"{title}. {summary}" if title[-1:] not in ".!?。！？" else f"{title} {summary}"
    return title or summary


def search_terms(text: str) -> list[str]:
    """The words a search index holds for a text, in every script alike: case-folded (Unicode
    `casefold`, so ПУТИН and Путин are one word), and Chinese, which has no spaces, as its
    overlapping two-character pairs (中俄关系 → 中俄 俄关 关系), so a two-character word is
    found inside a longer run; a run of one character is kept as itself."""
    terms: list[str] = []
    for word in _WORD.findall(unicodedata.normalize("NFKC", text or "").casefold()):
        if _HAN.match(word):
            terms += [word] if len(word) == 1 else [word[i:i + 2] for i in range(len(word) - 1)]
        else:
            terms.append(word)
    return terms


def search_text(*parts: str) -> str:
    """What the full-text index stores for an item: its search terms, space-separated."""
    return " ".join(search_terms(" ".join(p for p in parts if p)))
