"""The classifier's model: its features, its fitting and its file format.

Features are a multilingual sentence embedding of headline + lead (so EN/ZH/RU share one model)
plus seed-term hit counts from topics.yaml (so editing the terms has a visible effect) and a
count of the newsletter's scope names. Two small logistic models sit on top: relevance, then
the bucket among relevant items. `monitor train` fits them (learn/train.py) into
`storage/model/classifier.npz`; `pipeline/classify.py` applies them.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from monitor.config.topics import Topic, Topics
from monitor.models import OFF_TOPIC

EMB_SCALE = 3.0  # embedding weight against term features; chosen on the dev set (bench/)
MAX_HITS = 3
MODEL_NAME = "classifier.npz"
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
                l2: float = 1e-3, steps: int = 300,
                rate: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
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

def default_model_path(storage: Path | str = "storage") -> Path:
    return Path(storage) / "model" / MODEL_NAME
