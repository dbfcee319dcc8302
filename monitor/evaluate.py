"""`monitor classify [--eval]` and `monitor train`: the command bodies, and the eval figures.

cli.py only parses arguments; the work is here so tests can drive it with plain streams.
The figures answer the editor's two questions: does it miss stories (relevant recall, off-topic
precision) and does it waste my time (off-topic recall), then is the bucket right.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from monitor.models import OFF_TOPIC, Item

BATCH = 256
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


def parse_lines(lines: Iterable[str], need_bucket: bool, known: set[str],
                errors: IO[str]) -> Iterator[tuple[dict[str, Any], Item]]:
    """Valid input objects with their Item; one stderr line per bad line, by line number."""
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            problem = _problem(obj, need_bucket, known)
        except ValueError:
            problem = "not valid JSON"
        if problem:
            print(f"monitor classify: line {number}: {problem}", file=errors)
            continue
        yield obj, Item(source=str(obj.get("source") or ""), url=str(obj.get("url") or ""),
                        title=obj.get("title") or "", summary=obj.get("summary") or "",
                        lang=str(obj.get("lang") or ""))


def _problem(obj: Any, need_bucket: bool, known: set[str]) -> str:
    if not isinstance(obj, dict):
        return "not a JSON object"
    text = [obj.get(k) for k in ("title", "summary")]
    if any(v is not None and not isinstance(v, str) for v in text) or not any(
            isinstance(v, str) and v.strip() for v in text):
        return "needs a title or summary (strings)"
    if need_bucket and obj.get("bucket") not in known:
        return f"needs a true 'bucket' (one of {', '.join(sorted(known))})"
    return ""


def _batches(pairs: Iterator[Any], size: int = BATCH) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for pair in pairs:
        batch.append(pair)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def run_classify(classifier: Any, stdin: IO[str], stdout: IO[str], stderr: IO[str],
                 evaluate: bool = False, threshold: float | None = None) -> int:
    """The body of `monitor classify`; returns the exit code (1 if any line was bad)."""
    counter = _CountingStream(stderr)
    known = {*classifier.topics.ids, OFF_TOPIC}
    rows: list[tuple[str, str, str]] = []
    for batch in _batches(parse_lines(stdin, evaluate, known, counter)):
        classifier.classify([item for _, item in batch], threshold)
        for obj, item in batch:
            if evaluate:
                rows.append((item.lang, obj["bucket"], item.bucket or OFF_TOPIC))
                continue
            out = {**obj, "bucket": item.bucket, "confidence": item.confidence,
                   "scores": item.scores, "why": item.why, "model_version": item.model_version}
            print(json.dumps(out, ensure_ascii=False), file=stdout, flush=False)
    if evaluate:
        print(f"model {classifier.version}", file=stdout)
        for line in eval_report(rows):
            print(line, file=stdout)
    stdout.flush()
    return 1 if counter.count else 0


def run_train(settings: Any = None, decisions: Iterable[Any] = ()) -> tuple[str, int, str]:
    """The body of `monitor train`: all labels → model file; returns (version, size, path)."""
    from monitor.pipeline.classify import default_model_path, read_model
    from monitor.topics import load_topics
    from monitor.train import default_examples, labels_from_decisions, train

    storage = getattr(settings, "monitor_storage", None) or "storage"
    topics = load_topics(getattr(settings, "monitor_topics", None))
    examples = default_examples() + labels_from_decisions(decisions)
    path = train(examples, default_model_path(storage), topics)
    model = read_model(path)
    return model.version, int(model.meta.get("examples", 0)), str(path)


class _CountingStream:
    """Wraps stderr to count the bad-line messages written to it."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.count = 0

    def write(self, text: str) -> int:
        if text.strip():
            self.count += 1
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()
