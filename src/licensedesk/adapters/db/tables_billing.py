"""Tables of issue 4 (settlement): customers' credit balances and bank deposits.

Columns added to the core ``customers`` (``name_kana``) and ``documents`` (``replaces``,
``dunning_on``) tables live in ``tables.py``; the migration is ``0100_billing``.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, Date, ForeignKey, Index, Integer, String, Table, Text

from .tables import UtcDateTime, metadata

customer_credits = Table(
    "customer_credits", metadata,
    Column("id", Integer, primary_key=True),
    Column("customer_ref", String(64), ForeignKey("customers.ref"), nullable=False, index=True),
    Column("amount", BigInteger, nullable=False),  # + credit given, − credit used or refunded
    Column("kind", String(32), nullable=False),  # overpayment, credit_note, applied, refund, credit_note_void, deposit
    Column("document_number", String(32)),
    Column("deposit_id", Integer, ForeignKey("bank_deposits.id")),
    Column("at", UtcDateTime, nullable=False),
    Column("reference", String(200)),
)

bank_deposits = Table(
    "bank_deposits", metadata,
    Column("id", Integer, primary_key=True),
    Column("import_key", String(300), nullable=False, unique=True),  # the same row imported twice is one deposit
    Column("deposit_date", Date, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("payer_kana", String(200), nullable=False),
    Column("status", String(16), nullable=False),
    Column("reason", String(32)),  # why it waits in the queue
    Column("customer_ref", String(64), ForeignKey("customers.ref")),
    Column("documents", JSON, nullable=False),  # invoice numbers it settled
    Column("imported_at", UtcDateTime, nullable=False),
    Column("resolved_at", UtcDateTime),
    Column("note", Text),
    Index("ix_bank_deposits_status", "status"),
)
