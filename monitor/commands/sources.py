"""`monitor sources`, `fetch`, `import` and `items`: the commands that read or poll sources."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from monitor.adapters import get_adapter
from monitor.adapters.base import parse_checked
from monitor.config import Config
from monitor.config.settings import Settings
from monitor.errors import ConfigError, MonitorError
from monitor.fetch.saved import read_saved
from monitor.models import Item, Source
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
