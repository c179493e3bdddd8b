"""Tables of issue 8 (delivery): the outbox of messages decided in a business transaction.

A row is written in the same transaction as the notice that decided it and delivered after commit
by ``services/outbox.deliver_due``; the migration is ``0500_outbox``.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, String, Table, Text

from .tables import UtcDateTime, metadata

outbox_messages = Table(
    "outbox_messages", metadata,
    Column("id", Integer, primary_key=True),
    Column("notice_id", Integer, ForeignKey("notices.id"), unique=True),  # one message per notice
    Column("kind", String(64), nullable=False),
    Column("customer_ref", String(64), nullable=False),
    Column("recipient", String(254)),  # None: no billing/primary contact yet (status failed)
    Column("payload", JSON, nullable=False),
    Column("status", String(16), nullable=False),  # pending, sent, failed
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("last_error", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime),
    Column("message_id", String(200)),
    Index("ix_outbox_messages_due", "status", "next_attempt_at"),
)
