"""Issuing documents from charge lines, exactly once, and recording payments."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from licensedesk.domain.billing import DocumentKind, draft_document
from licensedesk.domain.errors import InvalidInput, NotFound
from licensedesk.domain.policy import Policy
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
    kind = "invoice_issued" if draft.kind is DocumentKind.INVOICE else "credit_note_issued"
    uow.notices.add(Notice(kind, number, day, "ORD-FLOW", {"total": draft.total}), customer, now)
    return number


def record_payment(uow: UnitOfWork, number: str, amount: int | None, now: datetime,
                   reference: str | None = None) -> dict[str, Any]:
    doc = uow.documents.get(number)
    if doc is None:
        raise NotFound(f"no document {number}", f"書類 {number} はありません", number=number)
    if doc["kind"] != DocumentKind.INVOICE.value:
        raise InvalidInput(f"{number} is a credit note, not an invoice", f"{number} は返還請求書です",
                           code="PAYMENT-NOT-INVOICE", number=number)
    if doc["status"] == "void":
        raise InvalidInput(f"invoice {number} is void", f"請求書 {number} は無効です", code="PAYMENT-VOID",
                           number=number)
    pay = doc["total"] - doc["paid_amount"] if amount is None else amount
    if pay <= 0:
        raise InvalidInput(f"payment amount must be positive (got {pay})", f"入金額は正の数です（{pay}）",
                           code="PAYMENT-AMOUNT", amount=pay)
    return uow.documents.add_payment(number, pay, now, reference)
