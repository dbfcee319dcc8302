"""The weekly export: the week's candidates as a newsletter draft (md, docx) or a table (csv, json).

`run_export` is the body of `monitor export`; `write_week_exports` is what the daemon's weekly
schedule and the bot's /export call. Both read the same week the same way: ISO weeks in the
editor's zone (MONITOR_TIMEZONE), by published time, first-seen time when unknown. Files are
written atomically (a temporary file in the target directory, then a rename), so a reader or a
failed write never sees half a draft.

Layout: `draft` decides what appears where; `markdown`, `word` and `table` only render it.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

import click
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.config import Config
from monitor.config.settings import Settings
from monitor.config.topics import Topics
from monitor.errors import ConfigError
from monitor.export.draft import build_draft
from monitor.export.markdown import render_markdown
from monitor.export.table import render_csv, render_json, table_rows
from monitor.models import Item
from monitor.store.db import open_database
from monitor.store.items import find_items
from monitor.weeks import current_week, week_bounds

FORMATS = ("md", "docx", "csv", "json")
DRAFT_FORMATS = ("md", "docx")
FILE_PREFIX = "china-russia-report"


def export_name(week: str, fmt: str, kept_only: bool = False) -> str:
    """'china-russia-report-2024-W27.md' (or '…-kept.md')."""
    return f"{FILE_PREFIX}-{week}{'-kept' if kept_only else ''}.{fmt}"


def exports_dir(settings: Settings) -> Path:
    return settings.monitor_storage / "exports"


async def week_items(settings: Settings, engine: AsyncEngine, week: str) -> list[Item]:
    """Every stored item of the week, in any status. ValueError names a malformed week."""
    since, until = week_bounds(week, settings.zone)
    return await find_items(engine, since=since, until=until)


def render(fmt: str, items: list[Item], topics: Topics, outlets: dict[str, str], week: str,
           kept_only: bool) -> tuple[bytes, bool]:
    """(file bytes, whether there was anything to export) for one format."""
    if fmt in DRAFT_FORMATS:
        draft = build_draft(items, topics, outlets, week, kept_only=kept_only)
        if fmt == "md":
            return render_markdown(draft).encode("utf-8"), not draft.empty
        from monitor.export.word import render_docx  # python-docx only when asked for

        return render_docx(draft), not draft.empty
    rows = table_rows(items, topics, outlets, week, kept_only=kept_only)
    if fmt == "csv":
        return render_csv(rows).encode("utf-8-sig"), bool(rows)  # BOM: Excel reads it as UTF-8
    return render_json(rows).encode("utf-8"), bool(rows)


def write_atomic(path: Path, data: bytes) -> None:
    """Write the file whole or not at all: a temporary file beside it, fsync, rename."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; give it a normal file's mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


async def write_week_exports(config: Config, engine: AsyncEngine, week: str) -> list[Path]:
    """Write the week's full draft (kept, then unreviewed) as Markdown and DOCX.

    Into `<MONITOR_STORAGE>/exports/china-russia-report-<week>.md|.docx`, each atomically;
    returns [md path, docx path]. Raises ValueError for a malformed week, OSError when the
    directory cannot be written.
    """
    settings, topics, outlets = config.settings, config.topics, config.outlets
    items = await week_items(settings, engine, week)
    folder = exports_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)

    def write_all() -> list[Path]:  # rendering DOCX and fsync block: keep them off the loop
        paths = []
        for fmt in DRAFT_FORMATS:
            data, _ = render(fmt, items, topics, outlets, week, kept_only=False)
            path = folder / export_name(week, fmt)
            write_atomic(path, data)
            paths.append(path)
        return paths

    return await asyncio.to_thread(write_all)


async def run_export(config: Config, *, week: str | None, fmt: str, out: Path | None,
                     kept_only: bool) -> int:
    """`monitor export`: write one format to --out (default: the exports folder; '-': stdout).

    Bad arguments raise ConfigError (one line, exit 2); an unwritable output is one line and
    exit 1 with nothing written. An empty week still writes a draft that says so, with a note.
    """
    if fmt not in FORMATS:
        raise ConfigError(f"unknown format {fmt!r} (expected one of: {', '.join(FORMATS)})")
    settings, topics, outlets = config.settings, config.topics, config.outlets
    week = week or current_week(settings.zone)
    try:
        week_bounds(week, settings.zone)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    engine = await open_database(settings.db_url)
    try:
        items = await week_items(settings, engine, week)
    finally:
        await engine.dispose()
    data, anything = render(fmt, items, topics, outlets, week, kept_only)
    what = "kept items" if kept_only else "candidates"
    if not anything:
        click.echo(f"monitor export: no {what} in {week} ({settings.monitor_timezone}); "
                   f"the export says so", err=True)
    if out is not None and str(out) == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return 0
    target = out or exports_dir(settings) / export_name(week, fmt, kept_only)
    try:
        if out is None:
            target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, data)
    except OSError as exc:
        click.echo(f"monitor export: cannot write {target}: {exc.strerror or exc}", err=True)
        return 1
    click.echo(str(target))
    return 0
