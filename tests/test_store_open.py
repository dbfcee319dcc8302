"""Opening the store: a database at the head revision opens without importing alembic (start-up
time), one behind or new is migrated by alembic, and the head we read agrees with alembic's; a
new SQLite file gets pages that hold several item rows, an existing one keeps its own."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from monitor.store.db import MIGRATIONS, SQLITE_PAGE_SIZE, heads, open_database

OPEN_AND_REPORT = """
import asyncio, sys
from monitor.store.db import open_database

async def main():
    engine = await open_database(sys.argv[1])
    await engine.dispose()

asyncio.run(main())
print("alembic" in sys.modules)
"""


def alembic_imported_on_open(url: str) -> bool:
    """Whether a fresh process opening `url` imports alembic."""
    result = subprocess.run([sys.executable, "-c", OPEN_AND_REPORT, url], capture_output=True,
                            text=True, timeout=120, check=True)
    return result.stdout.strip() == "True"


def test_head_read_from_the_scripts_is_alembics() -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert heads() == frozenset(ScriptDirectory.from_config(config).get_heads())


def test_database_behind_is_migrated_and_one_at_the_head_opens_without_alembic(
        tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'monitor.sqlite3'}"
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head, = heads()
    previous = ScriptDirectory.from_config(config).get_revision(head).down_revision
    engine = create_engine(url)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, previous)
    engine.dispose()
    assert stored_revisions(url) == {previous}
    assert alembic_imported_on_open(url)  # behind: alembic runs the last migration
    assert stored_revisions(url) == {head}
    assert not alembic_imported_on_open(url)  # at the head: nothing to import or run
    assert stored_revisions(url) == {head}


def test_new_database_is_migrated_to_the_head(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new' / 'monitor.sqlite3'}"
    assert alembic_imported_on_open(url)
    assert stored_revisions(url) == heads()


def stored_revisions(url: str) -> set[str]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT version_num FROM alembic_version")).all()
    engine.dispose()
    return {row[0] for row in rows}


def page_size(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("PRAGMA page_size").fetchone()[0]


async def test_new_sqlite_file_gets_large_pages_and_an_old_one_keeps_its_own(
        tmp_path: Path) -> None:
    new, old = tmp_path / "new.sqlite3", tmp_path / "old.sqlite3"
    with sqlite3.connect(old) as conn:  # a store created before: 4 KB pages, WAL
        conn.execute("PRAGMA page_size=4096")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE before (x)")
    for path in (new, old):
        engine = await open_database(f"sqlite:///{path}")
        async with engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        await engine.dispose()
    assert SQLITE_PAGE_SIZE > 4096 and page_size(new) == SQLITE_PAGE_SIZE
    assert page_size(old) == 4096 and stored_revisions(f"sqlite:///{old}") == heads()


def test_an_upgrade_keeps_the_rows_that_point_at_items(tmp_path: Path) -> None:
    """SQLite's batch migrations rebuild `items` (copy, drop, rename); with foreign keys on, the
    drop deleted every decision, outbox row, card and comment prompt through ON DELETE CASCADE.
    A store from before those migrations keeps all of them."""
    url = f"sqlite:///{tmp_path / 'monitor.sqlite3'}"
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    engine = create_engine(url)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0003")
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA foreign_keys=ON")  # as the store's connections have it
        conn.exec_driver_sql(
            "INSERT INTO items (id, key, source, url, title, summary, first_seen, lang, authors,"
            " variant, original, status) VALUES (7, 'k', 'tass', 'https://tass.com/1', 'Lavrov"
            " meets Wang Yi', '', '2026-06-29 08:00:00', 'en', '[]', '', 1, 'kept')")
        conn.exec_driver_sql(
            "INSERT INTO decisions (item_id, seq, user_id, user_name, at, action, status_from,"
            " status_to, undone) VALUES (7, 1, 42, 'editor', '2026-06-29 09:00:00', 'keep',"
            " 'new', 'kept', 0)")
        conn.exec_driver_sql(
            "INSERT INTO outbox (item_id, chat_id, state, attempts, created_at)"
            " VALUES (7, -100, 'sent', 1, '2026-06-29 08:01:00')")
        conn.exec_driver_sql("INSERT INTO cards (chat_id, message_id, item_id, kind, posted_at)"
                             " VALUES (-100, 5, 7, 'card', '2026-06-29 08:01:00')")
    engine.dispose()
    assert alembic_imported_on_open(url)  # behind: migrated
    with sqlite3.connect(tmp_path / "monitor.sqlite3") as conn:
        counts = {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                  for table in ("items", "decisions", "outbox", "cards")}
        foreign_keys = conn.execute("PRAGMA foreign_key_check").fetchall()
    assert counts == {"items": 1, "decisions": 1, "outbox": 1, "cards": 1}
    assert foreign_keys == []
    assert stored_revisions(url) == heads()
