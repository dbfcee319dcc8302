"""Labels → a classifier model file (`monitor train`).

Every label source becomes one shape, `Example`: our own labelled set
(monitor/labels/train.jsonl, shipped with the package so a container has it), the July 2024 newsletter issue read from ../shared at run
time (never copied into the repo), and the editor's decisions from the store (kept → its bucket,
moved → the new bucket, skipped → a lighter off-topic negative, since a skip can also mean
"relevant but not this week"). The dev split (dev.jsonl) is never trained on, so its figures
stay honest.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from monitor.models import OFF_TOPIC
from monitor.pipeline.classify import default_model_path, fit_model, save_model
from monitor.pipeline.embed import embed, item_text
from monitor.topics import Topics, load_topics

log = logging.getLogger("monitor.train")
ROOT = Path(__file__).resolve().parents[1]
LABELS_DIR = Path(__file__).resolve().parent / "labels"  # our train split (package data)
DEV_DIR = ROOT / "tests" / "fixtures" / "classify"  # the dev split: never trained on
NEWSLETTER_DIR = ROOT.parent / "shared" / "newsletter"
SKIP_WEIGHT = 0.5


@dataclass(frozen=True)
class Example:
    """One labelled item; `bucket` is a bucket id or `off_topic`."""

    title: str
    summary: str
    lang: str
    bucket: str
    weight: float = 1.0
    origin: str = ""  # which label source, for the training-set summary

    @property
    def text(self) -> str:
        return item_text(self.title, self.summary)


def labels_from_jsonl(path: str | Path, origin: str = "") -> list[Example]:
    """Objects with title, summary, lang and bucket, one per line (our labelled set's format)."""
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            out.append(Example(row.get("title") or "", row.get("summary") or "",
                               row.get("lang") or "", row["bucket"],
                               origin=origin or Path(path).stem))
    return out


def labels_from_newsletter(path: str | Path) -> list[Example]:
    """A newsletter issue's items file: headline + excerpt, placed in its section's bucket."""
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            out.append(Example(row.get("headline") or "", row.get("excerpt") or "",
                               row.get("lang") or "en", row["bucket"], origin="newsletter"))
    return out


def labels_from_decisions(rows: Iterable[Mapping[str, Any]]) -> list[Example]:
    """Editor decisions from the store: rows with title, summary, lang, status and bucket.

    `bucket` must be the bucket the item ended in (after a move). Undecided rows are ignored.
    """
    out = []
    for row in rows:
        status = row.get("status")
        if status == "kept" and row.get("bucket") and row["bucket"] != OFF_TOPIC:
            out.append(Example(row.get("title") or "", row.get("summary") or "",
                               row.get("lang") or "", row["bucket"], origin="editor"))
        elif status == "skipped":
            out.append(Example(row.get("title") or "", row.get("summary") or "",
                               row.get("lang") or "", OFF_TOPIC, SKIP_WEIGHT, origin="editor"))
    return out


def bundled_examples(topics: Topics) -> list[Example]:
    """Our train split, if this checkout has it, limited to buckets topics.yaml still has."""
    path = LABELS_DIR / "train.jsonl"
    if not path.exists():
        return []
    known = {*topics.ids, OFF_TOPIC}
    return [e for e in labels_from_jsonl(path, origin="labelled") if e.bucket in known]


def default_examples(newsletter_dir: Path | None = NEWSLETTER_DIR) -> list[Example]:
    """Our train split, plus every newsletter issue's items when ../shared is present."""
    examples = labels_from_jsonl(LABELS_DIR / "train.jsonl", origin="labelled")
    if newsletter_dir is not None and newsletter_dir.is_dir():
        for path in sorted(newsletter_dir.glob("*-items.jsonl")):
            examples += labels_from_newsletter(path)
    else:
        log.info("no newsletter items at %s; training on our own labels only", newsletter_dir)
    return examples


def train(examples: Iterable[Example], path: str | Path | None = None,
          topics: Topics | None = None) -> Path:
    """Fit both decisions on the examples and write the model file; returns its path.

    Examples whose bucket is not in topics.yaml are dropped with a warning (a renamed bucket
    should not stop training).
    """
    topics = topics or load_topics()
    path = Path(path) if path is not None else default_model_path()
    known = {*topics.ids, OFF_TOPIC}
    usable = [e for e in examples if e.bucket in known and e.text]
    dropped = Counter(e.bucket for e in examples if e.bucket not in known)
    if dropped:
        log.warning("ignoring labels with unknown buckets: %s", dict(dropped))
    if not any(e.bucket == OFF_TOPIC for e in usable) or not any(
            e.bucket != OFF_TOPIC for e in usable):
        raise ValueError("training needs both relevant and off_topic examples")
    texts = [e.text for e in usable]
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
