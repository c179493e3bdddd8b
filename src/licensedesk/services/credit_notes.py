"""Credit notes settled one by one (issue #4, D-CN-ALLOCATE).

A credit note (適格返還請求書) returns part of earlier sales. When it is issued, it first settles
what is still open on the invoices it returns part of (its *originals*: earlier, not void, same
subscription, overlapping period — D-CN-ORIGINAL), oldest first; whatever is left goes to the
customer's credit balance and is refundable. A person may then allocate that rest explicitly to
another open invoice of the same customer (``licensedesk credit-note apply CN --to INV``).

Every allocation is recorded twice in the same transaction, so nothing else needs to know about it:

* a ``credit_note_applied`` entry of −amount on the customer's credit balance, naming the invoice
  (``document_number``) and the credit note (``reference``): the balance stays the sum of its entries;
* a payment of +amount on the invoice with reference ``credit-note:<CN>``: the invoice's open amount,
  dunning and bank matching see it like any settlement, and the journal does not book it as cash.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from licensedesk.domain.billing import DocumentKind, DocumentStatus
from licensedesk.domain.errors import InvalidInput
from licensedesk.domain.settlement import CreditAllocation, allocation_amount, settle_originals

from . import documents, lookups
from .context import Services
from .ports import UnitOfWork
from .printing import originals
from .subscriptions import apply_payment

APPLIED = "credit_note_applied"  # kind of the credit-balance entry of an allocation
PAYMENT_PREFIX = "credit-note:"  # reference of the invoice payment an allocation records


def settle_on_issue(uow: UnitOfWork, number: str, now: datetime) -> list[tuple[str, int]]:
    """Apply a just-issued credit note to the open amounts of its original invoices; returns what it settled.

    This reduces what the customer owes for the same sale (a 値引/返品), it is not a payment by the
    customer, so the subscriptions' "paid" hooks (e.g. prepaid provisioning) do not run.
    """
    note = uow.documents.get(number)
    assert note is not None and note["kind"] == DocumentKind.CREDIT_NOTE.value
    open_amounts = []
    for original in originals(uow, note):
        invoice = uow.billing.lock_document(original.number)
        if invoice is not None and invoice["status"] == DocumentStatus.ISSUED.value:
            open_amounts.append((original.number, invoice["total"] - invoice["paid_amount"]))
    settled = settle_originals(-note["total"], open_amounts)
    for invoice_number, amount in settled:
        uow.billing.add_credit(note["customer_ref"], -amount, APPLIED, now, document=invoice_number,
                               reference=number)
        documents.record_payment(uow, invoice_number, amount, now, PAYMENT_PREFIX + number)
    return settled


def apply(svc: Services, now: datetime, credit_note: str, invoice: str, amount: int | None = None
          ) -> dict[str, Any]:
    """Allocate (part of) what is left of a credit note to another open invoice of the same customer.

    This settles the invoice as the customer's own credit balance would (``apply_credit``), so the
    invoice's "paid" hooks run when it becomes paid.
    """
    with svc.uow() as uow:
        note, target = _document(uow, credit_note), _document(uow, invoice)
        if note["kind"] != DocumentKind.CREDIT_NOTE.value or note["status"] == DocumentStatus.VOID.value:
            raise InvalidInput(f"{credit_note} is not an issued credit note", f"{credit_note} は有効な返還請求書ではありません",
                               code="CN-ALLOCATE-SOURCE", number=credit_note)
        if target["kind"] != DocumentKind.INVOICE.value or target["status"] != DocumentStatus.ISSUED.value:
            raise InvalidInput(f"{invoice} is not an open invoice", f"{invoice} は未入金の請求書ではありません",
                               code="CN-ALLOCATE-TARGET", number=invoice, status=target["status"])
        if target["customer_ref"] != note["customer_ref"]:
            raise InvalidInput(f"{credit_note} and {invoice} belong to different customers",
                               f"{credit_note} と {invoice} は別のお客様の書類です", code="CN-ALLOCATE-CUSTOMER",
                               credit_note=credit_note, invoice=invoice)
        customer = note["customer_ref"]
        uow.billing.lock_account(customer)
        unallocated = -note["total"] - allocated_from(uow, customer, credit_note)
        use = allocation_amount(amount, unallocated, uow.billing.credit_balance(customer),
                                target["total"] - target["paid_amount"])
        uow.billing.add_credit(customer, -use, APPLIED, now, document=invoice, reference=credit_note)
        result = apply_payment(uow, svc, now, invoice, use, PAYMENT_PREFIX + credit_note)
        uow.commit()
        return {**result, "allocated": use, "credit_note": credit_note, "unallocated": unallocated - use}


def _document(uow: UnitOfWork, number: str) -> dict[str, Any]:
    return lookups.document(uow, number, lock=True)


def allocated_from(uow: UnitOfWork, customer: str, credit_note: str) -> int:
    """How much of a credit note has been applied to invoices so far."""
    return sum(-e["amount"] for e in uow.billing.credits(customer)
               if e["kind"] == APPLIED and e["reference"] == credit_note)


def allocations(uow: UnitOfWork, svc: Services, customer: str | None = None) -> list[CreditAllocation]:
    """Every allocation of a credit note to an invoice (of one customer, or all), oldest first."""
    return [CreditAllocation(svc.when(e["at"]).today, e["reference"], e["document_number"], -e["amount"])
            for e in uow.billing.credits(customer) if e["kind"] == APPLIED]
