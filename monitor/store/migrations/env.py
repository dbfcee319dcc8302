"""Alembic environment: runs on the connection `db._upgrade` hands over when `db.open_database`
migrates (no alembic.ini)."""

from __future__ import annotations

from alembic import context

from monitor.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
