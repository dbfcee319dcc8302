"""The classifier's model: its fitting and its file format.

Two decisions, each a small logistic model (numpy only; chosen on the real dev split, see
tests/fixtures/classify/README.md). Both read one vector per text: the USE embedding beside the
e5 embedding (centred on the training set's mean, since e5's cosines all sit near 0.8), the pair
L2-normalised (`combine`); a model file without `e5_mean` reads the USE embedding alone.
**Relevance** (Newton's method) over that vector, seed-term
and scope counts, the nearest labelled examples' vote and the URL's sections; then the
**bucket** among relevant items (softmax) over the embedding, the term counts and the nearest
relevant examples' buckets (features in `learn/features.py`). The examples' embeddings are kept
in the model file for the vote and for the "why". `monitor train` fits them (learn/train.py)
into `storage/model/classifier.npz`; `pipeline/classify.py` applies them through `predict`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from monitor.config.topics import Topics
from monitor.learn.embed import DIM
from monitor.learn.features import Features, build_features, url_vocabulary
from monitor.learn.vectors import e5_vectors
from monitor.models import OFF_TOPIC

L2_REL, L2_BUCKET, BUCKET_STEPS = 3e-3, 1e-3, 1000
MODEL_NAME = "classifier.npz"


@dataclass
class Model:
    """Weights of the two decisions, plus the labelled examples they vote and explain with."""

    buckets: list[str]
    w_rel: np.ndarray  # (d_rel,) relevance logit weights
    b_rel: float
    w_bucket: np.ndarray  # (d_bucket, k)
    b_bucket: np.ndarray  # (k,)
    version: str
    ex_vecs: np.ndarray  # (m, d) float16 vectors of labelled examples (d = 512 + 384 with e5)
    ex_titles: list[str]
    ex_labels: list[str]
    meta: dict[str, Any]
    url_vocab: list[str] = field(default_factory=list)
    e5_mean: np.ndarray | None = None  # (384,): the model reads USE + centred e5 vectors
    _ex32: np.ndarray | None = field(default=None, repr=False)

    @property
    def examples(self) -> np.ndarray:
        """The examples' embeddings as float32, converted once."""
        if self._ex32 is None or len(self._ex32) != len(self.ex_vecs):
            self._ex32 = np.asarray(self.ex_vecs, dtype=np.float32)
        return self._ex32


def combine(use: np.ndarray, e5: np.ndarray, e5_mean: np.ndarray) -> np.ndarray:
    """One vector per text from both encoders: USE beside centred e5, L2-normalised."""
    e5 = np.asarray(e5, dtype=np.float32)
    centred = np.where(np.any(e5 != 0, axis=1, keepdims=True), e5 - e5_mean, 0.0)
    centred /= np.maximum(np.linalg.norm(centred, axis=1, keepdims=True), 1e-9)
    both = np.hstack([np.asarray(use, dtype=np.float32), centred])
    norms = np.linalg.norm(both, axis=1, keepdims=True)
    return np.divide(both, norms, out=np.zeros_like(both), where=norms > 0)


def model_vectors(model: Model, use: np.ndarray, texts: list[str]) -> np.ndarray:
    """What this model reads of the texts, given their USE embeddings (the pipeline has those
    already, from dedupe): the e5 view is added when the model was fitted with it."""
    use = np.asarray(use, dtype=np.float32)
    if model.e5_mean is None or use.shape[1] == model.ex_vecs.shape[1]:
        return use
    return combine(use, e5_vectors(texts), model.e5_mean)


def predict(model: Model, vecs: np.ndarray, texts: list[str], urls: list[str],
            topics: Topics) -> tuple[np.ndarray, np.ndarray, Features]:
    """P(relevant) per item, P(bucket | relevant) per item and bucket, and the features;
    `vecs` are the texts' USE embeddings."""
    vecs = model_vectors(model, vecs, texts)
    feats = build_features(vecs, texts, urls, topics, model.examples, model.ex_labels,
                           model.url_vocab)
    p_rel = 1.0 / (1.0 + np.exp(-(feats.rel @ model.w_rel + model.b_rel)))
    return p_rel, softmax(feats.bucket @ model.w_bucket + model.b_bucket), feats


def feature_sizes(topics: Topics, url_vocab: list[str], dim: int = DIM) -> tuple[int, int]:
    base = dim + len(topics.ids) + 2
    return base + 2 + len(url_vocab), base + len(topics.ids)


def check_model(model: Model, topics: Topics) -> None:
    """Raise ValueError when the model does not fit this taxonomy or its own shapes."""
    if model.buckets != topics.ids:
        raise ValueError(f"model buckets {model.buckets} differ from topics.yaml")
    dim = DIM + (0 if model.e5_mean is None else len(model.e5_mean))
    if model.ex_vecs.ndim != 2 or model.ex_vecs.shape[1] != dim:
        raise ValueError("the examples' vectors differ in size from the model's encoders")
    d_rel, d_bucket = feature_sizes(topics, model.url_vocab, dim)
    if model.w_rel.shape != (d_rel,) or model.w_bucket.shape != (d_bucket, len(topics.ids)):
        raise ValueError("feature size differs from topics.yaml")
    if len(model.ex_vecs) != len(model.ex_labels):
        raise ValueError("examples and their labels differ in number")


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def fit_logistic(x: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None,
                 l2: float = L2_REL, iters: int = 30) -> tuple[np.ndarray, float]:
    """Binary logistic regression by Newton's method (L2 on the weights, not the bias).

    About 600 features: each step solves one 600×600 system, and it converges in ~10 steps.
    """
    n, d = x.shape
    xb = np.hstack([np.asarray(x, dtype=np.float64), np.ones((n, 1))])
    sw = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    sw = sw / sw.sum()
    reg = np.eye(d + 1) * l2
    reg[-1, -1] = 1e-9
    beta = np.zeros(d + 1)
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-(xb @ beta)))
        grad = xb.T @ ((p - y) * sw) + reg @ beta
        hess = (xb * (sw * p * (1 - p))[:, None]).T @ xb + reg
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.abs(step).max() < 1e-6:
            break
    return beta[:-1].astype(np.float32), float(beta[-1])


def fit_softmax(x: np.ndarray, y: np.ndarray, k: int, weights: np.ndarray | None = None,
                l2: float = L2_BUCKET, steps: int = BUCKET_STEPS,
                rate: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression by full-batch gradient descent."""
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
              titles: list[str] | None = None, meta: dict[str, Any] | None = None,
              urls: list[str] | None = None, e5: bool = True) -> Model:
    """Both decisions from labelled texts and their USE `vectors`; labels are bucket ids or
    `off_topic`. With `e5` the texts' e5 view joins them (see `combine`). The examples
    themselves are the neighbours later items are compared with."""
    urls = urls or [""] * len(texts)
    vectors = np.asarray(vectors, dtype=np.float32)
    e5_mean = None
    if e5:
        e5_vecs = e5_vectors(texts)
        e5_mean = e5_vecs.mean(axis=0)
        vectors = combine(vectors, e5_vecs, e5_mean)
    ex16 = vectors.astype(np.float16)
    vocab = url_vocabulary(urls)
    feats = build_features(vectors, texts, urls, topics, ex16.astype(np.float32), list(labels),
                           vocab, leave_one_out=True)
    wts = np.ones(len(labels)) if weights is None else np.asarray(weights, dtype=np.float64)
    relevant = np.array([label != OFF_TOPIC for label in labels])
    w_rel, b_rel = fit_logistic(feats.rel, relevant.astype(np.float64), wts)
    ids = topics.ids
    y = np.array([ids.index(label) for label in np.array(labels)[relevant]], dtype=int)
    wb, bb = fit_softmax(feats.bucket[relevant], y, len(ids), wts[relevant])
    return Model(ids, w_rel, b_rel, wb, bb, version, ex16,
                 titles or [t[:120] for t in texts], list(labels), meta or {}, vocab,
                 e5_mean)


def save_model(model: Model, path: Path) -> None:
    """Write weights (.npz) then metadata (.json) atomically, so a reader never sees half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez_compressed(tmp, w_rel=model.w_rel, b_rel=np.float32(model.b_rel),
                        w_bucket=model.w_bucket, b_bucket=model.b_bucket, ex_vecs=model.ex_vecs,
                        ex_titles=np.array(model.ex_titles), ex_labels=np.array(model.ex_labels),
                        buckets=np.array(model.buckets), version=np.array(model.version),
                        url_vocab=np.array(model.url_vocab, dtype=str),
                        **({} if model.e5_mean is None else {"e5_mean": model.e5_mean}))
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
            [str(t) for t in data["ex_titles"]], [str(t) for t in data["ex_labels"]], {},
            [str(t) for t in data["url_vocab"]],
            data["e5_mean"].astype(np.float32) if "e5_mean" in data else None)
    meta_path = path.with_suffix(".json")
    if meta_path.exists():
        model.meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if model.w_rel.ndim != 1 or model.w_bucket.shape[1:] != (len(model.buckets),):
        raise ValueError("weight shapes do not match")
    return model


def default_model_path(storage: Path | str = "storage") -> Path:
    return Path(storage) / "model" / MODEL_NAME
