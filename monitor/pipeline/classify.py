"""Classify items: first relevant or `off_topic`, then which of the six buckets.

Why two decisions: missing a story costs the editor far more than skipping one, so relevance
gets its own probability and a deliberately low threshold (per source if needed), while the
bucket choice only has to rank buckets among relevant items.

Features are a multilingual sentence embedding of headline + lead (so EN/ZH/RU share one model)
plus seed-term hit counts from topics.yaml (so editing the terms has a visible effect). Two small
logistic models sit on top, trained by `monitor.train` into `storage/model/classifier.npz`.
Without a usable model file we fit the same models on the seed terms and descriptions alone,
with a warning: weaker, but never a crash.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from monitor.models import OFF_TOPIC, Item
from monitor.pipeline.embed import embed, item_text
from monitor.topics import Topic, Topics, load_topics

log = logging.getLogger("monitor.classify")
EMB_SCALE = 3.0  # embedding weight against term features; chosen on the dev set (bench/)
MAX_HITS = 3
MODEL_NAME = "classifier.npz"
_SEED_CACHE: dict[str, "Model"] = {}
# Who the newsletter is about, as names only: China, Russia, the war in Ukraine and the
# neighbourhood. Bucket terms also hold generic words (missile, sanctions, talks) that fit any
# country's news; this one count lets the relevance model tell "Iran missile test" from a
# Russian one. A feature, not a rule: the weights decide how much it counts.
SCOPE = Topic("scope", "", "", {
    "en": ("Russia", "Moscow", "Kremlin", "Putin", "Lavrov", "Peskov", "China", "Chinese",
           "Beijing", "Xi", "PLA", "Ukrain", "Kyiv", "Zelensk", "Crimea", "Donbas", "Belarus",
           "Lukashenk", "Kazakh", "Uzbek", "Kyrgyz", "Tajik", "Turkmen", "Central Asia",
           "Mongolia", "Taiwan", "Hong Kong", "North Korea", "Pyongyang", "Soviet", "NATO"),
    "zh": ("俄", "中国", "中方", "中俄", "习近平", "北京", "解放军", "乌克兰", "白俄罗斯", "中亚",
           "哈萨克", "乌兹别克", "吉尔吉斯", "塔吉克", "蒙古", "台湾", "香港", "朝鲜", "北约",
           "外交部"),
    "ru": ("Росси", "российск", "Москв", "Кремл", "Путин", "Лавров", "Песков", "Китай",
           "китайск", "Пекин", "Си Цзиньпин", "Украин", "Киев", "Зеленск", "Крым", "Донбасс",
           "Белорус", "Лукашенко", "Казахстан", "Узбекистан", "Киргиз", "Таджикистан",
           "Центральной Азии", "Монголи", "Тайван", "КНДР", "НАТО", "СВО")})


@dataclass
class Model:
    """Weights of the two decisions, plus labelled examples used to explain ("why")."""

    buckets: list[str]
    w_rel: np.ndarray  # (d,) relevance logit weights
    b_rel: float
    w_bucket: np.ndarray  # (d, k)
    b_bucket: np.ndarray  # (k,)
    version: str
    ex_vecs: np.ndarray  # (m, 512) float16 embeddings of labelled examples
    ex_titles: list[str]
    ex_labels: list[str]
    meta: dict[str, Any]


def term_features(texts: list[str], topics: Topics) -> np.ndarray:
    """Per text, how many distinct seed terms of each bucket (then off_topic, then the
    newsletter's scope names) it contains."""
    classes = [*topics.buckets, topics.off_topic, SCOPE]
    out = np.zeros((len(texts), len(classes)), dtype=np.float32)
    for i, text in enumerate(texts):
        for j, topic in enumerate(classes):
            out[i, j] = min(len(topic.matches(text)), MAX_HITS) / MAX_HITS
    return out


def features(vectors: np.ndarray, texts: list[str], topics: Topics) -> np.ndarray:
    return np.hstack([vectors * EMB_SCALE, term_features(texts, topics)]).astype(np.float32)


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def fit_softmax(x: np.ndarray, y: np.ndarray, k: int, weights: np.ndarray | None = None,
                l2: float = 1e-3, steps: int = 300, rate: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression by full-batch gradient descent.

    A few hundred to a few thousand examples of ~520 features fit in well under a second, so
    numpy is enough; no scikit-learn.
    """
    x = np.ascontiguousarray(x, dtype=np.float64)  # one conversion, not one per step
    n, d = x.shape
    w = np.zeros((d, k), dtype=np.float64)
    b = np.zeros(k, dtype=np.float64)
    target = np.eye(k)[y]
    sw = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    sw = sw / sw.sum()
    for _ in range(steps):
        grad = (softmax(x @ w + b) - target) * sw[:, None]
        w -= rate * (x.T @ grad + l2 * w)
        b -= rate * grad.sum(axis=0)
    return w.astype(np.float32), b.astype(np.float32)


def fit_model(vectors: np.ndarray, texts: list[str], labels: list[str], topics: Topics,
              weights: np.ndarray | None = None, version: str = "",
              titles: list[str] | None = None, meta: dict[str, Any] | None = None) -> Model:
    """Both decisions from labelled vectors; labels are bucket ids or `off_topic`."""
    x = features(vectors, texts, topics)
    wts = np.ones(len(labels)) if weights is None else np.asarray(weights, dtype=np.float64)
    relevant = np.array([label != OFF_TOPIC for label in labels])
    w2, b2 = fit_softmax(x, relevant.astype(int), 2, wts)
    ids = topics.ids
    y = np.array([ids.index(label) for label in np.array(labels)[relevant]], dtype=int)
    wb, bb = fit_softmax(x[relevant], y, len(ids), wts[relevant])
    return Model(ids, w2[:, 1] - w2[:, 0], float(b2[1] - b2[0]), wb, bb, version,
                 vectors.astype(np.float16), titles or [t[:120] for t in texts], list(labels),
                 meta or {})


def seed_model(topics: Topics, bundled: bool = True) -> Model:
    """The fallback: each bucket's description, terms and term lists as labelled examples.

    With `bundled`, our own labelled train split (shipped in the repo) joins them when present:
    a fresh checkout without `monitor train` then still rejects most off-topic items instead of
    only the seed terms' obvious ones.
    """
    texts: list[str] = []
    labels: list[str] = []
    if bundled:
        from monitor.train import bundled_examples  # train imports this module

        for example in bundled_examples(topics):
            texts.append(example.text)
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


def save_model(model: Model, path: Path) -> None:
    """Write weights (.npz) then metadata (.json) atomically, so a reader never sees half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez_compressed(tmp, w_rel=model.w_rel, b_rel=np.float32(model.b_rel),
                        w_bucket=model.w_bucket, b_bucket=model.b_bucket, ex_vecs=model.ex_vecs,
                        ex_titles=np.array(model.ex_titles), ex_labels=np.array(model.ex_labels),
                        buckets=np.array(model.buckets), version=np.array(model.version))
    meta_path = path.with_suffix(".json")
    meta_tmp = meta_path.with_name(meta_path.name + ".tmp")
    meta_tmp.write_text(json.dumps({**model.meta, "version": model.version,
                                    "buckets": model.buckets}, indent=2), encoding="utf-8")
    os.replace(meta_tmp, meta_path)
    os.replace(tmp, path)


def read_model(path: Path) -> Model:
    """Load a model file; raises (OSError, ValueError, KeyError…) on anything unusable."""
    with np.load(path, allow_pickle=False) as data:
        model = Model(
            [str(b) for b in data["buckets"]], data["w_rel"], float(data["b_rel"]),
            data["w_bucket"], data["b_bucket"], str(data["version"]), data["ex_vecs"],
            [str(t) for t in data["ex_titles"]], [str(t) for t in data["ex_labels"]], {})
    meta_path = path.with_suffix(".json")
    if meta_path.exists():
        model.meta = json.loads(meta_path.read_text(encoding="utf-8"))
    d = model.w_bucket.shape[0]
    if model.w_rel.shape != (d,) or model.w_bucket.shape[1] != len(model.buckets):
        raise ValueError("weight shapes do not match")
    return model


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
            if model.buckets != self.topics.ids:
                raise ValueError(f"model buckets {model.buckets} differ from topics.yaml")
            d = model.w_bucket.shape[0]
            if d != 512 + len(self.topics.ids) + 2:
                raise ValueError("feature size differs from topics.yaml")
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

        `threshold` is the minimum relevance (0–1), default from topics.yaml. `vectors` may pass
        rows of `embed([item_text(title, summary)])` already computed (dedupe uses the same).
        A model file retrained since the last call is picked up first (a stat, ~2 µs).
        """
        if not items:
            return items
        self.reload_if_changed()
        model = self.model  # one model for the whole batch, even if another thread reloads
        thr = self.topics.relevance_threshold if threshold is None else float(threshold)
        texts = [item_text(i.title, i.summary) for i in items]
        vecs = embed(texts) if vectors is None else np.asarray(vectors, dtype=np.float32)
        p_rel, p_bucket = self.probabilities(vecs, texts, model)
        nearest = _nearest(model, vecs)
        for n, item in enumerate(items):
            self._decide(model, item, float(p_rel[n]), p_bucket[n], thr, texts[n], nearest[n])
        return items

    def probabilities(self, vecs: np.ndarray, texts: list[str],
                      model: Model | None = None) -> tuple[np.ndarray, np.ndarray]:
        """P(relevant) per item, and P(bucket | relevant) per item and bucket."""
        x = features(vecs, texts, self.topics)
        m = model or self.model
        p_rel = 1.0 / (1.0 + np.exp(-(x @ m.w_rel + m.b_rel)))
        return p_rel, softmax(x @ m.w_bucket + m.b_bucket)

    def _decide(self, model: Model, item: Item, p_rel: float, p_bucket: np.ndarray, thr: float,
                text: str, nearest: int) -> None:
        ids = model.buckets
        scores = {b: round(p_rel * float(p), 4) for b, p in zip(ids, p_bucket)}
        scores[OFF_TOPIC] = round(1.0 - p_rel, 4)
        best = ids[int(np.argmax(p_bucket))]
        item.bucket = best if p_rel >= thr else OFF_TOPIC
        item.confidence = round(p_rel * float(p_bucket.max()) if p_rel >= thr else 1 - p_rel, 4)
        item.scores = scores
        item.model_version = model.version
        item.why = self._why(model, item.bucket, text, nearest)

    def _why(self, model: Model, bucket: str, text: str, nearest: int) -> str:
        """Decisive seed terms of the chosen bucket, and the nearest labelled example."""
        parts = []
        terms = self.topics.get(bucket).matches(text)[:4]
        if terms:
            parts.append("terms: " + ", ".join(terms))
        if nearest >= 0:
            parts.append(f"like [{model.ex_labels[nearest]}] "
                         f"\"{model.ex_titles[nearest][:80]}\"")
        return "; ".join(parts)


def _nearest(model: Model, vecs: np.ndarray) -> list[int]:
    """Index of the most similar labelled example per row, or -1 without examples."""
    if not len(model.ex_titles):
        return [-1] * len(vecs)
    sims = vecs @ model.ex_vecs.astype(np.float32).T
    return [int(i) for i in sims.argmax(axis=1)]


def default_model_path(storage: Path | str = "storage") -> Path:
    return Path(storage) / "model" / MODEL_NAME


def load_classifier(settings: Any = None, *, model_path: Path | str | None = None,
                    topics: Topics | Path | str | None = None) -> Classifier:
    """The classifier for the daemon and CLI.

    `settings` (monitor.settings.Settings) supplies MONITOR_STORAGE and MONITOR_TOPICS;
    `model_path`/`topics` override them. An invalid topics.yaml raises ConfigError; a missing
    or corrupt model file only logs a warning.
    """
    if model_path is None:
        storage = getattr(settings, "monitor_storage", None) or "storage"
        model_path = default_model_path(storage)
    if not isinstance(topics, Topics):
        topics = load_topics(topics or getattr(settings, "monitor_topics", None))
    return Classifier(topics, Path(model_path))
