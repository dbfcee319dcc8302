"""Table definitions (SQLAlchemy Core), shared by the store modules.

The migrations under `migrations/versions/` create these tables; they are written out there in
full so that old migrations never change when this file does.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)


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
    Column("date_only", Boolean, nullable=False, default=False),  # migration 0004
    Column("held", Boolean, nullable=False, default=False),  # migration 0004
    Column("search", Text, nullable=False, default=""),  # migration 0005; indexed per dialect
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
    Column("quiet_alerted", Boolean, nullable=False, default=False),  # migration 0003
    Column("poll_owner", String(128)),  # the daemon process polling it (0007)
    Column("poll_until", UTCDateTime),  # nobody else polls it before then (0007)
)

# Telegram triage (migration 0002): the editor's decisions, the card outbox, posted cards and
# comment prompts. Chat and user ids are 64-bit in Telegram.

decisions = Table(
    "decisions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("seq", Integer, nullable=False),  # 1, 2, … per item: the card revision it applied to
    Column("user_id", BigInteger, nullable=False),
    Column("user_name", String(128), nullable=False, default=""),
    Column("at", UTCDateTime, nullable=False),
    Column("action", String(16), nullable=False),  # keep / skip / move / comment / undo
    Column("status_from", String(16), nullable=False),
    Column("status_to", String(16), nullable=False),
    Column("bucket_from", String(40)),
    Column("bucket_to", String(40)),
    Column("comment_from", Text),
    Column("comment", Text),
    Column("undone", Boolean, nullable=False, default=False),
    UniqueConstraint("item_id", "seq", name="uq_decisions_item_seq"),
)

outbox = Table(
    "outbox", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
    Column("chat_id", BigInteger, nullable=False),
    Column("state", String(16), nullable=False, default="pending", index=True),
    Column("message_id", BigInteger),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("posted_at", UTCDateTime),
    Column("claimed_at", UTCDateTime),  # when the row went `sending`: its lease (0006)
    Column("claimed_by", String(128)),  # the process sending it (0008; health.process_id)
    UniqueConstraint("item_id", "chat_id", name="uq_outbox_item_chat"),
)

cards = Table(
    "cards", metadata,
    Column("chat_id", BigInteger, primary_key=True),
    Column("message_id", BigInteger, primary_key=True),
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("kind", String(16), nullable=False, default="card"),  # card / review / prompt
    Column("posted_at", UTCDateTime, nullable=False),
)

comment_prompts = Table(
    "comment_prompts", metadata,
    Column("chat_id", BigInteger, primary_key=True),
    Column("user_id", BigInteger, primary_key=True),
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
    Column("since", UTCDateTime, nullable=False),
)
