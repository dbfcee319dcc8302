"""Opening the store: a database at the head revision opens without importing alembic (start-up
time), one behind or new is migrated by alembic, and the head we read agrees with alembic's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from monitor.store.db import MIGRATIONS, heads

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
