"""billing frequency change: cycle anchor and the pending change

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cycle_anchor", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("pending_billing", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("pending_billing_from", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.drop_column("pending_billing_from")
        batch_op.drop_column("pending_billing")
        batch_op.drop_column("cycle_anchor")
