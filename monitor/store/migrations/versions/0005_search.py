"""Full-text search: a `search` column of case-folded terms (Chinese as character pairs), kept
in step with the items by the store on insert, and indexed per dialect: an FTS5 table with
triggers on SQLite, a GIN index over `to_tsvector('simple', search)` on PostgreSQL.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

from monitor.text import search_text

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None
BATCH = 2000


def upgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.add_column(sa.Column("search", sa.Text, nullable=False, server_default=""))
    _backfill(op.get_bind())
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX items_search_gin ON items "
                   "USING gin (to_tsvector('simple', search))")
        return
    op.execute("CREATE VIRTUAL TABLE items_fts USING fts5(search, content='items', "
               "content_rowid='id', tokenize='unicode61 remove_diacritics 0')")
    op.execute("CREATE TRIGGER items_fts_insert AFTER INSERT ON items BEGIN "
               "INSERT INTO items_fts(rowid, search) VALUES (new.id, new.search); END")
    op.execute("CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN "
               "INSERT INTO items_fts(items_fts, rowid, search) "
               "VALUES ('delete', old.id, old.search); END")
    op.execute("CREATE TRIGGER items_fts_update AFTER UPDATE OF search ON items BEGIN "
               "INSERT INTO items_fts(items_fts, rowid, search) "
               "VALUES ('delete', old.id, old.search); "
               "INSERT INTO items_fts(rowid, search) VALUES (new.id, new.search); END")
    op.execute("INSERT INTO items_fts(items_fts) VALUES ('rebuild')")


def _backfill(conn: sa.engine.Connection) -> None:
    """The search terms of the items stored before this migration, in batches."""
    items = sa.table("items", sa.column("id"), sa.column("title"), sa.column("summary"),
                     sa.column("search"))
    last = 0
    while True:
        rows = conn.execute(sa.select(items.c.id, items.c.title, items.c.summary)
                            .where(items.c.id > last).order_by(items.c.id).limit(BATCH)).all()
        if not rows:
            return
        for row in rows:
            conn.execute(sa.update(items).where(items.c.id == row.id)
                         .values(search=search_text(row.title, row.summary or "")))
        last = rows[-1].id
