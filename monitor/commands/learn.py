"""`monitor classify [--eval | --stored]` and `monitor train`: the classifier's commands. A
retrained model replaces the current one only if it keeps the real dev split's recall and
rejection. `--stored` classifies what `monitor import --no-classify` stored unclassified."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import IO, Any

from monitor.config import Config
from monitor.models import OFF_TOPIC, Item, Label

CLASSIFY_BATCH = 256


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


def _batches(pairs: Iterator[Any], size: int = CLASSIFY_BATCH) -> Iterator[list[Any]]:
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
    """The body of `monitor classify`; returns the exit code (1 if any line was bad).

    With `evaluate`, prints the figures at the threshold in force, then the recall/rejection
    curve over a few thresholds (overall and per language)."""
    counter = _CountingStream(stderr)
    known = {*classifier.topics.ids, OFF_TOPIC}
    rows: list[tuple[str, str, str]] = []
    relevance: list[tuple[str, str, float]] = []
    for batch in _batches(parse_lines(stdin, evaluate, known, counter)):
        classifier.classify([item for _, item in batch], threshold)
        for obj, item in batch:
            if evaluate:
                rows.append((item.lang, obj["bucket"], item.bucket or OFF_TOPIC))
                relevance.append((item.lang, obj["bucket"], 1.0 - item.scores[OFF_TOPIC]))
                continue
            out = {**obj, "bucket": item.bucket, "confidence": item.confidence,
                   "scores": item.scores, "why": item.why, "model_version": item.model_version}
            print(json.dumps(out, ensure_ascii=False), file=stdout, flush=False)
    if evaluate:
        from monitor.learn.evaluate import curve, eval_report

        topics = classifier.topics
        current = topics.relevance_threshold if threshold is None else threshold
        per_lang = "" if threshold is not None else "".join(
            f", {lang} {value:.2f}" for lang, value in topics.language_thresholds.items())
        print(f"model {classifier.version} threshold {current:.2f}{per_lang}", file=stdout)
        for line in [*eval_report(rows), *curve(relevance, current)]:
            print(line, file=stdout)
    stdout.flush()
    return 1 if counter.count else 0


@dataclass
class StoredRun:
    """What `monitor classify --stored` did: the figures of its one-line report."""

    classified: int = 0
    batches: int = 0
    relevant: int = 0
    held: int = 0  # relevant but older than MONITOR_MAX_AGE (or held at import): never posted
    cards: int = 0

    def line(self, chats: int) -> str:
        if not self.classified:
            return "monitor classify: no unclassified stored items"
        cards = (f"{self.cards} cards queued for {chats} editor chats" if chats
                 else "no cards queued (TELEGRAM_EDITOR_CHAT_IDS is empty)")
        return (f"monitor classify: {self.classified} stored items classified in "
                f"{self.batches} batches: {self.relevant} relevant ({self.held} held, never "
                f"posted), {self.classified - self.relevant} off-topic; {cards}")


async def classify_stored(config: Config, *, batch: int = CLASSIFY_BATCH,
                          threshold: float | None = None, out: IO[str] | None = None) -> int:
    """The body of `monitor classify --stored`: classify, in batches of `batch`, the stored items
    that have no bucket (an import with --no-classify), store their buckets and embeddings, and
    queue cards for the relevant ones as a poll would, except for items older than
    MONITOR_MAX_AGE (published, else first seen), which are marked held: stored, never posted.

    Idempotent: only rows still without a bucket are read and written, so a second run (or one
    after an interruption) does only what is left. Returns the exit code (0)."""
    from monitor.pipeline.dedupe import vector_bytes
    from monitor.pipeline.run import open_pipeline
    from monitor.store import outbox as outbox_store
    from monitor.store import unclassified as store

    chats = list(config.settings.telegram_editor_chat_ids)
    run = StoredRun()
    async with open_pipeline(config, fetch=False) as pipeline:
        engine, after = pipeline.engine, 0
        assert engine is not None and await pipeline.ready_classifier() is not None
        while chunk := await store.unclassified(engine, after=after, limit=batch):
            after = chunk[-1].id or after
            vectors = await _classify_chunk(config, pipeline, chunk, threshold)
            now = datetime.now(timezone.utc)
            for item in chunk:
                item.held = item.held or _too_old(item, now, pipeline.max_age)
            written = await store.record_classes(
                engine, chunk, {i.id: vector_bytes(vectors[n]) for n, i in enumerate(chunk)
                                if i.id is not None} if vectors is not None else None)
            done = [i for i in chunk if i.id in written]
            relevant = [i for i in done if i.bucket != OFF_TOPIC]
            cards = [i.id for i in relevant if not i.held and i.status == "new"]
            if cards and chats:
                run.cards += await outbox_store.enqueue(engine, cards, chats)  # type: ignore
            run.batches += 1
            run.classified += len(done)
            run.relevant += len(relevant)
            run.held += sum(i.held for i in relevant)
    print(run.line(len(chats)), file=out or sys.stdout)
    return 0


async def _classify_chunk(config: Config, pipeline: Any, chunk: list[Item],
                          threshold: float | None) -> Any:
    """Embed the chunk once, then classify it source by source (each source's relevance
    threshold, unless `threshold` overrides them all), in worker threads as a poll does."""
    from monitor.text import item_text

    vectors = None
    if pipeline.embed is not None:
        vectors = await asyncio.to_thread(pipeline.embed,
                                          [item_text(i.title, i.summary) for i in chunk])
    by_source: dict[str, list[int]] = {}
    for n, item in enumerate(chunk):
        by_source.setdefault(item.source, []).append(n)
    for source_id, rows in by_source.items():
        source = config.sources.get(source_id)
        limit = threshold if threshold is not None or source is None else \
            source.option("relevance_threshold")
        await asyncio.to_thread(pipeline.classifier.classify, [chunk[n] for n in rows], limit,
                                None if vectors is None else vectors[rows])
    return vectors


def _too_old(item: Item, now: datetime, max_age: timedelta | None) -> bool:
    """Whether the item is older than MONITOR_MAX_AGE (by publication, else first sight)."""
    when = item.published or item.first_seen
    return max_age is not None and when is not None and when < now - max_age


TRAIN_MARGIN = 0.02  # how much dev recall or rejection a retrained model may lose


def run_train(config: Config, decisions: Iterable[Label] = (), *, force: bool = False,
              out: IO[str] | None = None, margin: float = TRAIN_MARGIN) -> int:
    """The body of `monitor train`: all labels → a candidate model, measured on the real dev
    split beside the current one; it replaces the current model only if its relevant recall and
    off-topic rejection are within `margin` of the current model's (or with `force`).
    Prints before/after figures; returns the exit code (1 refused, the old model kept)."""
    import os

    from monitor.learn.model import default_model_path, read_model
    from monitor.learn.train import default_examples, labels_from_decisions, train

    out = out or sys.stdout
    path = default_model_path(config.settings.monitor_storage)
    candidate = path.with_name("candidate-" + path.name)
    examples = default_examples() + labels_from_decisions(decisions)
    new = read_model(train(examples, candidate, config.topics))
    before, after = _dev_figures(_usable_model(path, config), new, config)
    for name, figs in (("before", before), ("after", after)):
        for lang, fig in figs.items():
            print(_figure_line(f"{name} {lang}", fig), file=out)
    worse = [k for k in ("relevant_recall", "off_recall") if before and after and
             getattr(after["all"], k) < getattr(before["all"], k) - margin]
    if worse and not force:
        for stale in (candidate, candidate.with_suffix(".json")):
            stale.unlink(missing_ok=True)
        print(f"refused: {', '.join(worse)} on the dev split fell by more than {margin:.2f}; "
              f"the current model stays (--force to replace it anyway)", file=out)
        return 1
    path.parent.mkdir(parents=True, exist_ok=True)
    os.replace(candidate.with_suffix(".json"), path.with_suffix(".json"))
    os.replace(candidate, path)  # last: the daemon reloads on this file's change
    print(f"model {new.version}: {new.meta.get('examples', 0)} examples → {path}", file=out)
    return 0


def _usable_model(path: Path, config: Config) -> Any:
    """The current model file, or None when there is none or it does not fit topics.yaml."""
    from monitor.learn.model import check_model, read_model

    try:
        model = read_model(path)
        check_model(model, config.topics)
    except Exception:  # noqa: BLE001 - an unusable model is replaced, whatever is wrong with it
        return None
    return model


def _dev_figures(current: Any, new: Any, config: Config) -> tuple[dict[str, Any], dict[str, Any]]:
    """Figures of both models on the real dev split at topics.yaml's thresholds, overall and per
    language ({} for a missing model or dev split)."""
    from monitor.learn.evaluate import LANGS, labelled_figures, model_rows
    from monitor.learn.train import dev_rows, embed_cached
    from monitor.text import item_text

    try:
        dev = dev_rows()
    except FileNotFoundError:
        return {}, {}
    vectors = embed_cached([item_text(r.get("title") or "", r.get("summary") or "")
                            for r in dev])
    thr = config.topics.threshold_for  # per language where topics.yaml sets one
    out = []
    for model in (current, new):
        figs = {}
        if model is not None:
            rows, best = model_rows(model, config.topics, dev, vectors)
            for lang in ("all", *LANGS):
                pick = [i for i, r in enumerate(rows) if lang in ("all", r[0])]
                figs[lang] = labelled_figures([rows[i] for i in pick], [best[i] for i in pick],
                                              thr)
        out.append(figs)
    return out[0], out[1]


def _figure_line(name: str, fig: Any) -> str:
    return (f"{name}: n={fig.n} relevant_recall={fig.relevant_recall:.3f} "
            f"off_topic_recall={fig.off_recall:.3f} bucket_accuracy={fig.bucket_accuracy:.3f}")


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
