"""Issuing documents from charge lines, exactly once, and recording payments."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from licensedesk.domain.billing import DocumentDraft, DocumentKind, DocumentStatus, draft_document
from licensedesk.domain.dunning import first_dunning
from licensedesk.domain.errors import InvalidInput, NotFound
from licensedesk.domain.policy import Policy
from licensedesk.domain.settlement import split_payment
from licensedesk.domain.subscription import ChargeLine, Notice

from .ports import UnitOfWork

SERIES_PREFIX = {DocumentKind.INVOICE: "INV", DocumentKind.CREDIT_NOTE: "CN"}


def issue(uow: UnitOfWork, customer: str, day: date, lines: Sequence[ChargeLine], policy: Policy,
          now: datetime, due: date | None = None) -> str | None:
    """Issue one document over ``lines`` not billed before; returns its number (None if nothing is left).

    A line whose (subscription, key) was already billed is dropped: re-runs and retries never bill twice,
    and the database's unique constraint backs this up under concurrency.
    """
    fresh = [line for line in lines if not uow.documents.charged(line.subscription, line.key)]
    if not fresh:
        return None
    draft = draft_document(customer, day, fresh, policy, due)
    prefix = SERIES_PREFIX[draft.kind]
    series = f"{prefix}-{day.year}"
    number = f"{series}-{uow.documents.next_number(series):06d}"
    uow.documents.add(draft, number, now)
    uow.archive.enqueue(number, now)  # 電子帳簿保存法: archived after commit by services.archive.run
    after_issue(uow, draft, number, policy, now)
    kind = "invoice_issued" if draft.kind is DocumentKind.INVOICE else "credit_note_issued"
    uow.notices.add(Notice(kind, number, day, "ORD-FLOW", {"total": draft.total}), customer, now)
    return number


def after_issue(uow: UnitOfWork, draft: DocumentDraft, number: str, policy: Policy, now: datetime) -> None:
    """An invoice gets its first dunning date; a credit note's amount goes to the customer's credit balance,
    and from there first to what is open on the invoices it returns part of (D-CN-ALLOCATE)."""
    if draft.kind is DocumentKind.CREDIT_NOTE:
        from .credit_notes import settle_on_issue  # credit_notes builds on this module

        uow.billing.add_credit(draft.customer, -draft.total, "credit_note", now, document=number)
        settle_on_issue(uow, number, now)
    elif draft.total > 0:
        days = policy.reminders.payment_days_before_due
        uow.billing.set_dunning(number, first_dunning(draft.issue_date, draft.due_date, days))


def record_payment(uow: UnitOfWork, number: str, amount: int | None, now: datetime,
                   reference: str | None = None, received: datetime | None = None) -> dict[str, Any]:
    """Apply a payment to an invoice (``amount`` defaults to what is open); any excess becomes credit.

    The invoice is ``paid`` only when nothing is open. An over-payment is recorded on the customer's
    credit balance (D-OVERPAY-CREDIT); the result's ``credited`` says how much. ``received`` is when
    the money arrived (a bank deposit's date; default ``now``).
    """
    received = received or now
    doc = uow.billing.lock_document(number)
    if doc is None:
        raise NotFound(f"no document {number}", f"書類 {number} はありません", number=number)
    if doc["kind"] != DocumentKind.INVOICE.value:
        raise InvalidInput(f"{number} is a credit note, not an invoice", f"{number} は返還請求書です",
                           code="PAYMENT-NOT-INVOICE", number=number)
    if doc["status"] == DocumentStatus.VOID.value:
        raise InvalidInput(f"invoice {number} is void", f"請求書 {number} は無効です", code="PAYMENT-VOID",
                           number=number)
    open_amount = doc["total"] - doc["paid_amount"]
    applied, over = split_payment(open_amount, open_amount if amount is None else amount)
    result = uow.documents.add_payment(number, applied, received, reference) if applied else dict(doc)
    if over:
        uow.billing.add_credit(doc["customer_ref"], over, "overpayment", received, document=number,
                               reference=reference)
    if result["status"] == DocumentStatus.PAID.value:
        uow.billing.set_dunning(number, None)
    return {**result, "applied": applied, "credited": over}
