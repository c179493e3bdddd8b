"""Printing an issued document: the qualified-invoice sheet and its PDF.

A document is printed from what was stored at issue (lines, tax per rate, totals), so a
reprint says what the original said; a void document prints with its void mark.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from licensedesk.domain.billing import DocumentKind, DocumentStatus, TaxSummary
from licensedesk.domain.invoice_sheet import DocumentFacts, Issuer, LineFacts, OriginalInvoice, Sheet, build_sheet
from licensedesk.domain.subscription import LineKind

from . import lookups
from .context import Services
from .ports import DocumentRenderer, UnitOfWork


def get_document(uow: UnitOfWork, number: str) -> dict[str, Any]:
    return lookups.document(uow, number)


def sheet(svc: Services, number: str, issuer: Issuer) -> Sheet:
    with svc.uow() as uow:
        return build_sheet(document_facts(uow, get_document(uow, number)), issuer)


def render_pdf(svc: Services, number: str, issuer: Issuer, renderer: DocumentRenderer) -> bytes:
    return renderer.render(sheet(svc, number, issuer))


def document_facts(uow: UnitOfWork, doc: dict[str, Any]) -> DocumentFacts:
    customer = uow.customers.get(doc["customer_ref"])
    items = _item_names(uow, {line["subscription_ref"] for line in doc["lines"]})
    lines = [LineFacts(items[line["subscription_ref"]], LineKind(line["kind"]), line["quantity"],
                       line["unit_amount"], line["amount"], line["period_start"], line["period_end"])
             for line in doc["lines"]]
    kind = DocumentKind(doc["kind"])
    return DocumentFacts(
        kind=kind, number=doc["number"], issue_date=doc["issue_date"], due_date=doc["due_date"],
        recipient=customer.name if customer else doc["customer_ref"], lines=lines, taxes=taxes_of(doc),
        total=doc["total"], originals=originals(uow, doc) if kind is DocumentKind.CREDIT_NOTE else (),
        void_reason=doc["void_reason"] if doc["status"] == DocumentStatus.VOID.value else None,
        replaces=doc.get("replaces"))


def taxes_of(doc: dict[str, Any]) -> list[TaxSummary]:
    return [TaxSummary(Fraction(t["rate"]), int(t["net"]), int(t["tax"])) for t in doc["taxes"]]


def _item_names(uow: UnitOfWork, refs: set[str]) -> dict[str, str]:
    """What was supplied, per subscription: the offer's catalog name (the ref when it is not a subscription)."""
    names: dict[str, str] = {}
    offers: dict[str, str] = {}
    for ref in refs:
        sub = uow.subscriptions.get(ref)
        if sub is None:
            names[ref] = ref
            continue
        if sub.offer not in offers:
            offer = uow.offers.get(sub.offer)
            offers[sub.offer] = offer.name if offer else sub.offer
        names[ref] = offers[sub.offer]
    return names


def originals(uow: UnitOfWork, credit_note: dict[str, Any]) -> list[OriginalInvoice]:
    """The invoices a credit note returns part of: earlier, not void, same subscription, overlapping period
    (without periods: the latest invoice of that subscription)."""
    found: dict[str, OriginalInvoice] = {}
    earlier = [d for d in uow.documents.list(credit_note["customer_ref"])
               if d["kind"] == DocumentKind.INVOICE.value and d["status"] != DocumentStatus.VOID.value
               and d["issue_date"] <= credit_note["issue_date"] and d["id"] < credit_note["id"]]
    for line in credit_note["lines"]:
        for doc in reversed(earlier):
            charged = [x for x in doc["lines"] if x["subscription_ref"] == line["subscription_ref"]
                       and x["amount"] > 0 and _overlaps(x, line)]
            if charged:
                start = min((x["period_start"] for x in charged if x["period_start"]), default=None)
                end = max((x["period_end"] for x in charged if x["period_end"]), default=None)
                found.setdefault(doc["number"], OriginalInvoice(doc["number"], doc["issue_date"], start, end))
                if line["period_start"] is None:
                    break
    return sorted(found.values(), key=lambda o: o.number)


def _overlaps(charged: dict[str, Any], credit: dict[str, Any]) -> bool:
    a0, a1 = charged["period_start"], charged["period_end"]
    b0, b1 = credit["period_start"], credit["period_end"]
    if None in (a0, a1, b0, b1):
        return True
    return bool(a0 <= b1 and b0 <= a1)
