"""Volume licensing's daily work: enrollment terminations, 60-day notices, expiries, COCPs taking effect.

``run_day(svc, day)`` runs everything due on or before ``day`` in date order, each item at 00:00
of its own due date (so calling it once for a later day gives the same result as calling it day
by day), one transaction per aggregate, and costs what is due: the next day with work is
``MIN(next_due)`` over the indexed columns of enrollments and COCPs (``next_due_day``).
"""

from __future__ import annotations

from datetime import date, datetime

from licensedesk.domain.agreements import Status
from licensedesk.domain.cocp import Cocp, stops_auto_renew
from licensedesk.domain.enrollment import Enrollment
from licensedesk.domain.subscription import When

from .context import Services
from .ports import UnitOfWork


def drain(uow: UnitOfWork, aggregate: Enrollment | Cocp, now: datetime) -> None:
    """Persist what an aggregate recorded: events (history) and notices."""
    events, notices = aggregate.drain()
    uow.vl.events.add(aggregate.ref, events)
    for notice in notices:
        uow.notices.add(notice, aggregate.customer, now)


def next_due_day(uow: UnitOfWork) -> date | None:
    """The earliest day with volume licensing work due (None: nothing scheduled)."""
    days = [d for d in (uow.vl.enrollments.next_due_day(), uow.vl.cocps.next_due_day()) if d is not None]
    return min(days) if days else None


def run_day(svc: Services, day: date) -> int:
    """Run all volume licensing work due on or before ``day``; returns how many aggregates were processed."""
    processed = 0
    while True:
        with svc.uow() as uow:
            upcoming = next_due_day(uow)
            if upcoming is None or upcoming > day:
                return processed
            enrollments, cocps = uow.vl.enrollments.due(upcoming), uow.vl.cocps.due(upcoming)
        for ref in enrollments:
            _run_enrollment(svc, ref, upcoming)
        for ref in cocps:
            _take_effect(svc, ref, upcoming)
        processed += len(enrollments) + len(cocps)


def _run_enrollment(svc: Services, ref: str, day: date) -> None:
    with svc.uow() as uow:
        enrollment = uow.vl.enrollments.get(ref)
        assert enrollment is not None
        enrollment.run_due(day, svc.start_of)
        uow.vl.enrollments.save(enrollment)
        drain(uow, enrollment, svc.start_of(day))
        uow.commit()


def _take_effect(svc: Services, ref: str, day: date) -> None:
    """COCP-EFFECTIVE and COCP-ORDERS: partners switch; the old partner's online POs stop auto-renewing."""
    with svc.uow() as uow:
        cocp = uow.vl.cocps.get(ref)
        assert cocp is not None
        when = When(svc.start_of(cocp.effective_on), cocp.effective_on)
        stopped: list[str] = []
        for enrollment_ref in cocp.enrollments:
            enrollment = uow.vl.enrollments.get(enrollment_ref)
            assert enrollment is not None
            if enrollment.status is Status.TERMINATED:
                cocp.record("skipped", when, "COCP-ANYTIME", enrollment=enrollment_ref, reason="terminated")
                continue
            old = cocp.take_effect(when, enrollment)
            for order in uow.vl.orders.for_enrollment(enrollment_ref):
                if order.online and order.auto_renew and stops_auto_renew(cocp.kind, old, order.reseller,
                                                                          order.distributor):
                    order.auto_renew, order.auto_renew_rule = False, "COCP-ORDERS"
                    uow.vl.orders.save(order)
                    stopped.append(order.po)
            uow.vl.enrollments.save(enrollment)
            drain(uow, enrollment, when.instant)
        cocp.finish(when, stopped)
        uow.vl.cocps.save(cocp)
        drain(uow, cocp, when.instant)
        uow.commit()
