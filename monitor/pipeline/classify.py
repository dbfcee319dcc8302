"""Classify items: first relevant or `off_topic`, then which of the six buckets.

Why two decisions: missing a story costs the editor far more than skipping one, so relevance
gets its own probability and a deliberately low threshold (per source if needed), while the
bucket choice only has to rank buckets among relevant items. The model's features, fitting and
file format are in `learn/model.py`; without a usable model file we fit the same models on the
seed terms and our bundled labels (`learn/train.seed_model`), with a warning: weaker, but never
a crash.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from monitor.config.topics import Topics, load_topics
from monitor.learn.embed import embed
from monitor.learn.features import SCOPE
from monitor.learn.model import Model, check_model, default_model_path, predict, read_model
from monitor.learn.train import seed_model
from monitor.models import OFF_TOPIC, Item
from monitor.text import item_text

log = logging.getLogger("monitor.classify")


class Classifier:
    """The loaded model plus the taxonomy; cheap to call `reload_if_changed` before each batch."""

    def __init__(self, topics: Topics, model_path: Path | None) -> None:
        self.topics = topics
        self.model_path = model_path
        self._stamp: tuple[int, int] | None = None
        self.model = self._load()

    @property
    def version(self) -> str:
        return self.model.version

    def _file_stamp(self) -> tuple[int, int] | None:
        try:
            st = self.model_path.stat() if self.model_path else None
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size) if st else None

    def _load(self) -> Model:
        self._stamp = self._file_stamp()
        if self.model_path is None or self._stamp is None:
            log.warning("no classifier model at %s; using the seed-term model "
                        "(run `monitor train`)", self.model_path)
            return seed_model(self.topics)
        try:
            model = read_model(self.model_path)
            check_model(model, self.topics)
        except Exception as exc:  # any unreadable model must degrade, never stop the daemon
            log.warning("classifier model %s unusable (%s); using the seed-term model",
                        self.model_path, exc)
            return seed_model(self.topics)
        log.info("classifier model %s loaded (%s)", model.version, self.model_path)
        return model

    def reload_if_changed(self) -> bool:
        """Reload when the model file's mtime or size changed; True if it reloaded."""
        stamp = self._file_stamp()
        if stamp is None or stamp == self._stamp:
            return False
        self.model = self._load()
        return True

    def classify(self, items: list[Item], threshold: float | None = None,
                 vectors: np.ndarray | None = None) -> list[Item]:
        """Set bucket, confidence, scores, why and model_version on each item (in place).

        `threshold` is the minimum relevance (0–1), by default topics.yaml's for the item's
        language (`relevance_thresholds`, else `relevance_threshold`). `vectors` may pass
        rows of `embed([item_text(title, summary)])` already computed (dedupe uses the same).
        A model file retrained since the last call is picked up first (a stat, ~2 µs).
        """
        if not items:
            return items
        self.reload_if_changed()
        model = self.model  # one model for the whole batch, even if another thread reloads
        texts = [item_text(i.title, i.summary) for i in items]
        vecs = embed(texts) if vectors is None else np.asarray(vectors, dtype=np.float32)
        p_rel, p_bucket, feats = predict(model, vecs, texts, [i.url for i in items],
                                         self.topics)
        for n, item in enumerate(items):
            thr = self.topics.threshold_for(item.lang) if threshold is None else float(threshold)
            self._decide(model, item, float(p_rel[n]), p_bucket[n], thr, texts[n],
                         int(feats.nearest_relevant[n]), int(feats.nearest[n]))
        return items

    def probabilities(self, vecs: np.ndarray, texts: list[str], urls: list[str] | None = None,
                      model: Model | None = None) -> tuple[np.ndarray, np.ndarray]:
        """P(relevant) per item, and P(bucket | relevant) per item and bucket."""
        p_rel, p_bucket, _ = predict(model or self.model, vecs, texts,
                                     urls or [""] * len(texts), self.topics)
        return p_rel, p_bucket

    def _decide(self, model: Model, item: Item, p_rel: float, p_bucket: np.ndarray, thr: float,
                text: str, nearest_relevant: int, nearest: int) -> None:
        ids = model.buckets
        scores = {b: round(p_rel * float(p), 4) for b, p in zip(ids, p_bucket)}
        scores[OFF_TOPIC] = round(1.0 - p_rel, 4)
        best = ids[int(np.argmax(p_bucket))]
        relevant = p_rel >= thr
        item.bucket = best if relevant else OFF_TOPIC
        item.confidence = round(p_rel * float(p_bucket.max()) if relevant else 1 - p_rel, 4)
        item.scores = scores
        item.model_version = model.version
        item.why = self._why(model, item.bucket, text, nearest_relevant if relevant else nearest)

    def _why(self, model: Model, bucket: str, text: str, nearest: int) -> str:
        """Short: the chosen bucket's decisive seed terms, and the nearest labelled example
        (a relevant one when the item is relevant)."""
        parts = []
        terms = self.topics.get(bucket).matches(text)[:3]
        if not terms and bucket != OFF_TOPIC:
            terms = SCOPE.matches(text)[:3]  # the names that put it in the newsletter's scope
        if terms:
            parts.append("terms: " + ", ".join(terms))
        if nearest >= 0:
            parts.append(f"like [{model.ex_labels[nearest]}] "
                         f"\"{model.ex_titles[nearest][:70]}\"")
        return "; ".join(parts)


def load_classifier(settings: Any = None, *, model_path: Path | str | None = None,
                    topics: Topics | Path | str | None = None) -> Classifier:
    """The classifier for the daemon and CLI.

    `settings` (monitor.config.settings.Settings) supplies MONITOR_STORAGE and MONITOR_TOPICS;
    `model_path`/`topics` override them. An invalid topics.yaml raises ConfigError; a missing
    or corrupt model file only logs a warning.
    """
    if model_path is None:
        storage = getattr(settings, "monitor_storage", None) or "storage"
        model_path = default_model_path(storage)
    if not isinstance(topics, Topics):
        topics = load_topics(topics or getattr(settings, "monitor_topics", None))
    return Classifier(topics, Path(model_path))
