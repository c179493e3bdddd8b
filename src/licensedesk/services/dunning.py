"""Dunning from the daily tick, and the statement of account.

The tick calls ``run_through(day)`` before each day it runs and once at the end: only documents
whose indexed ``dunning_on`` has come are read (D-DUNNING). A notice is dated the day it was due
and recorded once (kind, document, date), so re-running changes nothing.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from licensedesk.domain.billing import DocumentStatus
from licensedesk.domain.dunning import DUNNING_RULE, OpenItem, Statement, next_after, statement, step_on
from licensedesk.domain.subscription import Notice

from . import lookups
from .context import Services
from .credit_notes import allocations


def run_through(svc: Services, day: date) -> int:
    """Send every payment reminder and overdue notice due on or before ``day``; returns how many.

    One indexed read of what is due (nothing due: that read alone); it is read again only when a document's
    next step also falls on or before ``day`` (a tick that was not run for weeks)."""
    sent = 0
    with svc.uow() as uow:
        due = uow.billing.dunning_due(day)
        while due:
            again = False  # a document whose next step also falls on or before ``day``: read what is due again
            for doc in due:
                on, number = doc["dunning_on"], doc["number"]
                if doc["status"] != DocumentStatus.ISSUED.value or doc["due_date"] is None \
                        or doc["paid_amount"] >= doc["total"]:
                    uow.billing.set_dunning(number, None)
                    continue
                step = step_on(on, doc["due_date"])
                details = {"due": doc["due_date"].isoformat(), "open": doc["total"] - doc["paid_amount"]}
                if uow.notices.add(Notice(step.value, number, on, DUNNING_RULE, details), doc["customer_ref"],
                                   svc.start_of(on)):
                    sent += 1
                following = next_after(on, doc["due_date"])
                uow.billing.set_dunning(number, following)
                again = again or (following is not None and following <= day)
            due = uow.billing.dunning_due(day) if again else []
        uow.commit()
    return sent


def statement_of_account(svc: Services, customer: str, as_of: date) -> Statement:
    """Open invoices aged past due (0–30, 31–60, 61–90, 90+ days), the credit balance, the balance due."""
    with svc.uow() as uow:
        lookups.customer(uow, customer)
        items = [OpenItem(r["number"], r["issue_date"], r["due_date"], r["total"], r["paid_amount"])
                 for r in uow.billing.open_invoices(customer) if r["issue_date"] <= as_of]
        applied = tuple(a for a in allocations(uow, svc, customer) if a.on <= as_of)
        return replace(statement(customer, as_of, items, uow.billing.credit_balance(customer)), allocations=applied)
