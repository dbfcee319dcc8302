"""`topics.yaml` → typed `Topics`, validated once at start-up.

The taxonomy is editable without code, so a typo must stop start-up with one line naming the
key (`ConfigError`) rather than silently shrinking a bucket. The classifier uses the seed terms
as features (and, without a trained model, as its whole model), and exports use the titles.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from monitor.config.files import read_yaml
from monitor.errors import ConfigError
from monitor.models import OFF_TOPIC

LANGS = ("en", "zh", "ru")
DEFAULT_THRESHOLD = 0.3
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_TOP_KEYS = {"buckets", "off_topic", "relevance_threshold", "relevance_thresholds"}
_BUCKET_KEYS = {"id", "title", "description", "terms"}
_CJK = re.compile(r"[\u3000-\u9fff\uf900-\ufaff]")


@dataclass(frozen=True)
class Topic:
    """One bucket (or the off-topic pseudo-bucket) with its seed terms per language."""

    id: str
    title: str
    description: str
    terms: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def all_terms(self) -> list[str]:
        return [term for lang in LANGS for term in self.terms.get(lang, ())]

    @cached_property
    def pattern(self) -> re.Pattern[str] | None:
        """One regex over every term; see `term_regex` for how a term matches."""
        # longest first: at one position the regex takes the first alternative that fits
        parts = [term_regex(t) for t in sorted(self.all_terms(), key=len, reverse=True)]
        return re.compile("|".join(parts)) if parts else None

    def matches(self, text: str) -> list[str]:
        """The distinct seed terms found in `text`, in order of first appearance."""
        if self.pattern is None:
            return []
        seen: dict[str, None] = {}
        for match in self.pattern.finditer(text):
            seen.setdefault(match.group(0).lower(), None)
        return list(seen)


@dataclass(frozen=True)
class Topics:
    """The whole taxonomy: buckets in file order, plus off_topic and the relevance thresholds
    (a default, and optionally one per language: the model's scores are not equally sharp in
    every language, so one bar for all would waste rejection where it is sharp)."""

    buckets: tuple[Topic, ...]
    off_topic: Topic
    relevance_threshold: float = DEFAULT_THRESHOLD
    path: str = ""
    language_thresholds: dict[str, float] = field(default_factory=dict, hash=False)

    def threshold_for(self, lang: str | None) -> float:
        """The minimum relevance for an item in `lang` (the default for other languages)."""
        return self.language_thresholds.get(lang or "", self.relevance_threshold)

    @property
    def ids(self) -> list[str]:
        return [b.id for b in self.buckets]

    def get(self, bucket_id: str) -> Topic:
        for topic in (*self.buckets, self.off_topic):
            if topic.id == bucket_id:
                return topic
        raise KeyError(bucket_id)


def term_regex(term: str) -> str:
    """A term matches as a substring in CJK text, and at a word start elsewhere.

    Latin and Cyrillic terms are stems ("военн" matches "военные"), so only the start is anchored;
    short all-caps acronyms (SCO, EV, ИИ) must match whole and in capitals, or "ev" would hit
    "every".
    """
    escaped = re.escape(term)
    if _CJK.search(term):
        return escaped
    if term.isupper() and len(term) <= 4:
        return rf"(?<!\w){escaped}(?!\w)"
    return rf"(?i:(?<!\w){escaped})"


PACKAGED_TOPICS = Path(__file__).resolve().parents[2] / "topics.yaml"


def topics_path(path: str | Path | None = None) -> Path:
    """The file to read: the given one (MONITOR_TOPICS, default `topics.yaml` in the working
    directory); when that default is absent, the checkout's own beside the package."""
    path = Path(path) if path is not None else Path("topics.yaml")
    if not path.exists() and path == Path("topics.yaml") and PACKAGED_TOPICS.exists():
        return PACKAGED_TOPICS
    return path


def load_topics(path: str | Path | None = None) -> Topics:
    """Read and validate the file; raises ConfigError naming the first bad key."""
    path = topics_path(path)
    return parse_topics(read_yaml(path), str(path))


def parse_topics(data: Any, label: str = "topics.yaml") -> Topics:
    """Validate already-parsed YAML; split from `load_topics` so tests need no files."""

    def fail(key: str, why: str) -> ConfigError:
        return ConfigError(f"{label}: key {key!r}: {why}")

    if not isinstance(data, dict):
        raise ConfigError(f"{label}: expected a mapping with 'buckets:'")
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise fail(sorted(unknown)[0], "unknown key")
    threshold = _threshold(data.get("relevance_threshold", DEFAULT_THRESHOLD),
                           "relevance_threshold", fail)
    per_lang = data.get("relevance_thresholds") or {}
    if not isinstance(per_lang, dict):
        raise fail("relevance_thresholds", f"expected a mapping of {', '.join(LANGS)} to numbers")
    for lang in per_lang:
        if lang not in LANGS:
            raise fail(f"relevance_thresholds.{lang}", f"unknown language (one of "
                       f"{', '.join(LANGS)})")
    languages = {lang: _threshold(value, f"relevance_thresholds.{lang}", fail)
                 for lang, value in per_lang.items()}
    entries = data.get("buckets")
    if not isinstance(entries, list) or not entries:
        raise fail("buckets", "expected a non-empty list of buckets")
    buckets = [_bucket(entry, f"buckets[{i}]", fail) for i, entry in enumerate(entries)]
    seen: set[str] = set()
    for i, bucket in enumerate(buckets):
        if bucket.id in seen or bucket.id == OFF_TOPIC:
            raise fail(f"buckets[{i}].id", f"duplicate or reserved id {bucket.id!r}")
        seen.add(bucket.id)
    off = data.get("off_topic")
    if not isinstance(off, dict):
        raise fail("off_topic", "expected a mapping with description and terms")
    off_topic = _bucket({"id": OFF_TOPIC, "title": "Off topic", **off}, "off_topic", fail)
    return Topics(tuple(buckets), off_topic, threshold, label, languages)


def _threshold(value: Any, key: str, fail: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise fail(key, "expected a number between 0 and 1")
    return float(value)


def _bucket(entry: Any, key: str, fail: Any) -> Topic:
    if not isinstance(entry, dict):
        raise fail(key, "expected a mapping with id, title, description, terms")
    unknown = set(entry) - _BUCKET_KEYS
    if unknown:
        raise fail(f"{key}.{sorted(unknown)[0]}", "unknown key")
    bucket_id = entry.get("id")
    if not isinstance(bucket_id, str) or not _ID.match(bucket_id):
        raise fail(f"{key}.id", "expected lower-case letters, digits, '_'")
    for name in ("title", "description"):
        if not isinstance(entry.get(name), str) or not entry[name].strip():
            raise fail(f"{key}.{name}", "expected a non-empty string")
    terms = entry.get("terms")
    if not isinstance(terms, dict) or not terms:
        raise fail(f"{key}.terms", f"expected a mapping of language ({', '.join(LANGS)}) to terms")
    parsed: dict[str, tuple[str, ...]] = {}
    for lang, values in terms.items():
        if lang not in LANGS:
            raise fail(f"{key}.terms.{lang}", f"unknown language (known: {', '.join(LANGS)})")
        if not isinstance(values, list) or not values or not all(
                isinstance(v, str) and v.strip() for v in values):
            raise fail(f"{key}.terms.{lang}", "expected a non-empty list of strings")
        parsed[lang] = tuple(v.strip() for v in values)
    return Topic(bucket_id, entry["title"].strip(), " ".join(entry["description"].split()), parsed)
