"""The accounting export: a CSV journal of a period's documents, voids, payments and refunds.

Rows are dated in the reseller's time zone; documents by issue date, voids by void date, money
by the day it was received (a bank deposit's own date) or paid out. See docs/accounting-export.md.
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from typing import Any

from licensedesk.domain.billing import DocumentKind
from licensedesk.domain.errors import InvalidInput
from licensedesk.domain.journal import (
    COLUMNS,
    JournalRow,
    allocation_row,
    cash_in_row,
    document_rows,
    refund_row,
    void_rows,
)

from .context import Services
from .credit_notes import APPLIED, PAYMENT_PREFIX
from .ports import UnitOfWork
from .printing import taxes_of
from .settlement import CREDIT_REFERENCE

CASH_CREDITS = {"overpayment": "過入金（預り）", "deposit": "入金（預り）"}


def journal(svc: Services, first: date, last: date) -> list[JournalRow]:
    if last < first:
        raise InvalidInput(f"the period ends ({last}) before it starts ({first})", "期間の終了日が開始日より前です",
                           code="EXPORT-PERIOD")
    start, end = svc.start_of(first), svc.start_of(last + timedelta(days=1))
    with svc.uow() as uow:
        names = {c.ref: c.name for c in uow.customers.list()}
        rows = [r for doc in uow.billing.issued_between(first, last) for r in _document(doc, names)]
        for doc in uow.billing.voided_between(start, end):
            rows += void_rows(_document(doc, names), svc.when(doc["voided_at"]).today, doc["void_reason"] or "")
        rows += _payments(uow, svc, start, end, names)
        rows += _credits(uow, svc, start, end, names)
    return sorted(rows, key=lambda r: (r.on, r.voucher))


def _document(doc: dict[str, Any], names: dict[str, str]) -> list[JournalRow]:
    return document_rows(DocumentKind(doc["kind"]), doc["number"], doc["issue_date"],
                         names.get(doc["customer_ref"], doc["customer_ref"]), taxes_of(doc))


def _payments(uow: UnitOfWork, svc: Services, start: Any, end: Any, names: dict[str, str]) -> list[JournalRow]:
    rows = []
    for p in uow.billing.payments_between(start, end):
        if p["reference"] == CREDIT_REFERENCE or (p["reference"] or "").startswith(PAYMENT_PREFIX):
            continue  # a credit balance or a credit note used on an invoice: no money moves
        memo = f"入金 {p['reference']}" if p["reference"] else "入金"
        rows.append(cash_in_row(svc.when(p["received_at"]).today, p["number"],
                                names.get(p["customer_ref"], p["customer_ref"]), p["amount"], memo))
    return rows


def _credits(uow: UnitOfWork, svc: Services, start: Any, end: Any, names: dict[str, str]) -> list[JournalRow]:
    rows = []
    for c in uow.billing.credits_between(start, end):
        on, party = svc.when(c["at"]).today, names.get(c["customer_ref"], c["customer_ref"])
        voucher = c["document_number"] or (f"deposit:{c['deposit_id']}" if c["deposit_id"] else f"credit:{c['id']}")
        if c["kind"] in CASH_CREDITS:
            rows.append(cash_in_row(on, voucher, party, c["amount"], CASH_CREDITS[c["kind"]]))
        elif c["kind"] == "refund":
            rows.append(refund_row(on, voucher, party, -c["amount"], f"残高返金 {c['reference'] or ''}".strip()))
        elif c["kind"] == APPLIED:
            rows.append(allocation_row(on, c["reference"], party, -c["amount"], c["document_number"]))
    return rows


def journal_csv(rows: list[JournalRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(r.as_list() for r in rows)
    return out.getvalue()
