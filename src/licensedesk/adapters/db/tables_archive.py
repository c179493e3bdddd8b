"""Tables of the 電子帳簿保存法 archive (issue #4): issued documents kept immutably, and the queue that archives them.

``archived_documents`` holds one row per issued invoice or credit note: the search keys the law asks
for (取引年月日 = ``issue_date``, 取引金額 = ``amount``, 取引先 = ``counterparty``), where its PDF and
structured data lie in the archive directory, their SHA-256, and a hash chain over all rows so that
editing or deleting a row is detectable (D-ARCHIVE-*). Rows are only ever inserted.
``archive_queue`` gets a row in the transaction that issues a document; a job archives and deletes it.
The migration is ``0800_archive``.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Date, Index, Integer, String, Table, Text, UniqueConstraint

from .tables import UtcDateTime, metadata

archived_documents = Table(
    "archived_documents", metadata,
    Column("id", Integer, primary_key=True),
    Column("document_number", String(32), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),  # invoice, credit_note
    Column("customer_ref", String(64), nullable=False),
    Column("counterparty", String(200), nullable=False),  # 取引先: the customer's name as on the document
    Column("issue_date", Date, nullable=False),  # 取引年月日
    Column("amount", BigInteger, nullable=False),  # 取引金額: tax-inclusive total as printed (credit notes: positive)
    Column("pdf_path", String(300), nullable=False),  # relative to the archive directory
    Column("pdf_sha256", String(64), nullable=False),
    Column("data_path", String(300), nullable=False),  # the document as canonical JSON
    Column("data_sha256", String(64), nullable=False),
    Column("prev_chain", String(64), nullable=False),  # unique: two appends can never fork the chain
    Column("chain_sha256", String(64), nullable=False),  # sha256(prev_chain + this row's facts and hashes)
    Column("retain_until", Date, nullable=False),
    Column("archived_at", UtcDateTime, nullable=False),
    Index("ix_archived_documents_issue_date", "issue_date"),
    Index("ix_archived_documents_amount", "amount"),
    Index("ix_archived_documents_counterparty", "counterparty"),
    UniqueConstraint("prev_chain", name="uq_archived_documents_prev_chain"),
)

archive_queue = Table(
    "archive_queue", metadata,
    Column("id", Integer, primary_key=True),
    Column("document_number", String(32), nullable=False, unique=True),
    Column("queued_at", UtcDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
)
