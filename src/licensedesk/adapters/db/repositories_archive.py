"""The archive's rows (insert-only) and its queue, over SQLAlchemy Core."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, literal, or_, select, text, update

from licensedesk.services.ports_archive import ArchiveQuery

from . import bulk, later
from . import tables as t
from .tables_archive import archive_queue as aq
from .tables_archive import archived_documents as ad

CHAIN_LOCK = 0x4C44_4152  # "LDAR": serialises appends to the hash chain on PostgreSQL
_QUEUE_ONE = ("INSERT INTO archive_queue (document_number, queued_at, attempts) "
              "VALUES (%(number)s, %(at)s, 0)")  # PostgreSQL, bound in the text (``later.bind``)


class ArchiveRepository:
    def __init__(self, conn: Connection, *, enabled: bool = True) -> None:
        self.conn = conn
        self.enabled = enabled  # a what-if simulation issues nothing for real: nothing to archive

    def enqueue(self, number: str, at: datetime) -> None:
        self.enqueue_all([number], at)

    def enqueue_all(self, numbers: Sequence[str], at: datetime) -> None:
        if not (self.enabled and numbers):
            return
        if len(numbers) == 1 and bulk.is_postgres(self.conn):  # an order's invoice: sent with COMMIT (D-WRITE-BEHIND)
            later.defer(self.conn, later.bind(self.conn, _QUEUE_ONE, {"number": numbers[0], "at": at}))
            return
        bulk.insert_rows(self.conn, aq, [{"document_number": n, "queued_at": at, "attempts": 0} for n in numbers])

    def enqueue_missing(self, at: datetime) -> int:
        """Queue every document that is neither archived nor queued (e.g. issued before the archive existed)."""
        missing = (select(t.documents.c.number, literal(at, ad.c.archived_at.type), literal(0))
                   .where(~select(ad.c.id).where(ad.c.document_number == t.documents.c.number).exists(),
                          ~select(aq.c.id).where(aq.c.document_number == t.documents.c.number).exists())
                   .order_by(t.documents.c.id))
        result = self.conn.execute(insert(aq).from_select(["document_number", "queued_at", "attempts"], missing))
        return max(result.rowcount or 0, 0)

    def claim(self, skip: set[str]) -> str | None:
        """The oldest queued document not in ``skip``, locked for this transaction (PostgreSQL: SKIP LOCKED)."""
        q = select(aq.c.document_number).order_by(aq.c.id).limit(1).with_for_update(skip_locked=True)
        if skip:
            q = q.where(aq.c.document_number.not_in(sorted(skip)))
        return self.conn.execute(q).scalar()

    def dequeue(self, number: str) -> None:
        self.conn.execute(delete(aq).where(aq.c.document_number == number))

    def attempt_failed(self, number: str, error: str) -> None:
        self.conn.execute(update(aq).where(aq.c.document_number == number)
                          .values(attempts=aq.c.attempts + 1, last_error=error[:2000]))

    def queue(self) -> list[dict[str, Any]]:
        return [dict(r._mapping) for r in self.conn.execute(select(aq).order_by(aq.c.id))]

    def lock_chain(self) -> None:
        if self.conn.dialect.name == "postgresql":
            self.conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": CHAIN_LOCK})

    def last_chain(self) -> str | None:
        return self.conn.execute(select(ad.c.chain_sha256).order_by(ad.c.id.desc()).limit(1)).scalar()

    def get(self, number: str) -> dict[str, Any] | None:
        row = self.conn.execute(select(ad).where(ad.c.document_number == number)).first()
        return dict(row._mapping) if row else None

    def add(self, record: dict[str, Any]) -> None:
        self.conn.execute(insert(ad).values(**record))

    def search(self, query: ArchiveQuery) -> list[dict[str, Any]]:
        q = select(ad).order_by(ad.c.issue_date, ad.c.id)
        if query.first is not None:
            q = q.where(ad.c.issue_date >= query.first)
        if query.last is not None:
            q = q.where(ad.c.issue_date <= query.last)
        if query.min_amount is not None:
            q = q.where(ad.c.amount >= query.min_amount)
        if query.max_amount is not None:
            q = q.where(ad.c.amount <= query.max_amount)
        if query.counterparty:
            q = q.where(or_(ad.c.counterparty.contains(query.counterparty, autoescape=True),
                            ad.c.customer_ref == query.counterparty))
        return [dict(r._mapping) for r in self.conn.execute(q)]

    def all(self) -> list[dict[str, Any]]:
        return [dict(r._mapping) for r in self.conn.execute(select(ad).order_by(ad.c.id))]

    def unarchived(self) -> list[dict[str, Any]]:
        """Issued documents with no archive row, with their queue entry if any (attempts, last error)."""
        q = (select(t.documents.c.number, t.documents.c.kind, t.documents.c.customer_ref, t.documents.c.issue_date,
                    t.documents.c.issued_at, aq.c.attempts, aq.c.last_error, aq.c.queued_at)
             .outerjoin(aq, aq.c.document_number == t.documents.c.number)
             .where(~select(ad.c.id).where(ad.c.document_number == t.documents.c.number).exists())
             .order_by(t.documents.c.id))
        return [dict(r._mapping) for r in self.conn.execute(q)]
