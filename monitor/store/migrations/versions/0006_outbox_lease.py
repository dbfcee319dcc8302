"""A lease on claimed cards: `claimed_at` says when an outbox row went `sending`, so a row whose
sender died mid-send (or whose send raised something the worker did not expect) is taken back
once the lease expires, while the daemon runs, instead of only at the next start.

Rows already `sending` when this runs get no claim time; the store treats them as expired.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

from monitor.store.schema import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("claimed_at", UTCDateTime))
