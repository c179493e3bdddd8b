"""電子帳簿保存法 archive of issued documents and its queue (issue 4)

Revision ID: 0800_archive
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from licensedesk.adapters.db.tables import UtcDateTime

revision = "0800_archive"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "archived_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_number", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("customer_ref", sa.String(length=64), nullable=False),
        sa.Column("counterparty", sa.String(length=200), nullable=False),
        sa.Column("issue_date", sa.Date(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("pdf_path", sa.String(length=300), nullable=False),
        sa.Column("pdf_sha256", sa.String(length=64), nullable=False),
        sa.Column("data_path", sa.String(length=300), nullable=False),
        sa.Column("data_sha256", sa.String(length=64), nullable=False),
        sa.Column("prev_chain", sa.String(length=64), nullable=False),
        sa.Column("chain_sha256", sa.String(length=64), nullable=False),
        sa.Column("retain_until", sa.Date(), nullable=False),
        sa.Column("archived_at", UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_archived_documents")),
        sa.UniqueConstraint("document_number", name=op.f("uq_archived_documents_document_number")),
        sa.UniqueConstraint("prev_chain", name="uq_archived_documents_prev_chain"),
    )
    op.create_index("ix_archived_documents_issue_date", "archived_documents", ["issue_date"], unique=False)
    op.create_index("ix_archived_documents_amount", "archived_documents", ["amount"], unique=False)
    op.create_index("ix_archived_documents_counterparty", "archived_documents", ["counterparty"], unique=False)
    op.create_table(
        "archive_queue",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_number", sa.String(length=32), nullable=False),
        sa.Column("queued_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_archive_queue")),
        sa.UniqueConstraint("document_number", name=op.f("uq_archive_queue_document_number")),
    )


def downgrade() -> None:
    op.drop_table("archive_queue")
    op.drop_index("ix_archived_documents_counterparty", table_name="archived_documents")
    op.drop_index("ix_archived_documents_amount", table_name="archived_documents")
    op.drop_index("ix_archived_documents_issue_date", table_name="archived_documents")
    op.drop_table("archived_documents")
