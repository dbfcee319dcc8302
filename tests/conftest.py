"""Shared test fixtures: paths to ../shared, the source registry, a temporary SQLite store."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
FIXTURES = ROOT / "tests" / "fixtures"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-expected", action="store_true",
                     help="rewrite tests/fixtures/adapters/*.json from the current adapters")


def shared_path(relative: str) -> Path:
    """A file under ../shared, or a skip saying it is absent (a user's fresh clone)."""
    path = SHARED / relative
    if not path.exists():
        pytest.skip(f"needs ../shared beside the checkout ({relative} is absent)")
    return path


@pytest.fixture(scope="session")
def sources():
    from monitor.registry import load_sources

    return {s.id: s for s in load_sources(ROOT / "sources.yaml")}
