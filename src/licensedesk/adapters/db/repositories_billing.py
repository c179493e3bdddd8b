"""Settlement over SQLAlchemy Core: voids, re-issues, dunning dates, credit balances, deposits, exports."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, insert, select, update

from licensedesk.domain.billing import DocumentKind, DocumentStatus
from licensedesk.domain.settlement import Deposit, DepositStatus

from . import tables as t
from . import tables_billing as tb

VOID_KEY_MARK = "~void:"


def _row(row: Any) -> dict[str, Any]:
    return dict(row._mapping)


class BillingRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # ------------------------------------------------------------ documents
    def lock_document(self, number: str) -> dict[str, Any] | None:
        """The document row (no lines), locked until the transaction ends."""
        row = self.conn.execute(select(t.documents).where(t.documents.c.number == number).with_for_update()).first()
        return _row(row) if row else None

    def void(self, number: str, at: datetime, reason: str) -> None:
        self.conn.execute(update(t.documents).where(t.documents.c.number == number).values(
            status=DocumentStatus.VOID.value, voided_at=at, void_reason=reason, dunning_on=None))

    def release_charge_keys(self, number: str) -> None:
        """Move a void document's charges out of the way of its re-issue (keys stay unique, exactly once)."""
        doc_id = select(t.documents.c.id).where(t.documents.c.number == number).scalar_subquery()
        self.conn.execute(update(t.document_lines).where(t.document_lines.c.document_id == doc_id).values(
            charge_key=t.document_lines.c.charge_key + f"{VOID_KEY_MARK}{number}"))

    def set_replaces(self, number: str, replaces: str) -> None:
        self.conn.execute(update(t.documents).where(t.documents.c.number == number).values(replaces=replaces))

    def replacement_of(self, number: str) -> str | None:
        return self.conn.execute(select(t.documents.c.number).where(t.documents.c.replaces == number)).scalar()

    # The dunning pass's statements, built once: it runs on every day with work, for every new document
    _SET_DUNNING = (update(t.documents).where(t.documents.c.number == bindparam("document"))
                    .values(dunning_on=bindparam("on")))
    _NEXT_DUNNING_DAY = select(func.min(t.documents.c.dunning_on))
    _DUNNING_DUE = (select(t.documents).where(t.documents.c.dunning_on <= bindparam("day"))
                    .order_by(t.documents.c.dunning_on, t.documents.c.id))

    def set_dunning(self, number: str, on: date | None) -> None:
        self.conn.execute(self._SET_DUNNING, {"document": number, "on": on})

    def next_dunning_day(self) -> date | None:
        value = self.conn.execute(self._NEXT_DUNNING_DAY).scalar()
        return value if value is None or isinstance(value, date) else date.fromisoformat(str(value))

    def dunning_due(self, day: date) -> list[dict[str, Any]]:
        """Documents whose next reminder falls on or before ``day`` (index on ``dunning_on``)."""
        return [_row(r) for r in self.conn.execute(self._DUNNING_DUE, {"day": day})]

    def open_invoices(self, customer: str | None = None) -> list[dict[str, Any]]:
        """Issued invoices with something still to pay, oldest due first."""
        q = select(t.documents).where(t.documents.c.kind == DocumentKind.INVOICE.value,
                                      t.documents.c.status == DocumentStatus.ISSUED.value,
                                      t.documents.c.paid_amount < t.documents.c.total)
        if customer is not None:
            q = q.where(t.documents.c.customer_ref == customer)
        return [_row(r) for r in self.conn.execute(q.order_by(t.documents.c.due_date, t.documents.c.id))]

    def documents_of(self, customer: str) -> list[dict[str, Any]]:
        q = select(t.documents).where(t.documents.c.customer_ref == customer).order_by(t.documents.c.id)
        return [_row(r) for r in self.conn.execute(q)]

    def payments_of(self, number: str) -> list[dict[str, Any]]:
        q = (select(t.payments).join(t.documents, t.documents.c.id == t.payments.c.document_id)
             .where(t.documents.c.number == number).order_by(t.payments.c.id))
        return [_row(r) for r in self.conn.execute(q)]

    # ------------------------------------------------------------ credit balances
    def add_credit(self, customer: str, amount: int, kind: str, at: datetime, *,
                   document: str | None = None, deposit: int | None = None, reference: str | None = None) -> None:
        self.conn.execute(insert(tb.customer_credits).values(
            customer_ref=customer, amount=amount, kind=kind, document_number=document, deposit_id=deposit,
            at=at, reference=reference))

    def lock_account(self, customer: str) -> None:
        """Serialise changes to one customer's credit balance (its customer row, FOR UPDATE)."""
        self.conn.execute(select(t.customers.c.id).where(t.customers.c.ref == customer).with_for_update())

    def credit_balance(self, customer: str) -> int:
        value = self.conn.execute(select(func.coalesce(func.sum(tb.customer_credits.c.amount), 0))
                                  .where(tb.customer_credits.c.customer_ref == customer)).scalar_one()
        return int(value)

    def credit_balances(self) -> dict[str, int]:
        rows = self.conn.execute(select(tb.customer_credits.c.customer_ref, func.sum(tb.customer_credits.c.amount))
                                 .group_by(tb.customer_credits.c.customer_ref)
                                 .order_by(tb.customer_credits.c.customer_ref))
        return {r[0]: int(r[1]) for r in rows}

    def credits(self, customer: str | None = None) -> list[dict[str, Any]]:
        q = select(tb.customer_credits).order_by(tb.customer_credits.c.id)
        if customer is not None:
            q = q.where(tb.customer_credits.c.customer_ref == customer)
        return [_row(r) for r in self.conn.execute(q)]

    # ------------------------------------------------------------ bank deposits
    def add_deposit(self, deposit: Deposit, at: datetime) -> int | None:
        """Record a deposit once; None when this row was imported before."""
        seen = self.conn.execute(select(tb.bank_deposits.c.id)
                                 .where(tb.bank_deposits.c.import_key == deposit.key)).first()
        if seen:
            return None
        result = self.conn.execute(insert(tb.bank_deposits).values(
            import_key=deposit.key, deposit_date=deposit.on, amount=deposit.amount, payer_kana=deposit.payer_kana,
            status=DepositStatus.UNMATCHED.value, documents=[], imported_at=at))
        return int(result.inserted_primary_key[0]) if result.inserted_primary_key else None

    def deposit(self, deposit_id: int) -> dict[str, Any] | None:
        row = self.conn.execute(select(tb.bank_deposits).where(tb.bank_deposits.c.id == deposit_id)
                                .with_for_update()).first()
        return _row(row) if row else None

    def deposits(self, status: str | None = None) -> list[dict[str, Any]]:
        q = select(tb.bank_deposits).order_by(tb.bank_deposits.c.id)
        if status is not None:
            q = q.where(tb.bank_deposits.c.status == status)
        return [_row(r) for r in self.conn.execute(q)]

    def resolve_deposit(self, deposit_id: int, status: DepositStatus, at: datetime | None, *,
                        customer: str | None = None, documents: list[str] | None = None, reason: str | None = None,
                        note: str | None = None) -> None:
        self.conn.execute(update(tb.bank_deposits).where(tb.bank_deposits.c.id == deposit_id).values(
            status=status.value, customer_ref=customer, documents=documents or [], reason=reason, resolved_at=at,
            note=note))

    def set_name_kana(self, customer: str, name_kana: str | None) -> None:
        self.conn.execute(update(t.customers).where(t.customers.c.ref == customer).values(name_kana=name_kana))

    def customer_kana(self) -> dict[str, str]:
        rows = self.conn.execute(select(t.customers.c.ref, t.customers.c.name_kana)
                                 .where(t.customers.c.name_kana.is_not(None)))
        return {r[0]: r[1] for r in rows}

    # ------------------------------------------------------------ accounting export
    def issued_between(self, first: date, last: date) -> list[dict[str, Any]]:
        q = select(t.documents).where(t.documents.c.issue_date.between(first, last)).order_by(t.documents.c.id)
        return [_row(r) for r in self.conn.execute(q)]

    def voided_between(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        q = select(t.documents).where(and_(t.documents.c.voided_at >= start, t.documents.c.voided_at < end))
        return [_row(r) for r in self.conn.execute(q.order_by(t.documents.c.voided_at, t.documents.c.id))]

    def payments_between(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        q = (select(t.payments, t.documents.c.number, t.documents.c.customer_ref)
             .join(t.documents, t.documents.c.id == t.payments.c.document_id)
             .where(t.payments.c.received_at >= start, t.payments.c.received_at < end)
             .order_by(t.payments.c.received_at, t.payments.c.id))
        return [_row(r) for r in self.conn.execute(q)]

    def credits_between(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        q = (select(tb.customer_credits).where(tb.customer_credits.c.at >= start, tb.customer_credits.c.at < end)
             .order_by(tb.customer_credits.c.at, tb.customer_credits.c.id))
        return [_row(r) for r in self.conn.execute(q)]
