"""Labels → a classifier model file (`monitor train`).

Every label source becomes one shape, `models.Label`: our own labelled set
(monitor/learn/labels/train.jsonl, shipped with the package so a container has it), the July
2024 newsletter issue read from ../shared at run time (never copied into the repo), and the
editor's decisions from the store (kept → its bucket, moved → the new bucket, skipped → a
lighter off-topic negative, since a skip can also mean "relevant but not this week"). The dev
split (dev.jsonl) is never trained on, so its figures stay honest. `seed_model` is the fallback
the classifier fits when no model file is usable.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from monitor.config.topics import Topics, load_topics
from monitor.learn.embed import embed
from monitor.learn.model import Model, default_model_path, fit_model, save_model
from monitor.models import OFF_TOPIC, Label
from monitor.text import item_text

log = logging.getLogger("monitor.train")
ROOT = Path(__file__).resolve().parents[2]
LABELS_DIR = Path(__file__).resolve().parent / "labels"  # our train split (package data)
DEV_DIR = ROOT / "tests" / "fixtures" / "classify"  # the dev split: never trained on
NEWSLETTER_DIR = ROOT.parent / "shared" / "newsletter"
SKIP_WEIGHT = 0.5
_SEED_CACHE: dict[str, Model] = {}


def label_text(label: Label) -> str:
    """What the model reads of a label: headline, then the lead."""
    return item_text(label.title, label.summary)




def labels_from_jsonl(path: str | Path, origin: str = "") -> list[Label]:
    """Objects with title, summary, lang and bucket, one per line (our labelled set's format)."""
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            out.append(Label(row.get("title") or "", row.get("summary") or "",
                               row.get("lang") or "", row["bucket"],
                               origin=origin or Path(path).stem))
    return out


def labels_from_newsletter(path: str | Path) -> list[Label]:
    """A newsletter issue's items file: headline + excerpt, placed in its section's bucket."""
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            out.append(Label(row.get("headline") or "", row.get("excerpt") or "",
                               row.get("lang") or "en", row["bucket"], origin="newsletter"))
    return out


def labels_from_decisions(labels: Iterable[Label]) -> list[Label]:
    """The editor's labels from the store, weighted: a skip counts less than a keep, since a
    skip can also mean "relevant, but not this week"."""
    return [replace(label, weight=SKIP_WEIGHT) if label.origin == "editor-skip" else label
            for label in labels]


def bundled_examples(topics: Topics) -> list[Label]:
    """Our train split, if this checkout has it, limited to buckets topics.yaml still has."""
    path = LABELS_DIR / "train.jsonl"
    if not path.exists():
        return []
    known = {*topics.ids, OFF_TOPIC}
    return [e for e in labels_from_jsonl(path, origin="labelled") if e.bucket in known]


def default_examples(newsletter_dir: Path | None = NEWSLETTER_DIR) -> list[Label]:
    """Our train split, plus every newsletter issue's items when ../shared is present."""
    examples = labels_from_jsonl(LABELS_DIR / "train.jsonl", origin="labelled")
    if newsletter_dir is not None and newsletter_dir.is_dir():
        for path in sorted(newsletter_dir.glob("*-items.jsonl")):
            examples += labels_from_newsletter(path)
    else:
        log.info("no newsletter items at %s; training on our own labels only", newsletter_dir)
    return examples


def train(examples: Iterable[Label], path: str | Path | None = None,
          topics: Topics | None = None) -> Path:
    """Fit both decisions on the examples and write the model file; returns its path.

    Examples whose bucket is not in topics.yaml are dropped with a warning (a renamed bucket
    should not stop training).
    """
    topics = topics or load_topics()
    path = Path(path) if path is not None else default_model_path()
    known = {*topics.ids, OFF_TOPIC}
    usable = [e for e in examples if e.bucket in known and label_text(e)]
    dropped = Counter(e.bucket for e in examples if e.bucket not in known)
    if dropped:
        log.warning("ignoring labels with unknown buckets: %s", dict(dropped))
    if not any(e.bucket == OFF_TOPIC for e in usable) or not any(
            e.bucket != OFF_TOPIC for e in usable):
        raise ValueError("training needs both relevant and off_topic examples")
    texts = [label_text(e) for e in usable]
    now = datetime.now(timezone.utc)
    version = f"lr-{now:%Y%m%d%H%M%S}-n{len(usable)}"
    meta = {"kind": "trained", "trained_at": now.isoformat(timespec="seconds"),
            "examples": len(usable), "by_bucket": dict(Counter(e.bucket for e in usable)),
            "by_origin": dict(Counter(e.origin for e in usable)),
            "by_lang": dict(Counter(e.lang for e in usable))}
    model = fit_model(embed(texts), texts, [e.bucket for e in usable], topics,
                      weights=np.array([e.weight for e in usable]), version=version,
                      titles=[(e.title or e.summary)[:120] for e in usable], meta=meta)
    save_model(model, path)
    log.info("trained %s on %d examples → %s", version, len(usable), path)
    return path


def seed_model(topics: Topics, bundled: bool = True) -> Model:
    """The fallback: each bucket's description, terms and term lists as labelled examples.

    With `bundled`, our own labelled train split (shipped in the repo) joins them when present:
    a fresh checkout without `monitor train` then still rejects most off-topic items instead of
    only the seed terms' obvious ones.
    """
    texts: list[str] = []
    labels: list[str] = []
    if bundled:
        for example in bundled_examples(topics):
            texts.append(label_text(example))
            labels.append(example.bucket)
    for topic in (*topics.buckets, topics.off_topic):
        samples = [topic.description, *(", ".join(t) for t in topic.terms.values()),
                   *topic.all_terms()]
        texts += samples
        labels += [topic.id] * len(samples)
    digest = hashlib.sha1("\n".join(texts + labels).encode()).hexdigest()[:8]
    if digest not in _SEED_CACHE:  # a daemon may fall back repeatedly; fit once per taxonomy
        _SEED_CACHE[digest] = fit_model(embed(texts), texts, labels, topics,
                                        version=f"seed-{digest}-n{len(texts)}",
                                        meta={"kind": "seed", "examples": len(texts)})
    return _SEED_CACHE[digest]
