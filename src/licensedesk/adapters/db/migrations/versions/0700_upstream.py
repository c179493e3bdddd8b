"""upstream link: provisioning jobs, upstream IDs, per-customer mail language (issue 8)

Revision ID: 0700_upstream
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from licensedesk.adapters.db.tables import UtcDateTime

revision = "0700_upstream"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "upstream_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscription_ref", sa.String(length=64), nullable=False),
        sa.Column("customer_ref", sa.String(length=64), nullable=False),
        sa.Column("tenant_ref", sa.String(length=64), nullable=False),
        sa.Column("activate", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sla_due", sa.Date(), nullable=True),
        sa.Column("upstream_customer_id", sa.String(length=64), nullable=True),
        sa.Column("cart_id", sa.String(length=64), nullable=True),
        sa.Column("order_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("done_at", UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_upstream_jobs")),
        sa.UniqueConstraint("subscription_ref", name=op.f("uq_upstream_jobs_subscription_ref")),
    )
    op.create_index("ix_upstream_jobs_due", "upstream_jobs", ["status", "next_attempt_at"], unique=False)
    op.create_table(
        "upstream_customers",
        sa.Column("tenant_ref", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("login_id", sa.String(length=254), nullable=True),
        sa.Column("temporary_password", sa.String(length=200), nullable=True),
        sa.Column("linked_at", UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_ref", name=op.f("pk_upstream_customers")),
        sa.UniqueConstraint("customer_id", name=op.f("uq_upstream_customers_customer_id")),
    )
    op.create_table(
        "upstream_subscriptions",
        sa.Column("subscription_ref", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("subscription_id", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("linked_at", UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("subscription_ref", name=op.f("pk_upstream_subscriptions")),
        sa.UniqueConstraint("subscription_id", name=op.f("uq_upstream_subscriptions_subscription_id")),
    )
    op.create_table(
        "customer_preferences",
        sa.Column("customer_ref", sa.String(length=64), nullable=False),
        sa.Column("mail_language", sa.String(length=8), nullable=False),
        sa.Column("updated_at", UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("customer_ref", name=op.f("pk_customer_preferences")),
    )


def downgrade() -> None:
    op.drop_table("customer_preferences")
    op.drop_table("upstream_subscriptions")
    op.drop_table("upstream_customers")
    op.drop_index("ix_upstream_jobs_due", table_name="upstream_jobs")
    op.drop_table("upstream_jobs")
