"""The classifier's features: what the two logistic models of `learn/model.py` read.

A multilingual sentence embedding of headline + lead, seed-term hit counts from topics.yaml and
a count of the newsletter's scope names; the vote of the nearest labelled examples; the URL's
host and alphabetic path sections (an outlet's own section labels: `/sport/`, `/culture/`,
`finance.people.com.cn`). Chosen by measurement on the real dev split
(tests/fixtures/classify/README.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import numpy as np

from monitor.config.topics import Topic, Topics
from monitor.models import OFF_TOPIC

EMB_SCALE = 3.0  # embedding weight against the other features; chosen on the dev split
MAX_HITS = 3
K_REL, K_BUCKET, KNN_SHARPNESS = 20, 10, 10.0  # neighbours voting; weight exp(10 * cosine)
URL_MIN_COUNT = 3  # a URL token needs this many training items to become a feature
_SECTION = re.compile(r"[a-z][a-z-]{1,19}")
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


def term_features(texts: list[str], topics: Topics) -> np.ndarray:
    """Per text, how many distinct seed terms of each bucket (then off_topic, then the
    newsletter's scope names) it contains."""
    classes = [*topics.buckets, topics.off_topic, SCOPE]
    out = np.zeros((len(texts), len(classes)), dtype=np.float32)
    for i, text in enumerate(texts):
        for j, topic in enumerate(classes):
            out[i, j] = min(len(topic.matches(text)), MAX_HITS) / MAX_HITS
    return out


def url_tokens(url: str) -> set[str]:
    """The outlet's own labels in a URL: host, first subdomain and alphabetic path sections."""
    parts = urlsplit(url or "")
    host = (parts.hostname or "").removeprefix("www.")
    if not host:
        return set()
    out = {f"h:{host}"}
    labels = host.split(".")
    if len(labels) > 2:
        out.add(f"s:{labels[0]}")
    out.update(f"p:{seg}" for seg in parts.path.lower().split("/")[:-1]
               if _SECTION.fullmatch(seg))
    return out


def url_vocabulary(urls: list[str]) -> list[str]:
    counts: dict[str, int] = {}
    for url in urls:
        for token in url_tokens(url):
            counts[token] = counts.get(token, 0) + 1
    return sorted(t for t, n in counts.items() if n >= URL_MIN_COUNT)


def url_features(urls: list[str], vocab: list[str]) -> np.ndarray:
    index = {t: i for i, t in enumerate(vocab)}
    out = np.zeros((len(urls), len(vocab)), dtype=np.float32)
    for i, url in enumerate(urls):
        for token in url_tokens(url):
            if token in index:
                out[i, index[token]] = 1.0
    return out


def _neighbours(sims: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the k most similar examples per row and their vote weights."""
    k = min(k, sims.shape[1])
    idx = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    top = np.take_along_axis(sims, idx, axis=1)
    weights = np.exp(KNN_SHARPNESS * (top - top.max(axis=1, keepdims=True)))
    return idx, weights / weights.sum(axis=1, keepdims=True)


def knn_relevance(sims: np.ndarray, relevant: np.ndarray) -> np.ndarray:
    """(n, 2): the weighted share of relevant examples among the nearest, and the best cosine."""
    if sims.shape[1] == 0:
        return np.zeros((len(sims), 2), dtype=np.float32)
    idx, weights = _neighbours(sims, K_REL)
    share = (relevant[idx] * weights).sum(axis=1)
    return np.stack([share, sims.max(axis=1)], axis=1).astype(np.float32)


def knn_buckets(sims: np.ndarray, bucket_ids: np.ndarray, k: int) -> np.ndarray:
    """(n, k): the nearest relevant examples' weighted bucket vote."""
    out = np.zeros((len(sims), k), dtype=np.float32)
    if sims.shape[1] == 0:
        return out
    idx, weights = _neighbours(sims, K_BUCKET)
    for j in range(k):
        out[:, j] = ((bucket_ids[idx] == j) * weights).sum(axis=1)
    return out


@dataclass
class Features:
    """Both decisions' inputs for a batch, and each row's nearest labelled example."""

    rel: np.ndarray
    bucket: np.ndarray
    nearest: np.ndarray  # index into the examples, -1 without any
    nearest_relevant: np.ndarray


def build_features(vecs: np.ndarray, texts: list[str], urls: list[str], topics: Topics,
                   ex_vecs: np.ndarray, ex_labels: list[str], url_vocab: list[str],
                   leave_one_out: bool = False) -> Features:
    """Features of a batch against a set of labelled examples (`leave_one_out` when the batch
    is the examples themselves, so an example never votes for itself)."""
    vecs = np.asarray(vecs, dtype=np.float32)
    terms = term_features(texts, topics)
    labels = np.array(ex_labels, dtype=object)
    relevant = labels != OFF_TOPIC
    sims = vecs @ ex_vecs.T if len(ex_labels) else np.zeros((len(vecs), 0), np.float32)
    if leave_one_out:
        np.fill_diagonal(sims, -1.0)
    ids = topics.ids
    bucket_ids = np.array([ids.index(b) if b in ids else -1 for b in labels[relevant]], int)
    rel_sims = sims[:, relevant]
    base = [vecs * EMB_SCALE, terms]
    rel = np.hstack([*base, knn_relevance(sims, relevant.astype(np.float32)),
                     url_features(urls, url_vocab)])
    bucket = np.hstack([*base, knn_buckets(rel_sims, bucket_ids, len(ids))])
    none = np.full(len(vecs), -1)
    nearest = sims.argmax(axis=1) if sims.shape[1] else none
    nearest_rel = (np.flatnonzero(relevant)[rel_sims.argmax(axis=1)] if rel_sims.shape[1]
                   else none)
    return Features(rel.astype(np.float32), bucket.astype(np.float32), nearest, nearest_rel)
