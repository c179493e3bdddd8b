"""Issuing documents from charge lines, exactly once, and recording payments."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime
from typing import Any, NamedTuple

from licensedesk.domain.billing import (
    DocumentDraft,
    DocumentKind,
    DocumentStatus,
    document_number,
    draft_document,
    series_of,
)
from licensedesk.domain.dunning import first_dunning
from licensedesk.domain.errors import InvalidInput
from licensedesk.domain.policy import Policy
from licensedesk.domain.settlement import split_payment
from licensedesk.domain.subscription import ChargeLine, Notice

from . import lookups
from .ports import IssuedNotice, UnitOfWork


class Wanted(NamedTuple):
    """A document asked for: these lines of a customer, under a policy (due date: the policy's unless given)."""
    customer: str
    lines: Sequence[ChargeLine]
    policy: Policy
    due: date | None = None


def issue(uow: UnitOfWork, customer: str, day: date, lines: Sequence[ChargeLine], policy: Policy,
          now: datetime, due: date | None = None) -> str | None:
    """Issue one document over ``lines`` not billed before; returns its number (None if nothing is left)."""
    issued = issue_all(uow, day, now, [Wanted(customer, lines, policy, due)])
    uow.notices.add_issued([(notice, customer) for customer, _, notice in issued], now)
    return issued[0].number if issued else None


class Issued(NamedTuple):
    customer: str
    number: str
    notice: Notice  # invoice_issued / credit_note_issued, for the caller to record


def issue_all(uow: UnitOfWork, day: date, now: datetime, wanted: Sequence[Wanted],
              new_subscriptions: Collection[str] = (), *, numbers_read: bool = True) -> list[Issued]:
    """Issue the documents ``wanted`` on ``day``, numbered in that order; the ones issued.

    A line whose (subscription, key) was already billed is dropped (one query for all): re-runs and
    retries never bill twice, and the database's unique constraint backs this up under concurrency.
    The lines of ``new_subscriptions`` (created in this transaction, their refs found free: DUPLICATE-REF)
    are not looked up, as no document can bill them yet (D-ORDER-NEW-UNBILLED).
    A document left without lines is not issued and takes no number. The caller records the notices.

    ``numbers_read=False``: the caller does not read the numbers, so one invoice may be numbered as the transaction
    commits, its notice recorded with it (``UnitOfWork.issue_at_commit``, D-ORDER-NUMBER-AT-COMMIT); then nothing is
    returned and there is no notice left to record.
    """
    billed = uow.documents.charged_among([(line.subscription, line.key) for w in wanted for line in w.lines
                                          if line.subscription not in new_subscriptions])
    drafts = []
    for w in wanted:
        fresh = [line for line in w.lines if (line.subscription, line.key) not in billed]
        if fresh:
            drafts.append((draft_document(w.customer, day, fresh, w.policy, w.due), w.policy))
    uow.notices.expect([draft.customer for draft, _ in drafts])  # what the notices need, before the lock
    # The counter stays locked from the numbers to commit: the documents' rows are built before they are taken.
    if len(drafts) == 1:  # an order's or a change's one document: numbered as it is written (D-DOC-NUMBERED-CTE)
        ((draft, policy),) = drafts
        dunning_on, series = first_dunning_on(draft, policy), series_of(draft.kind, day)
        if (not numbers_read and draft.kind is DocumentKind.INVOICE  # a credit note's number is read: after_issue
                and uow.issue_at_commit(draft, dunning_on, now, series, _notice_of(draft, day))):
            return []
        numbers = [uow.documents.add_one(draft, dunning_on, now, series)]
    else:
        numbers = uow.documents.add_all([(draft, first_dunning_on(draft, policy)) for draft, policy in drafts], now,
                                        lambda: _numbers(uow, day, [draft for draft, _ in drafts]))
    uow.archive.enqueue_all(numbers, now)  # 電子帳簿保存法: archived after commit by services.archive.run
    issued = []
    for (draft, _), number in zip(drafts, numbers, strict=True):
        after_issue(uow, draft, number, now)
        kind, on, rule, details = _notice_of(draft, day)
        issued.append(Issued(draft.customer, number, Notice(kind, number, on, rule, details)))
    return issued


def _notice_of(draft: DocumentDraft, day: date) -> IssuedNotice:
    """The notice of ``draft`` issued on ``day`` (its subject: the document's number)."""
    kind = "invoice_issued" if draft.kind is DocumentKind.INVOICE else "credit_note_issued"
    return IssuedNotice(kind, day, "ORD-FLOW", {"total": draft.total})


def _numbers(uow: UnitOfWork, day: date, drafts: Sequence[DocumentDraft]) -> list[str]:
    """Gapless numbers for ``drafts`` in order: one counter update per series, series locked in name order."""
    series = [series_of(draft.kind, day) for draft in drafts]
    following = {s: uow.documents.take_numbers(s, series.count(s)) for s in sorted(set(series))}
    numbers = []
    for s in series:
        numbers.append(document_number(s, following[s]))
        following[s] += 1
    return numbers


def first_dunning_on(draft: DocumentDraft, policy: Policy) -> date | None:
    """An invoice's first payment reminder (D-DUNNING); none for a credit note or an invoice of zero."""
    if draft.kind is DocumentKind.INVOICE and draft.total > 0:
        return first_dunning(draft.issue_date, draft.due_date, policy.reminders.payment_days_before_due)
    return None


def after_issue(uow: UnitOfWork, draft: DocumentDraft, number: str, now: datetime) -> None:
    """A credit note's amount goes to the customer's credit balance, and from there first to what is open on the
    invoices it returns part of (D-CN-ALLOCATE). An invoice's dunning date is set on insert."""
    if draft.kind is DocumentKind.CREDIT_NOTE:
        from .credit_notes import settle_on_issue  # credit_notes builds on this module

        uow.billing.add_credit(draft.customer, -draft.total, "credit_note", now, document=number)
        settle_on_issue(uow, number, now)


def record_payment(uow: UnitOfWork, number: str, amount: int | None, now: datetime,
                   reference: str | None = None, received: datetime | None = None) -> dict[str, Any]:
    """Apply a payment to an invoice (``amount`` defaults to what is open); any excess becomes credit.

    The invoice is ``paid`` only when nothing is open. An over-payment is recorded on the customer's
    credit balance (D-OVERPAY-CREDIT); the result's ``credited`` says how much. ``received`` is when
    the money arrived (a bank deposit's date; default ``now``).
    """
    received = received or now
    doc = lookups.document(uow, number, lock=True)
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
