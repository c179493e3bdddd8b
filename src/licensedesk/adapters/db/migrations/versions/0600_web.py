"""web console and portal (issue 7): server-side sessions, failed logins for throttling

An independent branch after 0002 that needs 0400_api (sessions belong to api_users).

Revision ID: 0600_web
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from licensedesk.adapters.db.tables import UtcDateTime

revision = "0600_web"
down_revision = "0002"
branch_labels = None
depends_on = "0400_api"


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["api_users.id"], name=op.f("fk_web_sessions_user_id_api_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_web_sessions_token_hash")),
    )
    op.create_index(op.f("ix_web_sessions_user_id"), "web_sessions", ["user_id"], unique=False)
    op.create_table(
        "web_login_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("client_ip", sa.String(length=64), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_login_attempts")),
    )
    op.create_index("ix_web_login_attempts_name_at", "web_login_attempts", ["name", "at"], unique=False)
    op.create_index("ix_web_login_attempts_client_ip_at", "web_login_attempts", ["client_ip", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_web_login_attempts_client_ip_at", table_name="web_login_attempts")
    op.drop_index("ix_web_login_attempts_name_at", table_name="web_login_attempts")
    op.drop_table("web_login_attempts")
    op.drop_index(op.f("ix_web_sessions_user_id"), table_name="web_sessions")
    op.drop_table("web_sessions")
