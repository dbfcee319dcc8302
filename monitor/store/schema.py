"""Table definitions (SQLAlchemy Core), shared by the store modules.

The migrations under `migrations/versions/` create these tables; they are written out there in
full so that old migrations never change when this file does.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (JSON, Boolean, Column, DateTime, Float, Integer, LargeBinary, MetaData,
                        String, Table, Text, TypeDecorator)


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in, aware UTC out, on SQLite (which keeps no zone) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; normalize first")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


metadata = MetaData()

items = Table(
    "items", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(64), nullable=False, unique=True),
    Column("source", String(64), nullable=False, index=True),
    Column("url", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("summary", Text, nullable=False, default=""),
    Column("published", UTCDateTime, index=True),
    Column("first_seen", UTCDateTime, nullable=False, index=True),
    Column("lang", String(8), nullable=False, default=""),
    Column("authors", JSON, nullable=False, default=list),
    Column("guid", Text),
    Column("variant", String(64), nullable=False, default=""),
    Column("origin", Text),
    Column("story", String(64), index=True),
    Column("original", Boolean, nullable=False, default=True),
    Column("title_sig", String(64), index=True),
    Column("embedding", LargeBinary),
    Column("bucket", String(40), index=True),
    Column("confidence", Float),
    Column("scores", JSON),
    Column("why", Text),
    Column("model_version", String(64)),
    Column("status", String(16), nullable=False, default="new", index=True),
    Column("comment", Text),
    Column("reviewed_by", String(128)),
    Column("reviewed_at", UTCDateTime),
)

source_health = Table(
    "source_health", metadata,
    Column("source", String(64), primary_key=True),
    Column("last_attempt", UTCDateTime),
    Column("last_success", UTCDateTime),
    Column("last_error", Text),
    Column("last_error_kind", String(32)),
    Column("last_error_at", UTCDateTime),
    Column("consecutive_errors", Integer, nullable=False, default=0),
    Column("items_last_poll", Integer),
    Column("new_last_poll", Integer),
    Column("validators", JSON, nullable=False, default=dict),  # url → {etag, last_modified}
    Column("paused", Boolean, nullable=False, default=False),
    Column("retry_after", UTCDateTime),
)
