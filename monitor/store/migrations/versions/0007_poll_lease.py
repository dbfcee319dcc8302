"""Leases on polls: `poll_owner` and `poll_until` on a source's health row say which daemon
process polls the source and until when nobody else may, so several `monitor run` processes on
one database poll each source once. The same two columns on a row named like
`telegram-updates` (not a source id) elect the one process that asks Telegram for updates.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

from monitor.store.schema import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("source_health") as batch:
        batch.add_column(sa.Column("poll_owner", sa.String(128)))
        batch.add_column(sa.Column("poll_until", UTCDateTime))
