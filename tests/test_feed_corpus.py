"""Hostile input: every file of two public feed test corpora through the TASS adapter.

The corpora are feedparser's own test files (from its source distribution on the package
registry, downloaded once into a cache outside the repository; never committed) and the W3C feed
validator's test feeds under ../shared. They hold every way a feed can be broken: bad encodings,
entity bombs, truncated gzip, HTML, stray bytes. The promise tested: `monitor import --source
tass --dry-run --json` finishes without a traceback, each bad file is one line on stderr, and
time and memory stay bounded (rss.py strips the DOCTYPE because feedparser's fallback parser
expands entities without limit).

Cache: $MONITOR_TEST_CACHE, else ~/.cache/monitor-tests. Skipped with the reason when the
registry cannot be reached or ../shared is absent.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import resource
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest
from conftest import ROOT, SHARED

from monitor.adapters import get_adapter
from monitor.adapters.base import parse_checked
from monitor.errors import MonitorError
from monitor.fetch.saved import read_saved

SOURCE = "tass"
URL = "https://tass.com/rss/v2.xml"
BATCH = 500  # files per `monitor import` run
MAX_SECONDS_PER_FILE = 5.0
BATCH_TIMEOUT = 120
MEMORY_LIMIT = 4 * 1024**3  # address space of one `monitor import` run
CACHE = Path(os.environ.get("MONITOR_TEST_CACHE") or Path.home() / ".cache" / "monitor-tests")


def feedparser_corpus() -> list[Path]:
    """The `tests/` tree of the installed feedparser's sdist, downloaded once into CACHE."""
    version = importlib.metadata.version("feedparser")
    root = CACHE / f"feedparser-{version}"
    if not (root / "tests").is_dir():
        CACHE.mkdir(parents=True, exist_ok=True)
        got = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
             f"feedparser=={version}", "-d", str(CACHE), "--quiet"],
            capture_output=True, text=True, timeout=180)
        archive = CACHE / f"feedparser-{version}.tar.gz"
        if got.returncode != 0 or not archive.exists():
            pytest.skip(f"cannot download the feedparser {version} sdist (no registry?): "
                        f"{(got.stderr or got.stdout).strip().splitlines()[-1:]}")
        with tarfile.open(archive) as tar:
            tar.extractall(CACHE, filter="data")
    return sorted(p for p in (root / "tests").rglob("*") if p.is_file())


def validator_corpus() -> list[Path]:
    """The W3C feed validator's test feeds under ../shared (2,192 files)."""
    root = SHARED / "fixtures" / "feed-validator-testcases" / "testcases"
    if not root.is_dir():
        pytest.skip("needs ../shared beside the checkout (feed-validator-testcases is absent)")
    return sorted(p for p in root.rglob("*") if p.is_file())


CORPORA = {"feedparser": feedparser_corpus, "feed-validator": validator_corpus}


@pytest.fixture(scope="module", params=sorted(CORPORA))
def corpus(request: pytest.FixtureRequest) -> list[Path]:
    files = CORPORA[request.param]()
    assert len(files) > 1000, f"{request.param}: only {len(files)} files"
    return files


def test_adapter_refuses_bad_files_with_one_line_errors(corpus: list[Path], sources: dict) -> None:
    """read_saved + parse_checked: items, or a MonitorError whose message is one line."""
    source = sources[SOURCE]
    adapter = get_adapter(source.adapter)
    problems: list[str] = []
    slowest = (0.0, "")
    for path in corpus:
        started = time.perf_counter()
        try:
            parse_checked(adapter.parse, read_saved(path, URL), source)
        except MonitorError as exc:
            if "\n" in str(exc):
                problems.append(f"{path}: message spans lines: {str(exc)[:200]!r}")
        except Exception as exc:  # noqa: BLE001 - exactly what must not happen
            problems.append(f"{path}: {type(exc).__name__}: {exc}")
        slowest = max(slowest, (time.perf_counter() - started, str(path)))
    assert not problems, "\n".join(problems[:20])
    assert slowest[0] < MAX_SECONDS_PER_FILE, f"{slowest[1]} took {slowest[0]:.1f}s"


def _import_available() -> bool:
    done = subprocess.run([sys.executable, "-m", "monitor", "import", "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    return done.returncode == 0


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def _run_import(paths: list[Path], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, MONITOR_SOURCES=str(ROOT / "sources.yaml"),
               MONITOR_STORAGE=str(tmp_path), DATABASE_URL=f"sqlite:///{tmp_path / 'corpus.db'}")
    return subprocess.run(
        [sys.executable, "-m", "monitor", "import", "--source", SOURCE, "--dry-run", "--no-classify",
         "--json",
         "--url", URL, *map(str, paths)],
        cwd=ROOT, env=env, capture_output=True, text=True, errors="replace",
        timeout=BATCH_TIMEOUT, preexec_fn=_limit_memory)


def test_monitor_import_over_corpus(corpus: list[Path], tmp_path: Path) -> None:
    """`monitor import --source tass --dry-run --json` in batches: no traceback, one line
    per bad file, JSON Lines on stdout, exit 0 or 1, within the time and memory bounds."""
    if not _import_available():
        pytest.skip("`monitor import` is not available in monitor/cli.py yet")
    for start in range(0, len(corpus), BATCH):
        batch = corpus[start:start + BATCH]
        done = _run_import(batch, tmp_path)
        where = f"files {start}..{start + len(batch) - 1}"
        assert "Traceback" not in done.stderr, f"{where}:\n{done.stderr[-3000:]}"
        assert done.returncode in (0, 1), f"{where}: exit {done.returncode}\n{done.stderr[-2000:]}"
        lines = done.stderr.splitlines()
        failures = [line for line in lines if line.startswith("monitor import: ")]
        # Besides the per-file lines: the summary line, and on a fresh checkout (no trained
        # model) the classifier's one start-up warning.
        others = [line for line in lines if not line.startswith("monitor import: ")
                  and not re.match(r"^\S+Z WARNING monitor\.classify no classifier model", line)]
        assert len(others) <= 1, f"{where}: stray stderr lines: {others[:10]}"
        named = {str(p) for p in batch}
        unnamed = [line for line in failures if line.split(": ", 2)[1] not in named]
        assert not unnamed, f"{where}: failure lines that name no file: {unnamed[:5]}"
        assert len(failures) == len({line.split(": ", 2)[1] for line in failures}), \
            f"{where}: a file reported on more than one line"
        assert (done.returncode == 1) == bool(failures), f"{where}: exit code vs failures"
        for line in done.stdout.splitlines():
            assert isinstance(json.loads(line), dict)
