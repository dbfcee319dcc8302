"""The database connection: the only module that knows SQLite from PostgreSQL.

`DATABASE_URL` may be given as a plain `sqlite:///path` or `postgresql://…` URL; the async
driver (aiosqlite, asyncpg) is chosen here. SQLite runs in WAL mode so the bot can read while
a poll writes. Migrations (alembic, append-only) run on open.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Float, Integer, event, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from monitor.errors import ConfigError, StoreError
from monitor.text import search_terms

MIGRATIONS = Path(__file__).with_name("migrations")
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
                await conn.run_sync(_upgrade)
        except (SQLAlchemyError, OSError) as exc:
            await engine.dispose()
            raise StoreError(f"DATABASE_URL: cannot open {parsed.render_as_string()}: "
                             f"{str(exc).splitlines()[0]}") from None
    return engine


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _upgrade(connection: Any) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def insert_ignoring_duplicates(engine: AsyncEngine, table: Any) -> Any:
    """`INSERT … ON CONFLICT DO NOTHING` in this engine's dialect."""
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing()


def upsert(engine: AsyncEngine, table: Any, key: str, values: dict[str, Any]) -> Any:
    """`INSERT … ON CONFLICT (key) DO UPDATE` with the given values."""
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table).values(**values)
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
