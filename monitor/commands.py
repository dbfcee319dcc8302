"""Bodies of the CLI commands that read or poll sources (kept out of cli.py's argument parsing)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import click

from monitor.adapters import get_adapter
from monitor.adapters.base import parse_checked
from monitor.config import Config
from monitor.config.settings import Settings
from monitor.errors import ConfigError, MonitorError
from monitor.fetch.saved import read_saved
from monitor.models import OFF_TOPIC, Item, Label, Source
from monitor.pipeline.run import open_pipeline, preview, process, run_sources
from monitor.store import health as health_store
from monitor.store import items as item_store
from monitor.store.db import open_database
from monitor.weeks import week_bounds


def _echo_json(obj: object) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, default=str))


def _source(config: Config, source_id: str) -> Source:
    if source_id not in config.sources:
        raise ConfigError(f"unknown source {source_id!r} (see `monitor sources`)")
    return config.sources[source_id]


async def show_sources(config: Config, as_json: bool) -> None:
    """Every configured source joined with its health row."""
    sources = config.sources
    engine = await open_database(config.settings.db_url)
    try:
        health = await health_store.all_health(engine)
    finally:
        await engine.dispose()
    for source in sources.values():
        h = health.get(source.id) or health_store.Health(source=source.id)
        row = {
            "id": source.id, "name": source.name, "outlet": source.outlet,
            "adapter": source.adapter, "urls": list(source.urls), "language": source.language,
            "interval": int(source.interval.total_seconds()), "timezone": source.timezone,
            "enabled": source.enabled, "reason": source.reason or None,
            "health": "disabled" if not source.enabled else h.state,
            "last_success": h.last_success, "last_error": h.last_error,
            "last_error_kind": h.last_error_kind, "consecutive_errors": h.consecutive_errors,
            "items_last_poll": h.items_last_poll, "new_last_poll": h.new_last_poll,
            "etag": {u: v.get("etag") for u, v in h.validators.items() if v.get("etag")} or None,
            "last_modified": {u: v.get("last_modified") for u, v in h.validators.items()
                              if v.get("last_modified")} or None,
        }
        if as_json:
            _echo_json(row)
        else:
            click.echo(_source_line(row))


def _source_line(row: dict) -> str:
    interval = f"{row['interval'] // 60}m"
    if row["health"] == "disabled":
        state = f"disabled: {row['reason'] or 'no reason given'}"
    elif row["health"] in ("failing", "paused"):
        state = (f"{row['health']}: {row['last_error_kind']} ×{row['consecutive_errors']} "
                 f"({(row['last_error'] or '')[:80]})")
    elif row["health"] == "ok":
        state = f"ok: {row['items_last_poll']} items, {row['new_last_poll']} new"
    else:
        state = row["health"]
    return (f"{row['id']:<18} {row['adapter']:<13} {row['language']:<3} {interval:>5}  "
            f"{row['name'][:44]:<44}  {state}")


async def fetch_sources(config: Config, ids: list[str]) -> int:
    """One poll of the chosen (or all enabled) sources; exit code 1 if any failed."""
    all_sources = config.sources
    unknown = [i for i in ids if i not in all_sources]
    if unknown:
        raise ConfigError(f"unknown source {unknown[0]!r} (see `monitor sources`)")
    chosen = [all_sources[i] for i in ids] or [s for s in all_sources.values() if s.enabled]
    async with open_pipeline(config) as pipeline:
        reports = await run_sources(pipeline, chosen)
    for r in reports:
        outcome = (f"{r.parsed} items, {len(r.new)} new" if r.ok
                   else f"FAILED {r.error.kind}: {r.error}")  # type: ignore[union-attr]
        click.echo(f"{r.source:<18} {outcome}  ({r.duration:.1f}s)")
    return 0 if all(r.ok for r in reports) else 1


async def import_files(config: Config, source_id: str, paths: list[Path], *,
                       dry_run: bool, as_json: bool, url: str | None,
                       classify: bool = True) -> int:
    """Parse saved responses with the source's adapter and run them through the pipeline."""
    source = _source(config, source_id)
    adapter = get_adapter(source.adapter)
    base = url or source.urls[0]
    failed = total = new = 0
    show = sys.stderr.isatty() and len(paths) > 20
    async with open_pipeline(config, store=not dry_run, fetch=False,
                             classify=classify) as pipeline:
        progress = (click.progressbar(paths, label="importing", file=sys.stderr) if show
                    else _plain(paths))
        with progress as bar:
            for path in bar:
                try:
                    raw = read_saved(path, base)
                    items = parse_checked(adapter.parse, raw, source)
                    stage = preview if dry_run else process
                    stored = await stage(pipeline, source, items, raw.url)
                except MonitorError as exc:
                    failed += 1
                    click.echo(f"monitor import: {path}: {exc.kind}: {exc}", err=True)
                    continue
                except (OSError, ValueError) as exc:
                    failed += 1
                    click.echo(f"monitor import: {path}: {type(exc).__name__}: {exc}", err=True)
                    continue
                total += len(items)
                new += len(stored)
                if as_json:
                    for item in stored:
                        _echo_json(item.to_json())
    verb = "parsed (dry run)" if dry_run else "new"
    click.echo(f"{source.id}: {len(paths)} files, {failed} failed, {total} items, {new} {verb}",
               err=True)
    return 1 if failed else 0


class _plain:
    """A stand-in for click's progress bar when stderr is not a terminal."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths

    def __enter__(self) -> list[Path]:
        return self.paths

    def __exit__(self, *exc: object) -> None:
        return None


async def show_items(settings: Settings, *, week: str | None, source: str | None,
                     bucket: str | None, search: str | None, limit: int,
                     as_json: bool) -> None:
    """Stored items, newest first."""
    since = until = None
    if week:
        try:
            since, until = week_bounds(week, settings.zone)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    engine = await open_database(settings.db_url)
    try:
        found = await item_store.find_items(engine, since=since, until=until, source=source,
                                            bucket=bucket, search=search, limit=limit)
    finally:
        await engine.dispose()
    for item in found:
        if as_json:
            _echo_json(item.to_json())
        else:
            click.echo(_item_line(item, settings))


def _item_line(item: Item, settings: Settings) -> str:
    when = item.published or item.first_seen
    stamp = when.astimezone(settings.zone).strftime("%Y-%m-%d %H:%M") if when else "—"
    bucket = item.bucket or "unclassified"
    return f"{stamp}  {item.source:<16} {bucket:<26} {item.title[:90]}\n{'':18}{item.url}"


# --- monitor classify and monitor train ---------------------------------------------------

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

        current = classifier.topics.relevance_threshold if threshold is None else threshold
        print(f"model {classifier.version} threshold {current:.2f}", file=stdout)
        for line in [*eval_report(rows), *curve(relevance, current)]:
            print(line, file=stdout)
    stdout.flush()
    return 1 if counter.count else 0


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
    """Figures of both models on the real dev split at topics.yaml's threshold, overall and per
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
    thr = config.topics.relevance_threshold
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


# --- monitor compare --------------------------------------------------------------------------
# Local imports: this block is appended to a module other work edits, and touches nothing above.

async def _story_items(settings: Settings, story: str) -> list[Item]:
    """The stored items of one story (its id as `monitor items --json` prints it)."""
    from sqlalchemy import select

    from monitor.store.schema import items as items_table

    engine = await open_database(settings.db_url)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(select(items_table)
                                       .where(items_table.c.story == story)
                                       .order_by(items_table.c.id))).mappings().all()
    finally:
        await engine.dispose()
    return [item_store.row_item(r) for r in rows]


def _file_readout(path: Path) -> Any:
    from monitor.pipeline.compare import Readout

    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read it as UTF-8 text: {exc}") from None
    return Readout(text=text, source=path.name)


async def show_comparison(settings: Settings | None, story: str | None, *,
                          ru_path: Path | None = None, cn_path: Path | None = None,
                          outlets: dict[str, str] | None = None) -> int:
    """`monitor compare`: a story's Russian and Chinese official readouts (or two text files)
    compared side by side: figures, characterisations of the relationship, topics."""
    from monitor.pipeline.compare import compare, render_comparison

    if ru_path is not None and cn_path is not None:
        ru, cn = _file_readout(ru_path), _file_readout(cn_path)
    else:
        assert settings is not None and story
        items = await _story_items(settings, story)
        from monitor.pipeline.readouts import item_readout, pick_readouts

        pair = pick_readouts(items, outlets or {})
        if pair is None:
            held = ", ".join(sorted({i.source for i in items})) or "no stored items"
            raise ConfigError(f"story {story!r} has no pair of official readouts (a Kremlin or "
                              f"Russian MFA item and a PRC MFA, Xinhua or People's Daily item); "
                              f"it holds: {held}")
        ru, cn = item_readout(pair[0]), item_readout(pair[1])
        click.echo(f"Story {story}: {pair[0].source} (item {pair[0].id}) against "
                   f"{pair[1].source} (item {pair[1].id}). Stored items hold only the title and "
                   f"the lead, so only those are compared.\n")
    click.echo(render_comparison(compare(ru, cn)))
    return 0
