"""The database connection: the only module that knows SQLite from PostgreSQL.

`DATABASE_URL` may be given as a plain `sqlite:///path` or `postgresql://…` URL; the async
driver (aiosqlite, asyncpg) is chosen here. SQLite runs in WAL mode so the bot can read while
a poll writes. Migrations (alembic, append-only) run on open, but alembic (about a third of a
second of imports) is only imported when the database is behind: `_up_to_date` compares the
stored revision with the head read from the migration files' own `revision` lines. The
dialect modules are likewise imported for the dialect in use only.

Several daemons may start at once on a new database. The upgrade is serialised: on PostgreSQL
by a transaction-scoped advisory lock on `MIGRATION_LOCK`, on SQLite by the write lock that
`BEGIN IMMEDIATE` takes (which also makes the migrations one transaction there); the revision
is read again once the lock is held, so the daemons that waited find the head and run nothing.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Float, Integer, event, func, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from monitor.errors import ConfigError, StoreError
from monitor.text import search_terms

MIGRATIONS = Path(__file__).with_name("migrations")
# An item row is about 2.3 KB (half of it the embedding): in SQLite's default 4 KB pages one row
# fills a page and leaves 1 KB of it empty (bench/dbsize.py: 3.7 KB per item; 3.2 KB in 16 KB
# pages). Only a new file takes it: WAL fixes an existing file's page size.
SQLITE_PAGE_SIZE = 16384
SQLITE_BUSY_MS = 5000  # how long a statement waits for another connection's write lock
# The key of the advisory lock the migrations run under on PostgreSQL ("monitor" as a number).
MIGRATION_LOCK = int.from_bytes(b"monitor", "big")
# How long a daemon starting on SQLite waits for another one's migrations (busy_timeout, ms).
MIGRATION_WAIT_MS = 120_000
_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg",
            "postgres": "postgresql+asyncpg"}


def async_url(url: str) -> str:
    """The URL with the async driver this project uses."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"DATABASE_URL: not a database URL: {url!r}") from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise ConfigError(f"DATABASE_URL: unsupported database {backend!r} (sqlite or postgresql)")
    return parsed.set(drivername=_DRIVERS[parsed.drivername.split("+")[0]]).render_as_string(
        hide_password=False)


async def open_database(url: str, *, migrate: bool = True) -> AsyncEngine:
    """An engine for DATABASE_URL with the schema brought up to date."""
    url = async_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    if migrate:
        try:
            async with engine.begin() as conn:
                migrated = await conn.run_sync(_upgrade)
        except (SQLAlchemyError, OSError, StoreError) as exc:
            await engine.dispose()
            raise StoreError(f"DATABASE_URL: cannot open {parsed.render_as_string()}: "
                             f"{str(exc).splitlines()[0]}") from None
        if migrated and engine.dialect.name == "sqlite":
            await engine.dispose()  # the migration's connection had foreign keys off
    return engine


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")  # before WAL, which fixes it
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _upgrade(connection: Any) -> bool:
    """Bring the schema to the head revision (nothing to import or run when it is there).

    Runs in `open_database`'s transaction. Behind, it first takes the migration lock (the
    others starting at the same moment wait here) and reads the revision again: a process that
    waited while another migrated finds the head and returns. PostgreSQL's lock is
    `pg_advisory_xact_lock`, released by the commit that makes the new schema visible (a session
    lock released before the commit would let the next one see the old revision) or by a
    rollback. SQLite's `BEGIN IMMEDIATE` waits up to MIGRATION_WAIT_MS for the write lock.

    On SQLite, foreign keys are off while it migrates (a pragma that only takes effect outside
    a transaction, so before BEGIN): a batch migration rebuilds `items` by copy, drop and
    rename, and the drop would delete every decision, outbox row and card through ON DELETE
    CASCADE. `foreign_key_check` must then find nothing, or the migration rolls back. Returns
    whether it migrated."""
    if _up_to_date(connection):
        return False
    from alembic import command
    from alembic.config import Config

    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
    else:
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.exec_driver_sql(f"PRAGMA busy_timeout={MIGRATION_WAIT_MS}")
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        connection.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
    if _up_to_date(connection):
        return True
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
    if connection.dialect.name == "sqlite":
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise StoreError(f"migration left {len(broken)} rows whose item is gone "
                             f"(first in table {broken[0][0]}); nothing was changed")
    return True


def _up_to_date(connection: Any) -> bool:
    """Whether the database holds exactly the head revision of our migrations (a database
    alembic has not seen, or one behind, is not: alembic then decides what to run)."""
    if not inspect(connection).has_table("alembic_version"):
        return False
    stored = {row[0] for row in connection.execute(text("SELECT version_num FROM alembic_version"))}
    return stored == heads()


@cache
def heads() -> frozenset[str]:
    """The head revisions of the migration scripts: those no other script revises. Read from
    the `revision` and `down_revision` assignments (as alembic reads them) without alembic."""
    revisions, revised = set(), set()
    for script in (MIGRATIONS / "versions").glob("*.py"):
        for node in ast.parse(script.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                    isinstance(node.targets[0], ast.Name):
                name = node.targets[0].id
                if name in ("revision", "down_revision"):
                    value = ast.literal_eval(node.value)
                    values = value if isinstance(value, (tuple, list)) else [value]
                    (revisions if name == "revision" else revised).update(
                        v for v in values if v)
    return frozenset(revisions - revised)


def _dialect(engine: AsyncEngine) -> Any:
    """SQLAlchemy's dialect module for this engine (imported on first use)."""
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql
    from sqlalchemy.dialects import sqlite

    return sqlite


def insert_ignoring_duplicates(engine: AsyncEngine, table: Any) -> Any:
    """`INSERT … ON CONFLICT DO NOTHING` in this engine's dialect."""
    return _dialect(engine).insert(table).on_conflict_do_nothing()


def upsert(engine: AsyncEngine, table: Any, key: str, values: dict[str, Any]) -> Any:
    """`INSERT … ON CONFLICT (key) DO UPDATE` with the given values."""
    stmt = _dialect(engine).insert(table).values(**values)
    update = {k: v for k, v in values.items() if k != key}
    return stmt.on_conflict_do_update(index_elements=[key], set_=update)


def text_search(engine: AsyncEngine, items: Any, query: str) -> tuple[Any, Any] | None:
    """(condition, ranking) for a full-text search of `items.search`, in this engine's dialect;
    None when the query has no words. Terms are prepared as the index holds them
    (`text.search_terms`): case-folded in every script, Chinese as character pairs, all
    required, each also as the start of a longer word ("xi jin" finds Xi Jinping, as a search
    box does while one types). SQLite ranks by FTS5's bm25, PostgreSQL by ts_rank."""
    terms = search_terms(query)
    if not terms:
        return None
    if engine.dialect.name == "postgresql":
        vector = func.to_tsvector("simple", items.c.search)
        wanted = func.to_tsquery("simple", " & ".join(
            "'" + t.replace("\\", "").replace("'", "''") + "':*" for t in terms))
        return vector.op("@@")(wanted), func.ts_rank(vector, wanted).desc()
    match = " AND ".join(_fts_phrase(t) for t in terms)
    found = (text("SELECT rowid AS id, bm25(items_fts) AS rank FROM items_fts "
                  "WHERE items_fts MATCH :match").bindparams(match=match)
             .columns(id=Integer, rank=Float).subquery("found"))
    rank = select(found.c.rank).where(found.c.id == items.c.id).scalar_subquery()
    return items.c.id.in_(select(found.c.id)), rank.asc()


def _fts_phrase(term: str) -> str:
    """A term as an FTS5 prefix string (quotes doubled): "jin" finds jinping, and a single
    Chinese character finds the character pairs the index holds that start with it."""
    return '"' + term.replace('"', '""') + '" *'
