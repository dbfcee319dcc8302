"""Every regular expression an outlet's bytes reach is linear (issue 13, item 1).

Each case is an input of about 80,000 characters built against one pattern's worst case, run
through the real function that applies it, in a forked child stopped after `CEILING` seconds
(a pattern that has turned exponential again fails the test instead of hanging the suite); the
result is checked too. The inputs the code cuts short before matching (a feed's first 2,000 or
4,000 characters, a sitemap's first 4,096 bytes) are as long as that cut. Wall-clock ratios
between sizes are not asserted here (the suite shares two busy cores): bench/reliability.py
prints each case's time at the full size.

Audit of monitor/ (every `re.compile` and literal `re.*` call; `risky` = super-linear on input an
outlet controls, and what was done; `bounded` = super-linear only in a length the code caps).

| pattern | module | verdict | fix |
|---|---|---|---|
| `<!DOCTYPE` scan (was a regex) | adapters/rss | risky (fixed earlier) | str.find scan |
| `TITLE_SUFFIX` `\\s*[—_-]+\\s*(…)$` | adapters/mfa | risky: quadratic in a dash/space run | starts only at a run's start (lookbehinds), runs possessive |
| `TRS_BODY` `<meta…ContStart[^>]*>(.*?)<meta…ContEnd` | adapters/mfa | risky: every start marker scans to the end | `trs_body`: two searches |
| `<title>(.*?)</title>`, `<title>\\s*30[12] ` | adapters/mfa | bounded: first 3,000 characters | none |
| `TITLE_SUFFIX` `(\\s*--\\s*[^-]{1,20})*\\s*--\\s*人民网\\s*$` | adapters/peoples_daily | risky: nested quantifiers | `without_site_suffix`: str methods from the end |
| `_HTML_START` `^\\s*(<!--.*?-->\\s*)*<html` | adapters/rss | risky: 2^n ways to cut n comments | comments as one `<!--.*-->` |
| `_FEED_ROOT` (PIs or comments)`*<rss` | adapters/helpers | risky: 2^n | PIs possessive, comments as one |
| `HTML_START` | adapters/globaltimes | risky: 2^n | comments as one |
| `SITEMAP_ROOT` | adapters/rferl | risky: 2^n | comments as one |
| `PUB_TIME_TEXT` `(?:Published)?\\s*:?\\s*(stamp)` | adapters/globaltimes | risky: cubic in a space run | prefix dropped (never changed the stamp found) |
| `_META_CHARSET` `\\s*=\\s*["']?\\s*` | adapters/helpers | bounded: first 4,096 bytes | possessive anyway |
| `TITLE_SUFFIX` `\\s*[-|_]\\s*(新华网)?\\s*$` | adapters/xinhua | risky: quadratic in a space run (U+2028 survives clean_text) | `(?<!\\s)` start, possessive runs |
| `RESEARCH_PATH` | adapters/carnegie | linear: anchored, `[^/]*` backtracks once | none (case kept) |
| `PARENTHETICAL` `\\s*[(（]…$` | adapters/exchanges | bounded: a label of <= 60 characters | none |
| `<[^>]+>` (html_to_text's fallback) | text | risky: every `<` scans to the end with no `>` | `without_tags`: str.find |
| `_BOILERPLATE` `\\s*The post…`, `\\s*(?:Read more\\W*…)$` | pipeline/normalize | risky: quadratic in a space run | `(?<!\\s)\\s*+` start, possessive tails |
| `_ANNIVERSARY` `\\s*-?\\s*` | pipeline/compare | risky: quadratic in a space run after a number | possessive |
| `_UNITS` `куб\\w*\\s*м` (in `_AMOUNT`) | pipeline/compare | risky: each number scans a long word | `куб\\w{0,20}` |
| `re.match(…, work[m.end():])` after a year | pipeline/compare | risky: the rest copied per year | compiled `_MEASURE_AFTER.match(work, pos)` |
| `_blank` per match (not a regex) | pipeline/compare | quadratic: a copy of the sentence per figure or phrase | `_blank(work, matches)`: one pass per pattern |
| `_DATELINE`, `_MONTHS`, dates, `_CLAUSE` | pipeline/stories | linear; titles <= 500, summaries <= 1,200 | none |
| `_SENTENCE_END`, `_DATES`, `_AMOUNT`, `_YEAR`, lexicons, `_RELATION` | pipeline/compare | linear (fixed-width lookarounds, alternations of literals) | none |
| `_TRACKING`, script classes | pipeline/normalize | linear | none |
| `_CONTROL`, `_HAN`, `_WORD`, `_SPACE` | text | linear (character classes) | none |
| `_ISO_DATE`, `_ZH_DATE`, `_EN_DATE`, `_SENTENCE_END`, `_CJK_GAP`, `_HEADER_CHARSET`, `_XML_ENCODING`, xml decl | adapters/helpers | linear | none |
| `_ZONED`, xml decl | adapters/rss | linear | none |
| others in adapters (dates, hrefs, ids, `SYSTEM_*`, `SPOKESPERSON`, exchanges' labels, `ZH_ASKER`, `NOTE`, topic patterns), `DATASOURCE`, `WALLCLOCK`, `CLOCK`, `ARTICLE_ID` | adapters/* | linear (bounded quantifiers, literals, anchored) | none |
| config/*, weeks, logs, fetch (`ERROR_PAGE`, `LOGIN_PAGE`, `_STATUS`), export (markdown, word, draft) | — | linear or not outlet input | none |
| `_TAG` `<[^<>]{0,2000}>`, `_UNPRINTABLE`, `_DATA` | bot (not mine) | linear: bounded quantifier | none |
| `_SECTION` | learn (not mine) | linear (fullmatch, bounded) | none |
| demo card patterns | replay/demo | our own cards (<= 4,096) | none |
| feedparser's author e-mail pattern | feedparser, not monitor/ | risky: quadratic in a long word | `with_short_authors`: author-like elements' text cut to 300 characters first |
| `_AUTHOR_TAG` | adapters/rss | linear: bounded prefix and attributes | none |
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from hostile import long_author_feed, raw, source

from monitor.adapters import carnegie, globaltimes, mfa, peoples_daily, rferl, rss, xinhua
from monitor.adapters.helpers import charset_of, document, looks_like_feed
from monitor.errors import NotAFeed
from monitor.models import Item
from monitor.pipeline import compare
from monitor.pipeline.normalize import normalize
from monitor.text import without_tags

N = 80_000  # characters of each crafted input
CEILING = 10.0  # seconds: generous on two busy cores; the fixed patterns take milliseconds
LS = "\u2028"  # white space to `\s` that clean_text keeps (it collapses spaces, NBSP, U+3000)
COMMENTS = "<!---->"
FEED = ('<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item>'
        "<title>Lavrov meets Wang Yi</title><link>https://example.org/a</link></item>"
        "</channel></rss>")


def _page(title: str) -> str:
    return f"<html><head><title>{title}</title></head><body><p>Text.</p></body></html>"


def _mfa_title(title: str) -> Any:
    page = _page(title)
    return mfa.article_item(document(page), page, raw(page), source("mfa", "Asia/Shanghai"))


def _people_title(title: str) -> Any:
    page = _page(title)
    return peoples_daily.article_item(document(page), raw(page), source("peoples_daily"))


def _xinhua_title(title: str) -> Any:
    page = _page(title)
    return xinhua.article_item(document(page), raw(page), source("xinhua", "Asia/Shanghai"))


def _summary(summary: str) -> str:
    item = Item(source="rss", url="https://example.org/a", title="t", summary=summary)
    return normalize(item, source("rss")).summary


def _raises(kind: type[Exception]) -> Callable[[Any], bool]:
    return lambda result: isinstance(result, kind)


# name → (the call on an input of about n characters, what its result must be)
CASES: dict[str, tuple[Callable[[int], Any], Callable[[Any], bool]]] = {
    "rss: DOCTYPE scan, unclosed internal subsets": (
        lambda n: rss.without_doctypes("<!DOCTYPE a [" * (n // 13)), lambda r: r == ""),
    "mfa: title suffix, a run of dashes": (
        lambda n: _mfa_title("—" * n + "x"), lambda r: r.title == "—" * N + "x"),
    "mfa: title suffix, dash then U+2028 run": (
        lambda n: _mfa_title("—" + LS * n + "x"), lambda r: r.title == "—" + LS * N + "x"),
    "mfa: title suffix still removed after a long run": (
        lambda n: _mfa_title("标题" + LS * n + "——中华人民共和国外交部"),
        lambda r: r.title == "标题"),
    "mfa: TRSWCM start markers, no end": (
        lambda n: mfa.parse(raw('<html><body>' + '<meta name="TRSWCM.ContStart">' * (n // 30)
                                + "</body></html>", "https://www.fmprc.gov.cn/eng/xw/"),
                            source("mfa")), _raises(NotAFeed)),
    "mfa: TRSWCM start markers, no `>`": (
        lambda n: mfa.trs_body("<meta name=TRSWCM.ContStart" * (n // 27)), lambda r: r is None),
    "peoples_daily: title suffix, a run of ' --'": (
        lambda n: _people_title(" --" * (n // 3) + "x"), lambda r: r.title.endswith("--x")),
    "peoples_daily: title suffix, a long chain removed": (
        lambda n: _people_title("标题" + " -- 频道" * (n // 6) + " -- 人民网"),
        lambda r: r.title == "标题"),
    "rss: feedparser's author e-mail pattern, a long dc:creator": (
        lambda n: rss.parse(raw(long_author_feed(n)), source("rss")),
        lambda r: [i.title for i in r] == ["Lavrov meets Wang Yi"]
        and r[0].authors == ["A" * rss.MAX_AUTHOR]),
    "rss: feedparser's author e-mail pattern, a long CDATA author": (
        lambda n: rss.parse(raw(long_author_feed(n).replace(b"<dc:creator>", b"<author><![CDATA[")
                                .replace(b"</dc:creator>", b"]]></author>")), source("rss")),
        lambda r: r[0].authors == ["A" * rss.MAX_AUTHOR]),
    "rss: comments before the feed root (first 2,000 read)": (
        lambda n: rss.parse(raw(COMMENTS * 280 + FEED), source("rss")), lambda r: len(r) == 1),
    "helpers: comments before <html> (first 4,000 read)": (
        lambda n: looks_like_feed(COMMENTS * 570 + "<html>"), lambda r: r is False),
    "globaltimes: comments before the feed root": (
        lambda n: globaltimes.parse(raw(COMMENTS * 280 + FEED), source("globaltimes")),
        lambda r: len(r) == 1),
    "rferl: comments before the root (first 4,096 read)": (
        lambda n: rferl.parse(raw(COMMENTS * 580 + FEED), source("rferl")),
        lambda r: len(r) == 1),
    "globaltimes: publication stamp after a space run": (
        lambda n: (globaltimes.pub_time(" " * n + "x"),
                   globaltimes.pub_time("Published:" + " " * n + "Jul 06, 2026 01:40 PM")),
        lambda r: r == (None, datetime(2026, 7, 6, 13, 40))),
    "helpers: <meta charset= then spaces (first 4,096 read)": (
        lambda n: charset_of(b"<meta charset=" + b" " * 4_000 + b"\xff>"),
        lambda r: r == "gb18030"),
    "xinhua: title suffix, dash then U+2028 run": (
        lambda n: _xinhua_title("a-" + LS * n + "x"), lambda r: r.title == "a-" + LS * N + "x"),
    "text: tag strip, '<' without '>'": (
        lambda n: without_tags("<" * n), lambda r: r == "<" * N),
    "carnegie: one huge link": (
        lambda n: carnegie.parse(raw(f'<html><body><a href="https://{"a" * n}">x</a>'
                                     "</body></html>"), source("carnegie")),
        _raises(NotAFeed)),
    "normalize: feed footer, U+2028 run": (
        lambda n: _summary("a" + LS * n + "x"), lambda r: r == ("a" + LS * N + "x")[:1200]),
    "normalize: feed footer, many 'The post … appeared first on'": (
        lambda n: _summary("The post appeared first on " * (n // 27) + "x" * 300),
        lambda r: r.startswith("The post appeared first on")),
    "compare: anniversary after a space run": (
        lambda n: compare.figures("70" + " " * n + "x"),
        lambda r: not any(f.measure == "anniversary" for f in r)),
    "compare: a sentence of many amounts (each was blanked on a copy of the sentence)": (
        lambda n: compare.figures("5 млрд, " * (n // 9)),
        lambda r: len(r) == N // 9 and all(f.measure == "amount" for f in r)),
    "compare: volume unit, a long word after each number": (
        lambda n: compare.figures("куб1" * (n // 4)),
        lambda r: not any(f.measure == "volume" for f in r)),
}

# For bench/reliability.py: each case at the full size, timed there.
REGEX_ATTACKS: dict[str, Callable[[], Any]] = {
    f"regex: {name}": (lambda call=call: call(N)) for name, (call, _) in CASES.items()}


def _child(name: str, conn: Any) -> None:
    call, check = CASES[name]
    began = time.perf_counter()
    try:
        result: Any = call(N)
    except Exception as exc:  # noqa: BLE001 - an expected error is checked like a result
        result = exc
    seconds = time.perf_counter() - began
    try:
        ok = bool(check(result))
    except Exception:  # noqa: BLE001 - a result of the wrong shape is a failed check
        ok = False
    conn.send((ok, seconds, repr(result)[:200]))


@pytest.mark.parametrize("name", list(CASES))
def test_crafted_input_completes_with_the_right_result(name: str) -> None:
    context = multiprocessing.get_context("fork")
    parent, child = context.Pipe(duplex=False)
    proc = context.Process(target=_child, args=(name, child))
    proc.start()
    try:
        if not parent.poll(CEILING):
            pytest.fail(f"{name}: not done after {CEILING:.0f} s (super-linear again?)")
        ok, seconds, shown = parent.recv()
    finally:
        proc.kill()
        proc.join()
    assert ok, f"{name}: wrong result {shown} ({seconds:.3f} s)"
