"""The `monitor` command. Each subcommand parses its arguments and calls the modules that do
the work; the daemon and the CLI share the same code paths (`pipeline.run`).

Exit codes: 0 done, 1 some input or source failed (the rest was processed), 2 bad usage or
configuration (nothing was done).
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import click

from monitor.config import Config
from monitor.config.settings import Settings, load_settings
from monitor.errors import ConfigError, StoreError
from monitor.logs import setup_logging
from monitor.models import Label


def fail(message: str, code: int = 2) -> None:
    """One line on stderr, then exit."""
    click.echo(f"monitor: {message}", err=True)
    sys.exit(code)


def settings_or_exit(*, daemon: bool = False) -> Settings:
    """Settings, or exit 2. One-shot commands log warnings only unless MONITOR_LOG_LEVEL says."""
    try:
        settings = load_settings()
    except ConfigError as exc:
        fail(str(exc))
    explicit = daemon or "MONITOR_LOG_LEVEL" in os.environ
    setup_logging(settings.monitor_log_level if explicit else "WARNING")
    return settings


def config_or_exit(*, daemon: bool = False) -> Config:
    """Settings, sources.yaml and topics.yaml, read and validated once; or exit 2."""
    from monitor.bootstrap import load

    settings = settings_or_exit(daemon=daemon)
    try:
        return load(settings)
    except ConfigError as exc:
        fail(str(exc))
    raise AssertionError("unreachable")


def run_async(coro: Any) -> Any:
    """Run a command's coroutine; configuration and database errors are one line, exit 2."""
    try:
        return asyncio.run(coro)
    except (ConfigError, StoreError) as exc:
        fail(str(exc))


@click.group()
@click.version_option(package_name="monitor")
def main() -> None:
    """Media monitoring for The China-Russia Report."""


@main.command("sources")
@click.option("--json", "as_json", is_flag=True, help="one JSON object per source")
def sources_cmd(as_json: bool) -> None:
    """Every source: id, name, adapter, URLs, language, interval and health."""
    from monitor.commands.sources import show_sources

    run_async(show_sources(config_or_exit(), as_json))


@main.command("fetch")
@click.argument("ids", nargs=-1)
def fetch_cmd(ids: tuple[str, ...]) -> None:
    """One poll of the given (or all enabled) sources through the full pipeline."""
    from monitor.commands.sources import fetch_sources

    sys.exit(run_async(fetch_sources(config_or_exit(), list(ids))))


@main.command("import")
@click.option("--source", "source_id", required=True, help="source id from sources.yaml")
@click.option("--dry-run", is_flag=True, help="parse and normalise only; store nothing")
@click.option("--json", "as_json", is_flag=True, help="print the resulting items as JSON Lines")
@click.option("--url", default=None, help="URL the files were fetched from (for relative links)")
@click.option("--no-classify", is_flag=True,
              help="store (or show) items unclassified: an archive, or a parser check")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
def import_cmd(source_id: str, dry_run: bool, as_json: bool, url: str | None, no_classify: bool,
               paths: tuple[Path, ...]) -> None:
    """Parse saved responses with a source's adapter, through the pipeline."""
    from monitor.commands.sources import import_files

    sys.exit(run_async(import_files(config_or_exit(), source_id, list(paths),
                                    dry_run=dry_run, as_json=as_json, url=url,
                                    classify=not no_classify)))


@main.command("items")
@click.option("--week", default=None, help="ISO week, e.g. 2026-W47, in MONITOR_TIMEZONE")
@click.option("--source", default=None, help="only this source id")
@click.option("--bucket", default=None, help="only this bucket id")
@click.option("--search", default=None, help="text in the title or summary")
@click.option("--limit", default=200, show_default=True, help="at most this many")
@click.option("--json", "as_json", is_flag=True, help="JSON Lines")
def items_cmd(week: str | None, source: str | None, bucket: str | None, search: str | None,
              limit: int, as_json: bool) -> None:
    """Stored items, newest first."""
    from monitor.commands.sources import show_items

    run_async(show_items(settings_or_exit(), week=week, source=source, bucket=bucket,
                         search=search, limit=limit, as_json=as_json))


@main.command("config")
@click.option("--dump", is_flag=True, required=True, help="print the effective configuration")
def config_cmd(dump: bool) -> None:
    """The effective configuration, secrets masked."""
    settings = settings_or_exit()
    for key, value in settings.dump().items():
        click.echo(f"{key}={value}")


@main.command("demo")
@click.option("--seconds", default=45.0, show_default=True, help="how long the demo runs")
def demo_cmd(seconds: float) -> None:
    """The whole system on recorded responses served from 127.0.0.1: no network, no token."""
    from monitor.replay.demo import run_demo

    sys.exit(run_async(run_demo(settings_or_exit(daemon=True), seconds)))


@main.command("healthcheck")
def healthcheck_cmd() -> None:
    """Ask the running daemon's /readyz (for container health checks); exit 0 when ready."""
    import urllib.error
    import urllib.request

    from monitor.daemon.http import parse_addr

    try:
        host, port = parse_addr(load_settings().monitor_http_addr)
    except ConfigError as exc:
        fail(str(exc))
    host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/readyz", timeout=4) as response:
            click.echo(response.read().decode().strip())
    except urllib.error.HTTPError as exc:
        fail(exc.read().decode().strip(), 1)
    except OSError as exc:
        fail(f"daemon not reachable at {host}:{port}: {exc}", 1)


@main.command("run")
def run_cmd() -> None:
    """The daemon: scheduled polls (and the Telegram bot when configured) until SIGTERM."""
    from monitor.daemon.run import run_daemon

    sys.exit(run_async(run_daemon(config_or_exit(daemon=True))))



@main.command("classify")
@click.option("--eval", "evaluate", is_flag=True,
              help="input carries a true 'bucket': print accuracy, F1, a confusion table and "
              "the recall/rejection curve")
@click.option("--stored", is_flag=True,
              help="classify the stored items an import left unclassified (--no-classify) and "
              "queue their cards; stdin is not read")
@click.option("--batch", type=click.IntRange(1, 100_000), default=256, show_default=True,
              help="with --stored: items classified and recorded per transaction")
@click.option("--threshold", type=click.FloatRange(0, 1), default=None,
              help="minimum relevance (default: topics.yaml relevance_threshold)")
def classify_cmd(evaluate: bool, stored: bool, batch: int, threshold: float | None) -> None:
    """JSON Lines on stdin → the same objects with bucket, confidence and scores; or, with
    --stored, the stored items that were imported unclassified."""
    if stored and evaluate:
        fail("--stored and --eval do not go together (--eval reads labelled JSON Lines)")
    if stored:
        from monitor.commands.learn import classify_stored

        sys.exit(run_async(classify_stored(config_or_exit(), batch=batch,
                                           threshold=threshold)))
    from monitor.commands.learn import run_classify
    from monitor.pipeline.classify import load_classifier

    config = config_or_exit()
    classifier = load_classifier(config.settings, topics=config.topics)
    sys.exit(run_classify(classifier, sys.stdin, sys.stdout, sys.stderr, evaluate, threshold))


@main.command("train")
@click.option("--force", is_flag=True,
              help="replace the current model even if it does worse on the dev split")
def train_cmd(force: bool) -> None:
    """Rebuild the classifier model from all labels; prints dev figures before and after, and
    keeps the current model if the new one loses recall or rejection (exit 1)."""
    from monitor.commands.learn import run_train

    config = config_or_exit()
    decisions = run_async(_decisions(config.settings))
    try:
        code = run_train(config, decisions, force=force)
    except (ConfigError, ValueError) as exc:
        fail(str(exc))
    sys.exit(code)


@main.command("export")
@click.option("--week", default=None, help="ISO week, e.g. 2026-W47, in MONITOR_TIMEZONE "
              "(default: the current week)")
@click.option("--format", "fmt", default="md", show_default=True, help="md, docx, csv or json")
@click.option("--out", default=None, type=click.Path(path_type=Path),
              help="file to write, '-' for stdout (default: MONITOR_STORAGE/exports/)")
@click.option("--kept-only", is_flag=True, help="only the items the editor kept")
def export_cmd(week: str | None, fmt: str, out: Path | None, kept_only: bool) -> None:
    """The week's candidates as a newsletter draft (md, docx) or a table (csv, json)."""
    from monitor.export import run_export

    sys.exit(run_async(run_export(config_or_exit(), week=week, fmt=fmt.lower(), out=out,
                                  kept_only=kept_only)))


async def _decisions(settings: Settings) -> list[Label]:
    """The editor's decisions in the store, as labels for training."""
    from monitor.store.db import open_database
    from monitor.store.decisions import labels

    engine = await open_database(settings.db_url)
    try:
        return await labels(engine)
    finally:
        await engine.dispose()


@main.command("compare")
@click.argument("story", required=False)
@click.option("--ru", "ru_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="a text file holding the Russian side's readout")
@click.option("--cn", "cn_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="a text file holding the Chinese side's readout")
def compare_cmd(story: str | None, ru_path: Path | None, cn_path: Path | None) -> None:
    """A story's Russian and Chinese official readouts (or two files) compared side by side."""
    from monitor.commands.compare import show_comparison

    if (ru_path is None) != (cn_path is None) or (story is None) == (ru_path is None):
        fail("give a STORY id (see `monitor items --json`), or both --ru FILE and --cn FILE")
    settings, outlets = None, {}
    if story is not None:
        config = config_or_exit()
        settings = config.settings
        outlets = {s.id: s.outlet for s in config.sources.values()}
    sys.exit(run_async(show_comparison(settings, story, ru_path=ru_path, cn_path=cn_path,
                                       outlets=outlets)))
