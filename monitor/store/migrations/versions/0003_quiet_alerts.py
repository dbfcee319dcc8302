"""Remember that a source's "went quiet" alert was sent, so it is sent once per quiet spell.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("source_health") as batch:
        batch.add_column(sa.Column("quiet_alerted", sa.Boolean, nullable=False,
                                   server_default=sa.false()))
