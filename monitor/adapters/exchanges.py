"""A press-conference transcript split into its question-and-answer exchanges (pure, no network).

Transcripts (PRC MFA in English and Chinese, 2020 and 2024 layouts) are a run of paragraphs,
each new speaker announced by a label at its start: the spokesperson ("Zhao Lijian:",
"赵立坚："), an asking outlet ("CCTV:", "Bloomberg:", "总台央视记者：", "彭博社记者："), or an
unnamed asker ("Q:", "Reporter:", "问：", "记者：", "会后有记者问及："). A label is the text before
the first colon in a paragraph's first `LABEL_MAX` characters, accepted only when it reads as a
name (EN: title-case words; ZH: a 2-4 character name or "…记者"); paragraphs without a label
continue the current speaker. The spokesperson is the one given, else the label that speaks
most often among those that are not askers. What the spokesperson says before the first
question (announcements) is exchange 0, with no asker; questions are numbered from 1.

`title` and `quote` word an exchange as a candidate's headline and summary. `about(exchanges,
topic)` finds the exchanges that mention a topic, by a small multilingual alias list
(`TOPICS`), matching whole words in English and the alias as written in Chinese.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from monitor.adapters.helpers import opening

LABEL = re.compile(r"^([^:：\n]{1,60})\s?[:：]\s*")
LABEL_MAX = 60
PARENTHETICAL = re.compile(r"\s*[(（][^)）]{0,30}[)）]$")  # "AFP (follow-up)"
EN_WORD = re.compile(r"^(?:[A-Z0-9][\w'’.&-]{0,30}|of|the|and|de|del|la|for|on)$")
EN_ASKERS = {"q", "question", "reporter", "journalist", "correspondent"}
EN_ANSWERS = {"a", "answer", "spokesperson"}
EN_FOLLOW_UP = {"follow-up", "follow up", "followup"}
SPOKESPERSON_TITLE = re.compile(r"^(?:Foreign Ministry )?Spokesperson\s(?=\S)")
EN_NOT_A_NAME = {"on", "in", "at", "as", "for", "from", "to", "with", "by", "since", "after",
                 "before", "first", "second", "third", "finally", "also", "and", "but", "here"}
ZH_NAME = re.compile(r"^[\u4e00-\u9fff·]{2,4}$")
ZH_ASKER = re.compile(r"^(?:(?P<outlet>[^，,。；;]{1,20}?)记者|记者|问|提问|记者问"
                      r"|会后有记者问及?|有记者问)$")
ZH_ANSWERS = {"答", "发言人"}
ZH_FOLLOW_UP = {"追问"}
# Editorial notes between exchanges, not anybody's words.
NOTE = re.compile(r"^(?:the following questions? (?:was|were|is|are) (?:raised|asked)"
                  r" after the press conference\.?|会后.{0,12}问[题及].{0,8}[。：:]?)$", re.I)
TOPICS: dict[str, tuple[str, ...]] = {  # a topic's aliases: EN whole words, ZH as written
    "India": ("India", "Indian", "Indians", "New Delhi", "Modi", "印度(?!尼西亚|洋)", "印方",
              "中印", "莫迪"),
    "Hong Kong": ("Hong Kong", "HKSAR", "香港", "涉港", "港区", "港独", "乱港"),
    "Russia": ("Russia", "Russian", "Russians", "Moscow", "Kremlin", "Putin", "Lavrov",
               "俄罗斯", "俄方", "俄", "普京", "拉夫罗夫", "莫斯科"),
    "the US": ("US", "U.S.", "USA", "United States", "American", "Americans", "Washington",
               "Pompeo", "美国", "美方", "中美", "美西方"),
    "Taiwan": ("Taiwan", "Taipei", "台湾", "涉台", "台独", "台海", "台当局"),
    "Ukraine": ("Ukraine", "Ukrainian", "Kyiv", "Kiev", "乌克兰", "乌方", "俄乌"),
    "Japan": ("Japan", "Japanese", "Tokyo", "日本", "日方", "中日"),
    "Xinjiang": ("Xinjiang", "Uyghur", "Uygur", "新疆", "涉疆"),
}
TITLE_WORDS = 12  # words of the question in an exchange's title (Chinese: twice as many characters)
CJK = re.compile(r"[\u3400-\u9fff]")
ZH_LOOKAROUND = re.compile(r"\(\?<?[!=][^)]{0,20}\)")


@dataclass(frozen=True, slots=True)
class Exchange:
    """One exchange: `n` 0 for the opening announcements, then 1, 2, … per question."""

    n: int
    asker: str | None  # the asking outlet, when the transcript names one
    question: str
    answerer: str | None  # the spokesperson
    answer: str


@dataclass(frozen=True, slots=True)
class _Label:
    kind: str  # "ask", "answer", "follow" or "name" (a name to be told apart later)
    name: str | None
    rest: str


def split(text: str | Iterable[str], lang: str, spokesperson: str | None = None) -> list[Exchange]:
    """The exchanges of a transcript, given as text (one paragraph a line) or paragraphs.

    `spokesperson` (from the page's title) names who answers; when no label carries that name,
    the spokesperson is inferred.
    """
    lines = text.splitlines() if isinstance(text, str) else list(text)
    paragraphs = [p for p in (" ".join(line.split()) for line in lines) if p and not NOTE.match(p)]
    zh = lang.startswith("zh")
    labelled = [(label_of(p, zh), p) for p in paragraphs]
    names = [lab for lab, _ in labelled if lab]
    given = spokesperson if any(lab.name == spokesperson for lab in names) else None
    speaker = given or _spokesperson(names)
    exchanges: list[Exchange] = []
    current: dict | None = None  # n, asker, question and answer paragraph lists
    answering = True  # before the first question the spokesperson speaks
    for lab, para in labelled:
        role = _role(lab, speaker)
        if role == "ask":
            follow = lab.kind == "follow" and current is not None
            asker = current["asker"] if follow else lab.name
            if current:
                exchanges.append(_close(current, speaker, zh))
            n = current["n"] + 1 if current else 1
            current = {"n": n, "asker": asker, "q": [lab.rest], "a": []}
            answering = False
            continue
        words = lab.rest if role == "answer" else para
        if current is None:
            current = {"n": 0, "asker": None, "q": [], "a": []}
        if role == "answer":
            answering = True
        (current["a"] if answering else current["q"]).append(words)
    if current:
        exchanges.append(_close(current, speaker, zh))
    return [e for e in exchanges if e.question or e.answer]


def label_of(paragraph: str, zh: bool) -> _Label | None:
    """The speaker label that opens a paragraph, if it reads as one."""
    m = LABEL.match(paragraph[:LABEL_MAX + 2])
    if not m:
        return None
    name, rest = PARENTHETICAL.sub("", m.group(1).strip()), paragraph[m.end():]
    if not name:
        return None
    if zh or CJK.search(name):
        return _zh_label(name, rest)
    return _en_label(name, rest)


def _en_label(name: str, rest: str) -> _Label | None:
    name = SPOKESPERSON_TITLE.sub("", name)  # "Spokesperson Lin Jian" is "Lin Jian"
    low = name.lower()
    if low in EN_ASKERS:
        return _Label("ask", None, rest)
    if low in EN_ANSWERS:
        return _Label("answer", None, rest)
    if low in EN_FOLLOW_UP:
        return _Label("follow", None, rest)
    words = name.split()
    if (len(words) > 7 or not words[0][0].isupper() or words[0].lower() in EN_NOT_A_NAME
            or not all(EN_WORD.match(w) and not w.isdigit() for w in words)):
        return None
    return _Label("name", name, rest)


def _zh_label(name: str, rest: str) -> _Label | None:
    name = name.strip("　 ")
    if name in ZH_ANSWERS:
        return _Label("answer", None, rest)
    if name in ZH_FOLLOW_UP:
        return _Label("follow", None, rest)
    if m := ZH_ASKER.match(name):
        outlet = (m.group("outlet") or "").strip("《》〈〉 ")
        return _Label("ask", outlet or None, rest)
    if ZH_NAME.match(name):
        return _Label("name", name, rest)
    return None


def _spokesperson(labels: list[_Label]) -> str | None:
    """The name that speaks most often; askers ("…记者", outlets after "Q") never count."""
    counts = Counter(lab.name for lab in labels if lab.kind == "name")
    return counts.most_common(1)[0][0] if counts else None


def _role(label: _Label | None, speaker: str | None) -> str | None:
    """"ask", "answer" or None (no label: the current speaker goes on)."""
    if label is None:
        return None
    if label.kind == "name":
        return "answer" if label.name == speaker else "ask"
    return "answer" if label.kind == "answer" else "ask"


def _close(current: dict, speaker: str | None, zh: bool) -> Exchange:
    joiner = "" if zh else " "
    return Exchange(n=current["n"], asker=current["asker"],
                    question=joiner.join(current["q"]).strip(), answerer=speaker,
                    answer=joiner.join(current["a"]).strip())


def title(e: Exchange, head: str, zh: bool) -> str:
    """"<head>: CCTV asks about <first words>…" ("<head>：中央电视台记者提问：…" in Chinese)."""
    words = e.question or e.answer
    if zh:
        what = f"{e.asker or ''}记者提问" if e.n else "发言人发布消息"
        cut = words[:TITLE_WORDS * 2]
        more = len(words) > len(cut)
        return f"{head}：{what}：{cut.rstrip('，。；：、') + '…' if more else cut}"
    what = f"{e.asker or 'a reporter'} asks about" if e.n else "announcement:"
    cut = words.split()
    more = len(cut) > TITLE_WORDS
    text = " ".join(cut[:TITLE_WORDS])
    return f"{head}: {what} {text.rstrip(',;:.') + '…' if more else text}"


def quote(e: Exchange, zh: bool) -> str:
    """The question, then the start of the answer, each after its speaker."""
    colon = "：" if zh else ": "
    asker = (f"{e.asker}记者" if zh else e.asker) if e.asker else ("问" if zh else "Q")
    parts = [f"{asker}{colon}{opening(e.question, sentences=3, limit=350)}"] if e.question else []
    if e.answer:
        answerer = e.answerer or ("答" if zh else "A")
        parts.append(f"{answerer}{colon}{opening(e.answer, sentences=2, limit=250)}")
    return " ".join(parts)


def about(exchanges: Iterable[Exchange], topic: str) -> list[Exchange]:
    """The exchanges whose question or answer mentions the topic (or one of its aliases)."""
    pattern = topic_pattern(topic)
    return [e for e in exchanges if pattern.search(f"{e.question}\n{e.answer}")]


def topic_pattern(topic: str) -> re.Pattern[str]:
    """One regular expression for a topic: its aliases when `TOPICS` knows it, else itself.

    English aliases are literal words; Chinese ones are written as patterns (`印度(?!尼西亚)`).
    """
    topic = topic.strip()
    wanted = topic.lower()
    aliases = next((names for key, names in TOPICS.items()
                    if wanted == key.lower() or wanted in (_plain(n).lower() for n in names)),
                   None)
    if aliases is None:
        aliases = (re.escape(topic) if CJK.search(topic) else topic,)
    parts = []
    for alias in aliases:
        if CJK.search(alias):
            parts.append(alias)  # Chinese has no spaces between words: the alias as written
            continue
        body = re.escape(alias)
        # Acronyms keep their case ("US" is not "us"); names match in any case.
        parts.append(rf"(?<!\w){body if alias.isupper() else f'(?i:{body})'}(?!\w)")
    return re.compile("|".join(parts))


def _plain(alias: str) -> str:
    """An alias without its lookarounds (`印度(?!尼西亚)` → `印度`), to look a topic up by."""
    return ZH_LOOKAROUND.sub("", alias)
