"""The daily tick: run all work due up to now, day by day, idempotently.

For each day, only customers whose subscriptions have ``next_due`` on or
before it are loaded (an indexed column), so a tick costs what is due, not
what exists. Each (customer, day) is one transaction that issues at most one
document per due rule (POLICIES.md §0: one document per customer per day), so
a crash leaves whole customers done or not done; re-running finishes the rest
and never bills twice (``processed_through`` per subscription, and the unique
charge key on document lines).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from licensedesk.domain import subscription as subs
from licensedesk.domain.subscription import ChargeLine

from . import agreements as vl
from . import dunning, party_deadlines
from .context import CatalogPrices, Services
from .subscriptions import issue_lines


@dataclass
class TickReport:
    first_day: date | None = None
    last_day: date | None = None
    customers: int = 0
    subscriptions: int = 0
    documents: list[str] = field(default_factory=list)


def tick(svc: Services, until: datetime) -> TickReport:
    """Run every day whose 00:00 has passed by ``until``, in order, jumping over days with nothing due.

    The next day with work is ``MIN(next_due)`` (indexed), so an idle tick is one query.
    """
    report = TickReport()
    today = svc.when(until).today
    with svc.uow() as uow:
        last = uow.scheduler.last_day()
    while True:
        with svc.uow() as uow:
            upcoming = uow.subscriptions.next_due_day()
        if upcoming is None:
            break
        day = upcoming if last is None else max(upcoming, last + timedelta(days=1))
        if day > today:
            break
        run_other_work(svc, day - timedelta(days=1))
        run_day(svc, day, report)
        _mark_done(svc, day)
        last = day
    run_other_work(svc, today)
    if last is None or last < today:
        _mark_done(svc, today)
    return report


OTHER_WORK = (
    dunning.run_through,  # payment reminders and overdue notices (documents.dunning_on, indexed)
    party_deadlines.run_due,  # onboarding logins, relationship requests (RULES.md §2, §6)
    vl.run_day,  # enrollment terminations, 60-day notices, expiries, COCPs taking effect (§7)
)


def run_other_work(svc: Services, through: date) -> None:
    """Work kept by other capabilities, each dated at its own due date and run once, up to ``through``."""
    for work in OTHER_WORK:
        work(svc, through)


def _mark_done(svc: Services, day: date) -> None:
    with svc.uow() as uow:
        uow.scheduler.set_last_day(day)
        uow.commit()


def run_day(svc: Services, day: date, report: TickReport) -> None:
    report.first_day = report.first_day or day
    report.last_day = day
    with svc.uow() as uow:
        customers = uow.subscriptions.customers_due(day)
    for customer in customers:
        run_customer_day(svc, customer, day, report)


def run_customer_day(svc: Services, customer: str, day: date, report: TickReport) -> None:
    start = svc.start_of(day)
    with svc.uow() as uow:
        prices = CatalogPrices(uow)
        charges: list[ChargeLine] = []
        due = uow.subscriptions.due_for_customer(customer, day)
        for sub in due:
            subs.run_due(sub, day, svc.start_of, prices)
            events, lines, notices, voids = sub.drain()
            uow.subscriptions.save(sub)
            uow.subscriptions.add_events(sub.ref, events)
            for notice in notices:
                uow.notices.add(notice, customer, start)
            for key in voids:
                uow.documents.void_charge(sub.ref, key, start, "BILL-NONPAY-STOP")
            charges.extend(lines)
        if charges:
            report.documents += issue_lines(uow, customer, charges, svc, start, due[0])
        uow.commit()
    report.customers += 1
    report.subscriptions += len(due)
