"""Several daemons starting at once on a new database: each opens it and migrates it, and
`open_database` lets one of them run the migrations while the others wait and then find the
schema at the head (a PostgreSQL advisory lock; on SQLite the write lock of BEGIN IMMEDIATE).
Without that, two of them create the same tables or insert the same version row and fail.

The openers are separate processes (as daemons are) that call the real `open_database`, held
at a barrier until all are ready, so they reach the empty database together; several rounds,
each on a new database. Nothing is timed: a round fails only on an opener's error or when one
does not finish within a generous bound.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from monitor.store.db import async_url, heads
from tests.conftest import _fresh_postgres_database, postgres_admin_url

OPENERS = 3
ROUNDS = 3
BOUND = 120.0  # seconds one round may take under load (a failure bound, never a measurement)


def open_at_once(url: str, barrier, results) -> None:
    """In a child process: wait for the others, then open (and so migrate) the database."""
    import alembic.command  # noqa: F401  (imported before the barrier: they start together)

    from monitor.store.db import open_database

    async def main() -> None:
        barrier.wait(BOUND)
        engine = await open_database(url)
        await engine.dispose()

    try:
        asyncio.run(main())
    except BaseException as exc:  # reported to the test, which shows it
        results.put(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
        raise SystemExit(1) from None
    results.put("ok")


def open_together(url: str) -> list[str]:
    """OPENERS processes opening `url` at the same moment; what each reported."""
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(OPENERS), context.Queue()
    procs = [context.Process(target=open_at_once, args=(url, barrier, results))
             for _ in range(OPENERS)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(BOUND)
    stuck = [proc for proc in procs if proc.is_alive()]
    for proc in stuck:
        proc.kill()
        proc.join()
    reports = [results.get(timeout=BOUND) for proc in procs if proc not in stuck]
    return reports + ["did not finish"] * len(stuck)


async def versions(url: str) -> list[str]:
    """The rows of alembic_version (one per head, once)."""
    engine = create_async_engine(async_url(url))
    try:
        async with engine.connect() as conn:
            return [r[0] for r in await conn.execute(text("SELECT version_num FROM alembic_version"))]
    finally:
        await engine.dispose()


def rounds(new_database) -> None:
    for n in range(ROUNDS):
        url = new_database(n)
        reports = open_together(url)
        assert reports == ["ok"] * OPENERS, f"round {n}: {reports}"
        assert sorted(asyncio.run(versions(url))) == sorted(heads()), f"round {n}"


@pytest.mark.postgres
def test_three_daemons_migrate_a_new_postgres_database_at_once() -> None:
    admin = postgres_admin_url()
    if not admin:
        pytest.skip("no PostgreSQL server: set MONITOR_TEST_POSTGRES_URL (.ci/run starts one)")
    rounds(lambda _n: asyncio.run(_fresh_postgres_database(admin)))


def test_three_daemons_migrate_a_new_sqlite_file_at_once(tmp_path: Path) -> None:
    rounds(lambda n: f"sqlite:///{tmp_path / f'round{n}' / 'monitor.sqlite3'}")
