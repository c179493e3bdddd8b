"""Dunning and the statement of account.

* An open invoice gets a ``payment_reminder`` N days before its due date
  (``policy.reminders.payment_days_before_due``; none when that day is not after the issue
  date, or N = 0) and a ``payment_overdue`` notice the day after its due date (POLICIES.md §0:
  "by date X" ends with X). Each document keeps only its *next* dunning date, indexed, so the
  daily tick reads what is due, never every document (D-DUNNING).
* A statement of account lists a customer's open invoices with their age past due in
  buckets 0–30, 31–60, 61–90 and 90+ days (not yet due counts as 0), the customer's credit
  balance, and the balance due.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from .calendar import ONE_DAY
from .settlement import CreditAllocation


class DunningStep(StrEnum):
    PAYMENT_REMINDER = "payment_reminder"
    PAYMENT_OVERDUE = "payment_overdue"


DUNNING_RULE = "ORD-FLOW"  # "payment by the due date"


def dunning_dates(issued: date, due: date, days_before: int) -> list[tuple[date, DunningStep]]:
    """The reminders an invoice issued on ``issued`` and due on ``due`` gets, in date order."""
    steps = []
    remind = due - timedelta(days=days_before)
    if days_before > 0 and remind > issued:
        steps.append((remind, DunningStep.PAYMENT_REMINDER))
    steps.append((due + ONE_DAY, DunningStep.PAYMENT_OVERDUE))
    return steps


def first_dunning(issued: date, due: date | None, days_before: int) -> date | None:
    return dunning_dates(issued, due, days_before)[0][0] if due is not None else None


def step_on(day: date, due: date) -> DunningStep:
    """Which notice a dunning date stands for: before or on the due date a reminder, after it overdue."""
    return DunningStep.PAYMENT_REMINDER if day <= due else DunningStep.PAYMENT_OVERDUE


def next_after(day: date, due: date) -> date | None:
    """The dunning date that follows the one sent on ``day`` (the overdue notice ends dunning)."""
    return due + ONE_DAY if day <= due else None


# ------------------------------------------------------------------ statement of account
BUCKETS: tuple[tuple[str, int, int | None], ...] = (("0-30", 0, 30), ("31-60", 31, 60), ("61-90", 61, 90),
                                                    ("90+", 91, None))


@dataclass(frozen=True)
class OpenItem:
    number: str
    issue_date: date
    due_date: date | None
    total: int
    paid: int

    @property
    def open(self) -> int:
        return self.total - self.paid


@dataclass(frozen=True)
class AgedItem:
    item: OpenItem
    days_past_due: int
    bucket: str


@dataclass(frozen=True)
class Statement:
    customer: str
    as_of: date
    items: list[AgedItem]
    buckets: dict[str, int]
    open_total: int
    credit_balance: int
    allocations: tuple[CreditAllocation, ...] = ()  # credit notes applied to invoices, up to as_of (D-CN-ALLOCATE)

    @property
    def balance_due(self) -> int:
        """What the customer owes after its credit balance (negative: the reseller owes the customer)."""
        return self.open_total - self.credit_balance


def bucket_of(days_past_due: int) -> str:
    for label, low, high in BUCKETS:
        if days_past_due >= low and (high is None or days_past_due <= high):
            return label
    raise AssertionError("unreachable: the buckets cover every day count ≥ 0")


def statement(customer: str, as_of: date, items: Sequence[OpenItem], credit_balance: int) -> Statement:
    aged = []
    for item in sorted(items, key=lambda i: (i.due_date or i.issue_date, i.number)):
        past = max(0, (as_of - (item.due_date or item.issue_date)).days)
        aged.append(AgedItem(item, past, bucket_of(past)))
    buckets = {label: 0 for label, _, _ in BUCKETS}
    for a in aged:
        buckets[a.bucket] += a.item.open
    return Statement(customer, as_of, aged, buckets, sum(a.item.open for a in aged), credit_balance)
