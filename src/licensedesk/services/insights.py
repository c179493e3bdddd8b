"""The console's charts (issue 7): renewals due by month ahead, revenue by month behind.

Renewals: the live subscriptions whose term ends in each of the next 12 months, with the value of the
term that would follow (quantity for the next term × unit price × cycles per term, tax-exclusive);
an auto-renewing subscription whose term is shorter than the window (P1M) appears in each month it
would renew (TERM-RENEW-AUTO: the next term starts the day after the term end, ``calendar.term_end``).
Those not renewing are counted apart ("ending"). Revenue: the documents issued in each of the last 12
months, credit notes negative, void documents left out (a re-issue counts in its own month); see
docs/decisions.md (D-INSIGHTS-*).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from licensedesk.domain.billing import DocumentKind, DocumentStatus
from licensedesk.domain.calendar import ONE_DAY, Billing, Term, add_months, term_end

from .context import Services

MONTHS = 12


@dataclass(frozen=True)
class RenewalMonth:
    month: date  # the first day of the month
    count: int  # terms ending this month that renew automatically
    amount: int  # yen, tax-exclusive: the value of the terms that follow
    ending: int  # terms ending this month without renewal (auto-renew off)


@dataclass(frozen=True)
class RevenueMonth:
    month: date
    invoices: int  # number of invoices issued
    credit_notes: int
    net: int  # tax-exclusive, credit notes subtracted
    gross: int  # tax-inclusive


def month_start(d: date) -> date:
    return d.replace(day=1)


def months_from(first: date, count: int) -> list[date]:
    return [add_months(month_start(first), k) for k in range(count)]


def renewals_by_month(svc: Services, today: date, months: int = MONTHS) -> list[RenewalMonth]:
    """The next ``months`` months from ``today``'s month: terms ending in each, and what renewing them is worth."""
    window = months_from(today, months)
    last = add_months(window[0], months) - ONE_DAY
    counts = {m: [0, 0, 0] for m in window}
    with svc.uow() as uow:
        groups = uow.subscriptions.renewal_totals(last)  # grouped in the database: no aggregate is loaded
    for group in groups:
        term = Term(group["term"])
        value = int(group["value"]) * (term.months // Billing(group["billing"]).cycle_months(term))
        for end in _term_ends(group["term_end"], term, group["auto_renew"], today, last):
            month = counts[month_start(end)]
            if group["auto_renew"]:
                month[0] += group["count"]
                month[1] += value
            else:
                month[2] += group["count"]
    return [RenewalMonth(m, *counts[m]) for m in window]


def _term_ends(current: date, term: Term, renews: bool, first: date, last: date) -> list[date]:
    """The term ends falling in ``first`` … ``last``: the current one, then the renewals' if auto-renewing."""
    ends, end = [], current
    while end <= last:
        if end >= first:
            ends.append(end)
        if not renews:
            break
        end = term_end(end + ONE_DAY, term.months)
    return ends


def revenue_by_month(svc: Services, today: date, months: int = MONTHS) -> list[RevenueMonth]:
    """The last ``months`` months up to ``today``'s: documents issued, credit notes negative, voids left out."""
    window = months_from(add_months(month_start(today), -(months - 1)), months)
    last = add_months(window[-1], 1) - ONE_DAY
    sums = {m: [0, 0, 0, 0] for m in window}
    with svc.uow() as uow:
        docs = uow.billing.issued_between(window[0], last)
    for doc in docs:
        if doc["status"] == DocumentStatus.VOID.value:
            continue
        row = sums[month_start(doc["issue_date"])]
        row[0 if doc["kind"] == DocumentKind.INVOICE.value else 1] += 1
        row[2] += doc["subtotal"]
        row[3] += doc["total"]
    return [RevenueMonth(m, *sums[m]) for m in window]
