"""Shared test fixtures: paths to ../shared, the source registry, a temporary SQLite store."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
FIXTURES = ROOT / "tests" / "fixtures"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-expected", action="store_true",
                     help="rewrite tests/fixtures/adapters/*.json from the current adapters")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Slow end-to-end runs (marked `slow`) run only with MONITOR_SLOW_TESTS=1, as `.ci/run`
    sets it: the default `make test` stays a few minutes on two cores."""
    if os.environ.get("MONITOR_SLOW_TESTS") == "1":
        return
    skip = pytest.mark.skip(reason="slow end-to-end run: set MONITOR_SLOW_TESTS=1 to run it")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def shared_path(relative: str) -> Path:
    """A file under ../shared, or a skip saying it is absent (a user's fresh clone)."""
    path = SHARED / relative
    if not path.exists():
        pytest.skip(f"needs ../shared beside the checkout ({relative} is absent)")
    return path


@pytest.fixture(scope="session")
def sources():
    from monitor.adapters import ADAPTERS
    from monitor.config.sources import load_sources

    return {s.id: s for s in load_sources(ROOT / "sources.yaml", ADAPTERS)}


def postgres_admin_url() -> str | None:
    """The throwaway server `.ci/run` starts (MONITOR_TEST_POSTGRES_URL), if any."""
    import os

    url = os.environ.get("MONITOR_TEST_POSTGRES_URL")
    if not url and os.environ.get("MONITOR_REQUIRE_POSTGRES"):
        pytest.fail("MONITOR_REQUIRE_POSTGRES is set but MONITOR_TEST_POSTGRES_URL is not")
    return url


async def _fresh_postgres_database(admin_url: str) -> str:
    """A new empty database on the test server; its URL."""
    import uuid

    import asyncpg
    from sqlalchemy.engine import make_url

    name = f"monitor_test_{uuid.uuid4().hex[:12]}"
    url = make_url(admin_url)
    conn = await asyncpg.connect(host=url.host, port=url.port, user=url.username,
                                 password=url.password, database=url.database or "postgres")
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", "postgres"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database: a real SQLite file, and a real PostgreSQL database when one is up."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'monitor.sqlite3'}"
    admin = postgres_admin_url()
    if not admin:
        pytest.skip("no PostgreSQL server: set MONITOR_TEST_POSTGRES_URL (.ci/run starts one)")
    return await _fresh_postgres_database(admin)


@pytest.fixture
async def engine(db_url: str):
    from monitor.store.db import open_database

    engine = await open_database(db_url)
    yield engine
    await engine.dispose()
