"""Documents from charge lines: invoices and credit notes, tax once per document per rate.

An action by a person that charges or credits issues its document at once;
the daily tick issues one document per customer per day (POLICIES.md §0).
Net-negative lines make a credit note (適格返還請求書), anything else an
invoice (適格請求書).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from fractions import Fraction

from .calendar import month_end
from .money import STANDARD_TAX_RATE, tax_per_rate
from .policy import InvoiceDue, Policy
from .subscription import ChargeLine


class DocumentKind(StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


class DocumentStatus(StrEnum):
    ISSUED = "issued"
    PAID = "paid"
    VOID = "void"


@dataclass(frozen=True)
class TaxSummary:
    rate: Fraction
    net: int
    tax: int


@dataclass
class DocumentDraft:
    """A document before it has a number. Its sums follow from its taxes, worked out once (the tick reads them
    several times per document); nothing changes a draft after ``draft_document`` made it."""
    kind: DocumentKind
    customer: str
    issue_date: date
    due_date: date | None
    lines: list[ChargeLine]
    taxes: tuple[TaxSummary, ...] = ()
    subtotal: int = field(init=False)
    tax: int = field(init=False)
    total: int = field(init=False)

    def __post_init__(self) -> None:
        self.subtotal, self.tax = sum(t.net for t in self.taxes), sum(t.tax for t in self.taxes)
        self.total = self.subtotal + self.tax


SERIES_PREFIX = {DocumentKind.INVOICE: "INV", DocumentKind.CREDIT_NOTE: "CN"}
NUMBER_DIGITS = 6  # at least; a series past 999999 goes on with more digits


def series_of(kind: DocumentKind, issued: date) -> str:
    """The gapless numbering series of a document: one per kind per calendar year (``INV-2026``, ``CN-2026``)."""
    return f"{SERIES_PREFIX[kind]}-{issued.year}"


def document_number(series: str, n: int) -> str:
    """The ``n``-th number of ``series``: ``INV-2026`` and 25 → ``INV-2026-000025`` (zero-padded to six digits)."""
    return f"{series}-{n:0{NUMBER_DIGITS}d}"


def due_date(rule: InvoiceDue, issued: date) -> date:
    """``end_of_next_month`` (issued 06-18 → 07-31) or issue date + N days."""
    if rule.end_of_next_month:
        return month_end(month_end(issued) + timedelta(days=1))
    assert rule.days_after_issue is not None
    return issued + timedelta(days=rule.days_after_issue)


def draft_document(customer: str, issued: date, lines: Sequence[ChargeLine], policy: Policy,
                   due: date | None = None) -> DocumentDraft:
    """One document over ``lines``; tax computed once per rate on their sum, toward zero."""
    if not lines:
        raise ValueError("a document needs at least one line")
    summary = tax_per_rate([(STANDARD_TAX_RATE, line.amount) for line in lines])
    net = sum(n for _, n, _ in summary)
    kind = DocumentKind.CREDIT_NOTE if net < 0 else DocumentKind.INVOICE
    if kind is DocumentKind.INVOICE and due is None:
        due = due_date(policy.invoice_due, issued)
    taxes = tuple([TaxSummary(rate, n, t) for rate, n, t in summary])
    return DocumentDraft(kind, customer, issued, due if kind is DocumentKind.INVOICE else None, list(lines), taxes)
