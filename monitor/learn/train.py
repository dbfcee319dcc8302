"""Labels → a classifier model file (`monitor train`), and the check that a new one is no worse.

Every label source becomes one shape, `models.Label`: our labelled train splits
(monitor/learn/labels/real-train.jsonl, real items, and train.jsonl, synthetic ones; shipped
with the package so a container has them), the July 2024 newsletter issue read from ../shared at
run time (never copied into the repo), and the editor's decisions from the store. The real dev
split (labels/real-dev.jsonl) ships beside them for `monitor train`'s before/after figures, and
is never trained on: nothing here reads it except `dev_rows`, which only evaluates. The URLs of
our labelled items (the outlets' own sections) are looked up by label, since `Label` has none.
`seed_model` is the fallback the classifier fits when no model file is usable.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from monitor.config.topics import Topics, load_topics
from monitor.learn.embed import embed
from monitor.learn.model import Model, default_model_path, fit_model, save_model
from monitor.models import OFF_TOPIC, Label
from monitor.text import item_text

log = logging.getLogger("monitor.train")
ROOT = Path(__file__).resolve().parents[2]
LABELS_DIR = Path(__file__).resolve().parent / "labels"  # package data
TRAIN_FILES = ("real-train.jsonl", "train.jsonl")  # what training reads, and nothing else
REAL_DEV = LABELS_DIR / "real-dev.jsonl"  # the real dev split: evaluated on, never trained on
DEV_DIR = ROOT / "tests" / "fixtures" / "classify"  # the synthetic dev split (regression check)
NEWSLETTER_DIR = ROOT.parent / "shared" / "newsletter"
# How much each of the editor's verdicts teaches. A skip is "not needed this week", not "not our
# subject": it teaches nothing (a skipped relevant item must stay relevant after retraining).
# Off-topic is the editor saying "not our subject": a full-weight off_topic example.
DECISION_WEIGHTS = {"editor": 1.0, "editor-offtopic": 1.0, "editor-skip": 0.0}
_SEED_CACHE: dict[str, Model] = {}
_VECTORS: dict[str, np.ndarray] = {}  # text → embedding, for retraining in one process
_MAX_CACHED = 50_000


def label_text(label: Label) -> str:
    """What the model reads of a label: headline, then the lead."""
    return item_text(label.title, label.summary)


def embed_cached(texts: list[str]) -> np.ndarray:
    """`embed`, remembering each text's vector: our labelled set is embedded once per process
    however often a model is fitted (tests, the seed fallback, `monitor train`'s check)."""
    missing = list(dict.fromkeys(t for t in texts if t not in _VECTORS))
    if missing:
        if len(_VECTORS) + len(missing) > _MAX_CACHED:
            _VECTORS.clear()
        _VECTORS.update(zip(missing, embed(missing)))
    if not texts:
        return embed([])
    return np.stack([_VECTORS[t] for t in texts])


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def labels_from_jsonl(path: str | Path, origin: str = "") -> list[Label]:
    """Objects with title, summary, lang and bucket, one per line (our labelled set's format)."""
    return [Label(row.get("title") or "", row.get("summary") or "", row.get("lang") or "",
                  row["bucket"], origin=origin or Path(path).stem) for row in _rows(Path(path))]


def labels_from_newsletter(path: str | Path) -> list[Label]:
    """A newsletter issue's items file: headline + excerpt, placed in its section's bucket."""
    return [Label(row.get("headline") or "", row.get("excerpt") or "", row.get("lang") or "en",
                  row["bucket"], origin="newsletter") for row in _rows(Path(path))]


def labels_from_decisions(labels: Iterable[Label]) -> list[Label]:
    """The editor's labels from the store, as training examples.

    Kept or moved (`editor`): the bucket it ended in, full weight. Off-topic
    (`editor-offtopic`): `off_topic`, full weight. Skipped (`editor-skip`): nothing at all,
    since a skip says "not this week", not "not our subject". Unknown origins count fully.
    """
    out = []
    for label in labels:
        weight = DECISION_WEIGHTS.get(label.origin, 1.0)
        if weight <= 0:
            continue
        bucket = OFF_TOPIC if label.origin == "editor-offtopic" else label.bucket
        out.append(replace(label, bucket=bucket, weight=label.weight * weight))
    return out


def _train_paths() -> list[Path]:
    return [LABELS_DIR / name for name in TRAIN_FILES if (LABELS_DIR / name).exists()]


@lru_cache(maxsize=1)
def labelled_urls() -> dict[Label, str]:
    """The URL of each of our labelled train items (an outlet's section is a feature)."""
    out: dict[Label, str] = {}
    for path in _train_paths():
        for row, label in zip(_rows(path), labels_from_jsonl(path, origin="labelled")):
            if row.get("url"):
                out[label] = row["url"]
    return out


def bundled_examples(topics: Topics) -> list[Label]:
    """Our train splits, if this checkout has them, limited to buckets topics.yaml still has."""
    known = {*topics.ids, OFF_TOPIC}
    return [e for path in _train_paths() for e in labels_from_jsonl(path, origin="labelled")
            if e.bucket in known]


def default_examples(newsletter_dir: Path | None = NEWSLETTER_DIR) -> list[Label]:
    """Our train splits, plus every newsletter issue's items when ../shared is present."""
    examples = [e for path in _train_paths() for e in labels_from_jsonl(path, origin="labelled")]
    if newsletter_dir is not None and newsletter_dir.is_dir():
        for path in sorted(newsletter_dir.glob("*-items.jsonl")):
            examples += labels_from_newsletter(path)
    else:
        log.info("no newsletter items at %s; training on our own labels only", newsletter_dir)
    return examples


def dev_rows(path: Path = REAL_DEV) -> list[dict[str, Any]]:
    """The real dev split's objects, for evaluation only (never passed to `train`)."""
    return _rows(path)


def train(examples: Iterable[Label], path: str | Path | None = None,
          topics: Topics | None = None, urls: Mapping[Label, str] | None = None) -> Path:
    """Fit both decisions on the examples and write the model file; returns its path.

    Examples whose bucket is not in topics.yaml are dropped with a warning (a renamed bucket
    should not stop training); examples of weight 0 teach nothing and are left out. `urls` maps
    a label to its item's URL (default: our labelled set's URLs).
    """
    topics = topics or load_topics()
    path = Path(path) if path is not None else default_model_path()
    urls = labelled_urls() if urls is None else urls
    examples = list(examples)
    known = {*topics.ids, OFF_TOPIC}
    usable = [e for e in examples if e.bucket in known and e.weight > 0 and label_text(e)]
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
    model = fit_model(embed_cached(texts), texts, [e.bucket for e in usable], topics,
                      weights=np.array([e.weight for e in usable]), version=version,
                      titles=[(e.title or e.summary)[:120] for e in usable], meta=meta,
                      urls=[urls.get(e, "") for e in usable])
    save_model(model, path)
    log.info("trained %s on %d examples → %s", version, len(usable), path)
    return path


def seed_texts(topics: Topics) -> tuple[list[str], list[str]]:
    """Each bucket's (and off_topic's) description, term lists and terms, with its id."""
    texts: list[str] = []
    labels: list[str] = []
    for topic in (*topics.buckets, topics.off_topic):
        samples = [topic.description, *(", ".join(t) for t in topic.terms.values()),
                   *topic.all_terms()]
        texts += samples
        labels += [topic.id] * len(samples)
    return texts, labels


def seed_model(topics: Topics, bundled: bool = True) -> Model:
    """The fallback: each bucket's description, terms and term lists as labelled examples.

    With `bundled`, our own labelled train splits (shipped in the package) join them: a fresh
    checkout without `monitor train` then still rejects most off-topic items instead of only
    the seed terms' obvious ones.
    """
    examples = bundled_examples(topics) if bundled else []
    seeds, seed_labels = seed_texts(topics)
    texts = [label_text(e) for e in examples] + seeds
    labels = [e.bucket for e in examples] + seed_labels
    urls = [labelled_urls().get(e, "") for e in examples] + [""] * len(seeds)
    digest = hashlib.sha1("\n".join(texts + labels).encode()).hexdigest()[:8]
    if digest not in _SEED_CACHE:  # a daemon may fall back repeatedly; fit once per taxonomy
        _SEED_CACHE[digest] = fit_model(embed_cached(texts), texts, labels, topics,
                                        version=f"seed-{digest}-n{len(texts)}",
                                        meta={"kind": "seed", "examples": len(texts)},
                                        urls=urls)
    return _SEED_CACHE[digest]


def labelled_texts() -> list[str]:
    """What fitting and evaluating embed: our train and dev splits, the synthetic dev split and
    the seed texts of the shipped taxonomy (not ../shared's newsletter: it is read at run time)."""
    paths = sorted(LABELS_DIR.glob("*.jsonl")) + sorted(DEV_DIR.glob("*.jsonl"))
    texts = [label_text(e) for path in paths for e in labels_from_jsonl(path)]
    return texts + seed_texts(load_topics())[0]


def main(argv: list[str] | None = None) -> int:
    """`python -m monitor.learn.train --vectors`: rebuild the shipped e5 vector table after the
    labelled set or the taxonomy's seed texts changed (see learn/vectors.py)."""
    import argparse

    from monitor.learn.embed import e5_version
    from monitor.learn.vectors import TABLE, write_table

    parser = argparse.ArgumentParser(prog="python -m monitor.learn.train")
    parser.add_argument("--vectors", action="store_true", required=True,
                        help="rebuild labels/e5-vectors.npz")
    parser.parse_args(argv)
    rows = write_table(labelled_texts())
    print(json.dumps({"table": str(TABLE), "rows": rows, "version": e5_version()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
