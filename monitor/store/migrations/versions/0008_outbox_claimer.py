"""Who claimed a card: `claimed_by` on an outbox row names the daemon process sending it (the
process id of the leases), so a daemon restarted on the same host takes back at once the claims
its dead predecessor left, instead of waiting out their lease; another host's claims, or a live
process's, still hold until the lease expires.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(128)))
