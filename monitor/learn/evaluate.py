"""Evaluation figures of the classifier, for `monitor classify --eval` and the benchmarks.

The figures answer the editor's two questions: does it miss stories (relevant recall, off-topic
precision) and does it waste my time (off-topic recall), then is the bucket right.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from monitor.models import OFF_TOPIC

LANGS = ("en", "zh", "ru")
CURVE = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7)


@dataclass
class Figures:
    """Evaluation figures for one set of (true, predicted) labels."""

    n: int
    accuracy: float
    macro_f1: float
    off_precision: float
    off_recall: float
    relevant_recall: float
    bucket_accuracy: float  # among truly relevant items predicted relevant
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)


def _ratio(num: int, den: int) -> float:
    return num / den if den else 0.0


def figures(truth: list[str], pred: list[str]) -> Figures:
    """Accuracy, macro-F1 over the labels that occur, off-topic P/R and the issue's targets."""
    labels = sorted(set(truth) | set(pred))
    confusion = {t: {p: 0 for p in labels} for t in labels}
    for t, p in zip(truth, pred):
        confusion[t][p] += 1
    f1s = []
    for label in labels:
        tp = confusion[label][label]
        prec = _ratio(tp, sum(confusion[t][label] for t in labels))
        rec = _ratio(tp, sum(confusion[label].values()))
        f1s.append(2 * prec * rec / (prec + rec) if prec + rec else 0.0)
    pairs = list(zip(truth, pred))
    off_tp = sum(t == OFF_TOPIC and p == OFF_TOPIC for t, p in pairs)
    rel = [(t, p) for t, p in pairs if t != OFF_TOPIC]
    kept = [(t, p) for t, p in rel if p != OFF_TOPIC]
    return Figures(
        n=len(pairs), accuracy=_ratio(sum(t == p for t, p in pairs), len(pairs)),
        macro_f1=sum(f1s) / len(f1s) if f1s else 0.0,
        off_precision=_ratio(off_tp, sum(p == OFF_TOPIC for p in pred)),
        off_recall=_ratio(off_tp, sum(t == OFF_TOPIC for t in truth)),
        relevant_recall=_ratio(len(kept), len(rel)),
        bucket_accuracy=_ratio(sum(t == p for t, p in kept), len(kept)),
        confusion=confusion)


def _short(label: str) -> str:
    return label.split("_")[0][:8]


def render(name: str, fig: Figures, table: bool = True) -> list[str]:
    """The figures as text lines; the confusion table has true labels as rows."""
    lines = [f"{name}: n={fig.n} accuracy={fig.accuracy:.3f} macro_f1={fig.macro_f1:.3f} "
             f"off_topic_precision={fig.off_precision:.3f} off_topic_recall={fig.off_recall:.3f} "
             f"relevant_recall={fig.relevant_recall:.3f} "
             f"bucket_accuracy={fig.bucket_accuracy:.3f}"]
    if table and fig.confusion:
        labels = list(fig.confusion)
        lines.append("  true\\pred  " + " ".join(f"{_short(p):>8}" for p in labels))
        for t in labels:
            lines.append(f"  {_short(t):<10} " + " ".join(
                f"{fig.confusion[t][p]:>8}" for p in labels))
    return lines


def eval_report(rows: list[tuple[str, str, str]]) -> list[str]:
    """rows are (lang, true, predicted): all items, then one block per language."""
    lines = render("all", figures([t for _, t, _ in rows], [p for _, _, p in rows]))
    for lang in LANGS:
        sub = [(t, p) for lg, t, p in rows if lg == lang]
        if sub:
            lines += render(lang, figures([t for t, _ in sub], [p for _, p in sub]))
    return lines


def curve(rows: list[tuple[str, str, float]], current: float,
          thresholds: tuple[float, ...] = CURVE) -> list[str]:
    """The recall/rejection curve: rows are (lang, true label, P(relevant)). Per threshold:
    relevant recall and off-topic rejection overall (and per language), and how many items
    would be shown; `*` marks the threshold in force."""
    langs = [lg for lg in LANGS if any(r[0] == lg for r in rows)]
    head = "  threshold  recall  reject   shown" + "".join(
        f"  {lg}:rec/rej" for lg in langs)
    lines = [f"recall/rejection curve (threshold in force {current:.2f}):", head]
    for thr in sorted({*thresholds, round(current, 4)}):
        rec, rej, shown = _point(rows, thr)
        per = "".join("  {:.2f}/{:.2f}  ".format(*_point([r for r in rows if r[0] == lg],
                                                         thr)[:2]) for lg in langs)
        mark = "*" if abs(thr - current) < 1e-9 else " "
        lines.append(f"{mark} {thr:>8.2f}  {rec:6.3f}  {rej:6.3f}  {shown:>6}{per.rstrip()}")
    return lines


def _point(rows: list[tuple[str, str, float]], thr: float) -> tuple[float, float, int]:
    rel = [p for _, t, p in rows if t != OFF_TOPIC]
    off = [p for _, t, p in rows if t == OFF_TOPIC]
    return (_ratio(sum(p >= thr for p in rel), len(rel)),
            _ratio(sum(p < thr for p in off), len(off)), sum(p >= thr for _, _, p in rows))


def best_threshold(rows: list[tuple[str, str, float]], recall: float = 0.95,
               per_language: bool = True) -> float:
    """The highest threshold (best rejection) keeping relevant recall >= `recall` overall and,
    with `per_language`, in each language; to two decimals."""
    for thr in np.arange(0.99, 0.0, -0.01):
        groups = [rows] + ([[r for r in rows if r[0] == lg] for lg in LANGS]
                           if per_language else [])
        if all(_point(g, float(thr))[0] >= recall for g in groups if g):
            return round(float(thr), 2)
    return 0.0


def model_rows(model: Any, topics: Any, dev: list[dict[str, Any]],
               vectors: np.ndarray) -> tuple[list[tuple[str, str, float]], list[str]]:
    """(lang, true, P(relevant)) per dev object, and each one's best bucket, for a model."""
    from monitor.learn.model import predict
    from monitor.text import item_text

    texts = [item_text(r.get("title") or "", r.get("summary") or "") for r in dev]
    p_rel, p_bucket, _ = predict(model, vectors, texts, [r.get("url") or "" for r in dev],
                                 topics)
    best = [model.buckets[int(i)] for i in np.argmax(p_bucket, axis=1)]
    return ([(r.get("lang") or "", r["bucket"], float(p)) for r, p in zip(dev, p_rel)], best)


def labelled_figures(rows: list[tuple[str, str, float]], best: list[str],
                     threshold: float | Callable[[str], float]) -> Figures:
    """Figures at a threshold (or a threshold per language, `Topics.threshold_for`), from
    model_rows' output."""
    at = threshold if callable(threshold) else (lambda _lang: float(threshold))
    pred = [b if p >= at(lang) else OFF_TOPIC for (lang, _, p), b in zip(rows, best)]
    return figures([t for _, t, _ in rows], pred)
