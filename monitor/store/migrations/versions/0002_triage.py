"""Telegram triage: decisions (the editor's labels), the card outbox, posted cards, prompts.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from monitor.store.schema import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _item_ref() -> sa.ForeignKey:
    return sa.ForeignKey("items.id", ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("item_id", sa.Integer, _item_ref(), nullable=False, index=True),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("user_name", sa.String(128), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("status_from", sa.String(16), nullable=False),
        sa.Column("status_to", sa.String(16), nullable=False),
        sa.Column("bucket_from", sa.String(40)),
        sa.Column("bucket_to", sa.String(40)),
        sa.Column("comment_from", sa.Text),
        sa.Column("comment", sa.Text),
        sa.Column("undone", sa.Boolean, nullable=False),
        sa.UniqueConstraint("item_id", "seq", name="uq_decisions_item_seq"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("item_id", sa.Integer, _item_ref(), nullable=False),
        sa.Column("chat_id", sa.BigInteger, nullable=False),
        sa.Column("state", sa.String(16), nullable=False, index=True),
        sa.Column("message_id", sa.BigInteger),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("posted_at", UTCDateTime),
        sa.UniqueConstraint("item_id", "chat_id", name="uq_outbox_item_chat"),
    )
    op.create_table(
        "cards",
        sa.Column("chat_id", sa.BigInteger, primary_key=True),
        sa.Column("message_id", sa.BigInteger, primary_key=True),
        sa.Column("item_id", sa.Integer, _item_ref(), nullable=False, index=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("posted_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "comment_prompts",
        sa.Column("chat_id", sa.BigInteger, primary_key=True),
        sa.Column("user_id", sa.BigInteger, primary_key=True),
        sa.Column("item_id", sa.Integer, _item_ref(), nullable=False),
        sa.Column("since", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    for table in ("comment_prompts", "cards", "outbox", "decisions"):
        op.drop_table(table)
