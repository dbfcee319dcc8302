"""Items known only to the day, and backlog items that are stored but never posted.

`date_only`: the source printed a date without a time (MFA listings); such an item is stored at
12:00 UTC of that day, so its calendar day (and week) is the source's own in any zone within
eleven hours of UTC, and cards print the date alone. `held`: published more than
MONITOR_MAX_AGE before its source's first poll, so the first poll does not post years of
backlog; it is still stored, searchable and exported.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.add_column(sa.Column("date_only", sa.Boolean, nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("held", sa.Boolean, nullable=False,
                                   server_default=sa.false()))
