"""Items with their identity key, and per-source health.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from monitor.store.schema import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "items",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(64), nullable=False, unique=True),
        sa.Column("source", sa.String(64), nullable=False, index=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("published", UTCDateTime, index=True),
        sa.Column("first_seen", UTCDateTime, nullable=False, index=True),
        sa.Column("lang", sa.String(8), nullable=False),
        sa.Column("authors", sa.JSON, nullable=False),
        sa.Column("guid", sa.Text),
        sa.Column("variant", sa.String(64), nullable=False),
        sa.Column("origin", sa.Text),
        sa.Column("story", sa.String(64), index=True),
        sa.Column("original", sa.Boolean, nullable=False),
        sa.Column("title_sig", sa.String(64), index=True),
        sa.Column("embedding", sa.LargeBinary),
        sa.Column("bucket", sa.String(40), index=True),
        sa.Column("confidence", sa.Float),
        sa.Column("scores", sa.JSON),
        sa.Column("why", sa.Text),
        sa.Column("model_version", sa.String(64)),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("comment", sa.Text),
        sa.Column("reviewed_by", sa.String(128)),
        sa.Column("reviewed_at", UTCDateTime),
    )
    op.create_table(
        "source_health",
        sa.Column("source", sa.String(64), primary_key=True),
        sa.Column("last_attempt", UTCDateTime),
        sa.Column("last_success", UTCDateTime),
        sa.Column("last_error", sa.Text),
        sa.Column("last_error_kind", sa.String(32)),
        sa.Column("last_error_at", UTCDateTime),
        sa.Column("consecutive_errors", sa.Integer, nullable=False),
        sa.Column("items_last_poll", sa.Integer),
        sa.Column("new_last_poll", sa.Integer),
        sa.Column("validators", sa.JSON, nullable=False),
        sa.Column("paused", sa.Boolean, nullable=False),
        sa.Column("retry_after", UTCDateTime),
    )
