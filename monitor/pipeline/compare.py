"""Readout comparison: what the Russian and the Chinese accounts of one event say differently.

Pure: two texts in (English, Russian or Chinese, either side in any of them), a `Comparison`
out. Three things are compared, each finding with its quote (the sentence it came from):

1. **Figures**: money, percentages, gas volumes, tonnes, counts of documents, anniversaries,
   dates and years, read with their unit and scale (billion/млрд/亿 …) into one number, and
   filed under the kind of figure (the measure, its unit, and the topic of its sentence:
   trade, investment, energy). Same kind on both sides with values that disagree → a figure
   that differs; a figure with no counterpart of its kind → one-sided. Dates and years are
   never paired with each other (two dates in two texts are usually two different days), so
   they are only ever one-sided.
2. **Characterisations** of the relationship ("best period in history", "全面战略协作伙伴关系",
   "новую эпоху" …) from a small curated lexicon of canonical concepts. Generic words ("new
   era", "unprecedented", "high level", "trust") count only in a sentence about the
   relationship ("relations", "两国", "российско-китайск" …).
3. **Topics** (Ukraine, Taiwan, a pipeline, COVID-19, the US, SCO …) from a topic lexicon.

Text that matches no lexicon entry is not compared: there is no translation and no sentence
alignment, so a difference in wording outside the lexicons goes unnoticed.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from monitor.pipeline.readout_terms import CHARACTERISATIONS, RELATION, TOPICS, TRADITIONAL

TELEGRAM_LIMIT = 4096
NO_DIFFERENCES = "No differences found in figures, characterisations or topics."
SIDE_NAMES = {"ru": "Russian side", "cn": "Chinese side"}


@dataclass(frozen=True, slots=True)
class Readout:
    """One side's account: its text (title optional), language (detected when empty)."""

    text: str
    title: str = ""
    lang: str = ""
    source: str = ""


@dataclass(frozen=True, slots=True)
class Figure:
    measure: str  # money, percent, volume, mass, count, anniversary, amount, date, year
    unit: str  # USD, CNY, RUB, EUR, m3, t, %, docs, "" …
    context: str  # trade, investment, energy or ""
    value: float  # in units (dollars, not billions); dates as month*100+day
    shown: str  # as written
    quote: str

    @property
    def kind(self) -> tuple[str, str, str]:
        return (self.measure, self.unit, self.context)


@dataclass(frozen=True, slots=True)
class Mention:
    concept: str
    label: str
    phrase: str  # as written
    quote: str


@dataclass(frozen=True, slots=True)
class Difference:
    kind: str  # figure, characterisation, topic
    label: str  # what differs ("trade total (USD)", "best period in history", "Ukraine")
    ru: str | None  # the Russian side's value or phrase; None when it has none
    cn: str | None
    ru_quote: str | None = None
    cn_quote: str | None = None

    @property
    def status(self) -> str:
        if self.ru is not None and self.cn is not None:
            return "differs"
        return "ru only" if self.ru is not None else "cn only"


@dataclass(slots=True)
class Comparison:
    ru: Readout
    cn: Readout
    figures: dict[str, list[Figure]] = field(default_factory=dict)  # side → figures
    characterisations: dict[str, list[Mention]] = field(default_factory=dict)
    topics: dict[str, list[Mention]] = field(default_factory=dict)
    same_figures: list[tuple[Figure, Figure]] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)


# --- lexicons: canonical concept → patterns in English, Russian and Chinese ------------------
# Matched case-insensitively on the folded text (ё → е, traditional → simplified characters).
# (concept, label, counts only in a sentence about the relationship, patterns). Order matters:
# a longer set phrase comes before a shorter one it contains.

_FOLD = str.maketrans({**{chr(0xFF10 + i): str(i) for i in range(10)}, "％": "%", "．": ".",
                       "ё": "е", "Ё": "Е", "\u00a0": " ", "\u202f": " ", **TRADITIONAL})
_SENTENCE_END = re.compile(r"(?<=[。！？；!?;])|\n|(?<=[.])(?=\s|[A-ZА-Я«\"“])"
                           r"(?<!\d\.)(?<!\b[A-ZА-Я]\.)(?<!Mr\.)(?<!Dr\.)(?<!St\.)(?<!No\.)")


def _fold(text: str) -> str:
    """Full-width digits, ё and traditional characters folded one for one (same length)."""
    return text.translate(_FOLD)


def sentences(text: str) -> list[str]:
    """The text cut into sentences (CJK and Latin/Cyrillic punctuation, and line breaks)."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def detect_lang(text: str) -> str:
    """zh, ru or en, by script."""
    cjk = sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")
    cyr = sum(1 for ch in text if "\u0400" <= ch <= "\u04ff")
    latin = sum(1 for ch in text if ch.isascii() and ch.isalpha())
    if cjk and cjk * 6 >= max(cyr, latin):  # a CJK character says about as much as a word
        return "zh"
    return "ru" if cyr > latin else "en"


# --- figures ----------------------------------------------------------------------------------

_MONTHS_EN = ("january", "february", "march", "april", "may", "june", "july", "august",
              "september", "october", "november", "december")
_MONTHS_RU = ("январ", "феврал", "март", "апрел", "ма", "июн", "июл", "август", "сентябр",
              "октябр", "ноябр", "декабр")
_EN_MONTH = "|".join(_MONTHS_EN)
_RU_MONTH = r"(?:январ[яе]|феврал[яе]|марта?|апрел[яе]|мая|июн[яе]|июл[яе]|августа?|" \
            r"сентябр[яе]|октябр[яе]|ноябр[яе]|декабр[яе])"
_DATES = re.compile(
    rf"(?<!\d)(?:(?P<zm>\d{{1,2}})月)?(?P<zd>\d{{1,2}})日"
    rf"|\b(?P<ed>\d{{1,2}})\s+(?P<em>{_EN_MONTH})\b|\b(?P<em2>{_EN_MONTH})\s+(?P<ed2>\d{{1,2}})\b"
    rf"|\b(?P<rd>\d{{1,2}})\s+(?P<rm>{_RU_MONTH})(?![а-я])", re.I)
_ANNIVERSARY = re.compile(
    r"(?<!\d)(?P<n>\d{1,4})(?:(?:st|nd|rd|th)?[\s-]*anniversar\w*|\s*周年"
    r"|\s*+-?\s*+(?:лети[еяюй]|летием|(?:й|я|ю|ой)\s+годовщин\w*|годовщин\w*))", re.I)
_NUM = r"\d{1,3}(?:[, ]\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?"
_SCALES = (("万亿", 1e12), ("千亿", 1e11), ("百亿", 1e10), ("亿", 1e8), ("万", 1e4), ("千", 1e3),
           ("trillion", 1e12), ("trn", 1e12), ("tn", 1e12), ("трлн", 1e12), ("триллион", 1e12),
           ("billion", 1e9), ("bn", 1e9), ("млрд", 1e9), ("миллиард", 1e9),
           ("million", 1e6), ("mln", 1e6), ("mn", 1e6), ("млн", 1e6), ("миллион", 1e6),
           ("thousand", 1e3), ("тыс", 1e3), ("тысяч", 1e3))
_SCALE = r"万亿|千亿|百亿|亿|万|千|trillion|trn|tn\b|трлн\.?|триллион\w*|billion|bn\b|млрд\.?" \
         r"|миллиард\w*|million|mln\b|mn\b|млн\.?|миллион\w*|thousand|тыс\.?|тысяч\w*"
_UNITS = (  # pattern → (measure, unit); tried in this order. `куб\w{0,20}`: an unbounded `\w*`
    # before `\s*м` scanned to the end of a long word from every number (quadratic).
    (r"dollars?|usd|долл(?:ар\w*|\.)|美元", ("money", "USD")),
    (r"yuan|renminbi|rmb|юан\w*|元人民币|人民币|元", ("money", "CNY")),
    (r"rubles?|roubles?|руб\w*\.?|卢布", ("money", "RUB")),
    (r"euros?|евро|欧元", ("money", "EUR")),
    (r"bcm|cubic met(?:re|er)s|куб\w{0,20}\s*м\w*|кубометр\w*|立方米", ("volume", "m3")),
    (r"tonnes?|tons?|тонн\w*|吨", ("mass", "t")),
    (r"%|percent|per cent|процент\w*", ("percent", "%")),
    (r"agreements?|documents?|contracts?|соглашени\w*|документ\w*|контракт\w*"
     r"|项(?:合作)?(?:协议|文件|合同)?|份(?:合作)?(?:协议|文件)", ("count", "docs")),
)
_UNIT = "|".join(f"(?P<u{i}>{pattern})" for i, (pattern, _) in enumerate(_UNITS))
_AMOUNT = re.compile(rf"(?P<pre>US\$|\$|USD\s?|RMB\s?|¥|€)?(?P<num>{_NUM})\s?"
                     rf"(?P<scale>{_SCALE})?\s?(?:(?:{_UNIT})(?![a-zа-я]))?", re.I)
_MEASURE_AFTER = re.compile(rf"\s?(?:{_SCALE}|{_UNIT})", re.I)  # "2020 million" is no year
_YEAR = re.compile(r"(?<!\d)(?P<y>(?:19|20)\d{2})(?!\d)")
_CONTEXTS = (
    ("trade", re.compile(r"\btrade|\bturnover|товарооборот|торгов|贸易|经贸|进出口", re.I)),
    ("investment", re.compile(r"\binvest|инвестиц|投资", re.I)),
    ("energy", re.compile(r"\bgas\b|\boil\b|\benergy|газ(?!ет)|нефт|энерг|天然气|石油|能源|油气",
                          re.I)),
)
_PREFIX_UNITS = {"$": "USD", "us$": "USD", "usd": "USD", "rmb": "CNY", "¥": "CNY", "€": "EUR"}
_PAIRABLE = {"money", "percent", "volume", "mass", "count", "anniversary", "amount"}


def _number(text: str, lang: str) -> float:
    text = text.replace(" ", "")
    text = text.replace(",", ".") if lang == "ru" else text.replace(",", "")
    return float(text)


def _scale(word: str) -> float:
    word = word.lower().rstrip(".")
    return next((factor for prefix, factor in _SCALES if word.startswith(prefix)), 1.0)


def _context(sentence: str) -> str:
    return next((name for name, pattern in _CONTEXTS if pattern.search(sentence)), "")


def _blank(text: str, matches: list[re.Match]) -> str:
    """The text with each match (in order, not overlapping) spaced out, in one pass: a copy of
    the text per match would be quadratic in a text of many numbers."""
    if not matches:
        return text
    out, pos = [], 0
    for m in matches:
        start, end = m.span()
        out += [text[pos:start], " " * (end - start)]
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _dates(work: str, original: str, month: list[int]) -> tuple[str, list[Figure]]:
    found, used = [], []
    for m in _DATES.finditer(work):
        if m["zd"]:
            mon, day = int(m["zm"] or month[0] or 0), int(m["zd"])
        elif m["ed"] or m["ed2"]:
            mon = _MONTHS_EN.index((m["em"] or m["em2"]).lower()) + 1
            day = int(m["ed"] or m["ed2"])
        else:
            stem = m["rm"].lower()
            mon = next(i for i, p in enumerate(_MONTHS_RU, 1) if stem.startswith(p))
            day = int(m["rd"])
        if not 1 <= mon <= 12 or not 1 <= day <= 31:
            continue
        month[0] = mon
        found.append(Figure("date", "", "", mon * 100 + day, m[0].strip(), original))
        used.append(m)
    return _blank(work, used), found


def _amounts(work: str, original: str, lang: str) -> tuple[str, list[Figure]]:
    found, used = [], []
    context = _context(work)
    for m in _AMOUNT.finditer(work):
        unit_index = next((i for i in range(len(_UNITS)) if m[f"u{i}"]), None)
        measure, unit = _UNITS[unit_index][1] if unit_index is not None else ("amount", "")
        if m["pre"]:
            measure, unit = "money", _PREFIX_UNITS[m["pre"].strip().lower()]
        if measure == "amount" and not m["scale"]:
            continue  # a bare number: no unit, nothing to file it under
        value = _number(m["num"], lang) * (_scale(m["scale"]) if m["scale"] else 1.0)
        if unit == "m3" and m[0].lower().rstrip().endswith("bcm"):
            value *= 1e9
        found.append(Figure(measure, unit, "" if measure == "count" else context, value,
                            original[m.start():m.end()].strip(), original))
        used.append(m)
    return _blank(work, used), found


def figures(text: str, lang: str = "") -> list[Figure]:
    """Every figure in the text with its kind, as written, and the sentence it came from."""
    lang = lang or detect_lang(text)
    month = [0]  # the last month seen: "19日" after "3月19日" is 19 March
    found: list[Figure] = []
    for sentence in sentences(text):
        work = _fold(sentence)
        work, dates = _dates(work, sentence, month)
        found += dates
        anniversaries = list(_ANNIVERSARY.finditer(work))
        found += [Figure("anniversary", "", "", float(m["n"]), m[0].strip(), sentence)
                  for m in anniversaries]
        work = _blank(work, anniversaries)
        # At the offset, not on a copy of the rest; what follows a year is not blanked yet.
        years = [m for m in _YEAR.finditer(work) if not _MEASURE_AFTER.match(work, m.end())]
        found += [Figure("year", "", "", float(m["y"]), m["y"], sentence) for m in years]
        work = _blank(work, years)
        work, amounts = _amounts(work, sentence, lang)
        found += amounts
    return found


def _same(a: Figure, b: Figure) -> bool:
    if a.measure == "percent":
        return abs(a.value - b.value) <= 0.05
    if a.measure in ("money", "volume", "mass", "amount"):
        return abs(a.value - b.value) <= 0.005 * max(abs(a.value), abs(b.value))
    return a.value == b.value


def _unique(found: list[Figure]) -> list[Figure]:
    out: list[Figure] = []
    for f in found:
        if not any(g.kind == f.kind and _same(g, f) for g in out):
            out.append(f)
    return out


def _compare_figures(ru: list[Figure], cn: list[Figure],
                     result: Comparison) -> list[Difference]:
    diffs = []
    for kind in dict.fromkeys(f.kind for f in ru + cn):
        left = [f for f in _unique(ru) if f.kind == kind]
        right = [f for f in _unique(cn) if f.kind == kind]
        for a in list(left):
            b = next((b for b in right if _same(a, b)), None)
            if b is not None:
                result.same_figures.append((a, b))
                left.remove(a)
                right.remove(b)
        if kind[0] in _PAIRABLE:
            for a, b in zip(left, right):
                diffs.append(_figure_diff(a, b))
            left, right = left[len(right):], right[len(left):]
        diffs += [_figure_diff(a, None) for a in left] + [_figure_diff(None, b) for b in right]
    return diffs


def figure_label(f: Figure) -> str:
    """What kind of figure it is, in words: "trade total (USD)", "trade, percent", "date"."""
    if f.measure == "money":
        return f"{f.context or 'sum'} {'total' if f.context == 'trade' else 'amount'} ({f.unit})"
    if f.measure in ("date", "year", "anniversary"):
        return f.measure
    names = {"percent": "percent", "volume": "volume (m³)", "mass": "tonnes",
             "count": "number of documents", "amount": "amount"}
    return f"{f.context}, {names[f.measure]}" if f.context else names[f.measure]


def figure_text(f: Figure) -> str:
    """The figure as written, with its normalised value when that says more."""
    if f.measure == "date":
        month, day = divmod(int(f.value), 100)
        normal = f"{day} {_MONTHS_EN[month - 1].title()}"
        return f.shown if f.shown.lower() == normal.lower() else f"{f.shown} (= {normal})"
    if f.measure in ("money", "volume", "mass", "amount") and f.value >= 1e6:
        for factor, word in ((1e12, "trillion"), (1e9, "billion"), (1e6, "million")):
            if f.value >= factor:
                number = f"{f.value / factor:.3f}".rstrip("0").rstrip(".")
                sign = "$" if f.unit == "USD" else ""
                unit = "" if f.unit in ("USD", "") else f" {f.unit}"
                normal = f"{sign}{number} {word}{unit}"
                return f.shown if normal == f.shown else f"{f.shown} (= {normal})"
    return f.shown


def _figure_diff(a: Figure | None, b: Figure | None) -> Difference:
    label = figure_label(a or b)  # type: ignore[arg-type]
    return Difference("figure", label, figure_text(a) if a else None,
                      figure_text(b) if b else None, a.quote if a else None,
                      b.quote if b else None)


# --- characterisations and topics -------------------------------------------------------------

def _lexicon(entries: tuple) -> list[tuple[str, str, bool, re.Pattern]]:
    compiled = []
    for concept, label, needs_relation, patterns in entries:
        compiled.append((concept, label, needs_relation, re.compile("|".join(patterns), re.I)))
    return compiled


_CHARACTERISATIONS = _lexicon(CHARACTERISATIONS)
_TOPICS = _lexicon(TOPICS)
_RELATION = re.compile("|".join(RELATION), re.I)


def _word_end(text: str, end: int) -> int:
    """A stem match ("Ukrain") extended to the end of its Latin or Cyrillic word."""
    while end < len(text) and text[end].isalpha() and ord(text[end]) < 0x2E80:
        end += 1
    return end


_CLAUSE_END = re.compile(r"[,;:，；：]|\s[-–—]\s")


def about_ties(folded: str, start: int, end: int) -> bool:
    """Whether the words at start:end speak of the relationship: a relation word ("relations",
    "两国", "отношения" …) in the same clause, or within 30 characters (10 in CJK text)."""
    cuts = [m.start() for m in _CLAUSE_END.finditer(folded)]
    left = max([c for c in cuts if c < start], default=-1) + 1
    right = min([c for c in cuts if c >= end], default=len(folded))
    reach = 10 if any("\u4e00" <= ch <= "\u9fff" for ch in folded[start:end]) else 30
    window = folded[max(0, min(left, start - reach)):max(right, end + reach)]
    return bool(_RELATION.search(window))


def mentions(text: str, lexicon: list[tuple[str, str, bool, re.Pattern]]) -> list[Mention]:
    """The lexicon's concepts found in the text, each once (its first sentence). Entries are
    tried in lexicon order and a matched phrase is blanked, so the longer set phrase listed
    first ("全面战略协作伙伴关系") hides the shorter one inside it ("战略协作")."""
    found: dict[str, Mention] = {}
    for sentence in sentences(text):
        folded = work = _fold(sentence)
        for concept, label, needs_relation, pattern in lexicon:
            used = [m for m in pattern.finditer(work)
                    if not needs_relation or about_ties(folded, m.start(), m.end())]
            for m in used:
                phrase = sentence[m.start():_word_end(sentence, m.end())]
                found.setdefault(concept, Mention(concept, label, phrase, sentence))
            work = _blank(work, used)
    return list(found.values())


def _compare_mentions(kind: str, ru: list[Mention], cn: list[Mention]) -> list[Difference]:
    ru_concepts = {m.concept for m in ru}
    cn_concepts = {m.concept for m in cn}
    return ([Difference(kind, m.label, m.phrase, None, m.quote, None)
             for m in ru if m.concept not in cn_concepts]
            + [Difference(kind, m.label, None, m.phrase, None, m.quote)
               for m in cn if m.concept not in ru_concepts])


def _full_text(readout: Readout) -> str:
    return f"{readout.title}\n{readout.text}" if readout.title else readout.text


def compare(ru: Readout, cn: Readout) -> Comparison:
    """The figures, characterisations and topics of both accounts, and how they differ."""
    result = Comparison(ru, cn)
    for side, readout in (("ru", ru), ("cn", cn)):
        text = _full_text(readout)
        result.figures[side] = figures(text, readout.lang)
        result.characterisations[side] = mentions(text, _CHARACTERISATIONS)
        result.topics[side] = mentions(text, _TOPICS)
    result.differences = (
        _compare_figures(result.figures["ru"], result.figures["cn"], result)
        + _compare_mentions("characterisation", result.characterisations["ru"],
                            result.characterisations["cn"])
        + _compare_mentions("topic", result.topics["ru"], result.topics["cn"]))
    return result


# --- rendering ----------------------------------------------------------------------------------

SECTIONS = (("figure", "Figures"), ("characterisation", "Characterisations of the relationship"),
            ("topic", "Topics"))


def shorten(quote: str, limit: int = 220, around: str = "") -> str:
    """The quote cut to `limit` characters, keeping `around` (the matched phrase) in view."""
    quote = " ".join(quote.split())
    if len(quote) <= limit:
        return quote
    at = quote.find(around.split(" (= ")[0]) if around else -1
    if at + len(around) < limit - 1:
        return quote[:limit - 1].rstrip() + "…"
    start = max(0, at - limit // 3)
    end = start + limit - 2
    return "…" + quote[start:end].strip() + ("…" if end < len(quote) else "")


def _side_line(side: str, readout: Readout) -> str:
    lang = readout.lang or detect_lang(_full_text(readout))
    what = " · ".join(x for x in (readout.source, lang) if x)
    title = f": {shorten(readout.title, 100)}" if readout.title else ""
    return f"{SIDE_NAMES[side]} ({what}){title}"


def _shared(c: Comparison, kind: str) -> list[str]:
    if kind == "figure":
        return [f"{figure_label(a)}: {figure_text(a)} | {figure_text(b)}"
                for a, b in c.same_figures]
    attr = "characterisations" if kind == "characterisation" else "topics"
    cn = {m.concept for m in getattr(c, attr)["cn"]}
    return [m.label for m in getattr(c, attr)["ru"] if m.concept in cn]


def _diff_lines(d: Difference, quote_limit: int) -> list[str]:
    if d.status == "differs":
        head = f"  ≠ {d.label}: RU {d.ru}  |  CN {d.cn}"
    else:
        side = "RU" if d.status == "ru only" else "CN"
        head = f"  only {side}: {d.label} ({d.ru or d.cn})"
    quotes = [f"      {tag}: «{shorten(q, quote_limit, phrase or '')}»"
              for tag, q, phrase in (("RU", d.ru_quote, d.ru), ("CN", d.cn_quote, d.cn)) if q]
    return [head, *quotes]


def render_comparison(c: Comparison, quote_limit: int = 220) -> str:
    """The comparison as plain text: per section what both say, then each difference quoted."""
    lines = ["Readout comparison", "  " + _side_line("ru", c.ru), "  " + _side_line("cn", c.cn)]
    for kind, title in SECTIONS:
        diffs = [d for d in c.differences if d.kind == kind]
        shared = _shared(c, kind)
        lines += ["", title]
        lines.append("  both: " + ("; ".join(shared) if shared else "—"))
        for d in diffs:
            lines += _diff_lines(d, quote_limit)
        if not diffs:
            lines.append("  no differences")
    lines += ["", NO_DIFFERENCES if not c.differences
              else f"{len(c.differences)} difference(s) found."]
    return "\n".join(lines)


def _html_diff(d: Difference, quote_limit: int) -> str:
    e = html.escape
    if d.status == "differs":
        head = f"≠ <b>{e(d.label)}</b>: RU {e(d.ru or '')} | CN {e(d.cn or '')}"
    else:
        side = "RU" if d.status == "ru only" else "CN"
        head = f"only {side}: <b>{e(d.label)}</b> ({e(d.ru or d.cn or '')})"
    quotes = [f"  {tag}: <i>«{e(shorten(q, quote_limit, phrase or ''))}»</i>"
              for tag, q, phrase in (("RU", d.ru_quote, d.ru), ("CN", d.cn_quote, d.cn))
              if q and quote_limit]
    return "\n".join([head, *quotes])


def comparison_html(c: Comparison, limit: int = TELEGRAM_LIMIT) -> str:
    """The comparison as Telegram HTML (every text escaped), shortened to fit `limit`."""
    for quote_limit in (200, 120, 60, 0):
        text = _html(c, quote_limit)
        if len(text) <= limit:
            return text
    return text[:limit - 1].rsplit("\n", 1)[0] + "\n…"


def _html(c: Comparison, quote_limit: int) -> str:
    e = html.escape
    parts = ["<b>Readout comparison</b>", e(_side_line("ru", c.ru)), e(_side_line("cn", c.cn))]
    for kind, title in SECTIONS:
        diffs = [d for d in c.differences if d.kind == kind]
        shared = _shared(c, kind)
        parts.append(f"\n<b>{e(title)}</b>")
        if shared:
            parts.append("both: " + e("; ".join(shared)))
        parts += [_html_diff(d, quote_limit) for d in diffs] or ["no differences"]
    parts.append("\n" + (e(NO_DIFFERENCES) if not c.differences
                         else f"{len(c.differences)} difference(s) found."))
    return "\n".join(parts)
