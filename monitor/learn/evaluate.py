"""Evaluation figures of the classifier, for `monitor classify --eval` and the benchmarks.

The figures answer the editor's two questions: does it miss stories (relevant recall, off-topic
precision) and does it waste my time (off-topic recall), then is the bucket right.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from monitor.models import OFF_TOPIC

LANGS = ("en", "zh", "ru")


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
