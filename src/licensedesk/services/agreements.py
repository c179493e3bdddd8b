"""Use cases on EES / School agreements and enrollments (RULES.md §7, POLICIES.md §3).

Each handler first runs the volume licensing work due up to today (``run_day``: the scheduler may
not have reached today yet), then loads, calls the domain, persists what it recorded and commits.
``run_day`` and ``next_due_day`` are what the daily tick calls (see ``vl_tick``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from licensedesk.domain import agreements as domain
from licensedesk.domain import vl_orders
from licensedesk.domain.agreements import Agreement, Amendment, Partners, Party, Status, parse_enum
from licensedesk.domain.enrollment import Enrollment, Option, enroll
from licensedesk.domain.errors import InvalidInput, NotFound
from licensedesk.domain.parties import Segment
from licensedesk.domain.subscription import When
from licensedesk.domain.vl_orders import VlOrder

from .context import Services
from .ports import UnitOfWork
from .vl_tick import drain, next_due_day, run_day

__all__ = ["breach_notice", "choose_expiry", "cure_breach", "disqualify", "end_agreement", "enroll_institution",
           "next_due_day", "open_agreement", "place_order", "run_day"]


def as_date(value: date | str, name: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(f"{name} must be a date like 2026-04-01, got {value!r}",
                           f"{name} は 2026-04-01 の形式の日付です（指定: {value!r}）", code="INVALID-DATE",
                           field=name) from None


def get_agreement(uow: UnitOfWork, ref: str) -> Agreement:
    found = uow.vl.agreements.get(ref)
    if found is None:
        raise NotFound(f"no agreement {ref}", f"契約 {ref} はありません", ref=ref)
    return found


def get_enrollment(uow: UnitOfWork, ref: str) -> Enrollment:
    found = uow.vl.enrollments.get(ref)
    if found is None:
        raise NotFound(f"no enrollment {ref}", f"登録 {ref} はありません", ref=ref)
    return found


def _save_agreement(uow: UnitOfWork, agreement: Agreement, now: datetime) -> None:
    uow.vl.agreements.save(agreement)
    events, notices = agreement.drain()
    uow.vl.events.add(agreement.ref, events)
    for notice in notices:
        uow.notices.add(notice, agreement.customer, now)


def _save_enrollment(uow: UnitOfWork, enrollment: Enrollment, now: datetime) -> None:
    enrollment.refresh_next_due()
    uow.vl.enrollments.save(enrollment)
    drain(uow, enrollment, now)


def open_agreement(svc: Services, now: datetime, *, ref: str, customer: str, program: str, version: str,
                   region: str, public_customer_number: str | None = None, country: str | None = None) -> Agreement:
    with svc.uow() as uow:
        institution = uow.customers.get(customer)
        if institution is None:
            raise NotFound(f"no customer {customer}", f"お客様 {customer} は登録されていません", ref=customer)
        if uow.vl.agreements.get(ref) is not None:
            raise InvalidInput(f"agreement {ref} already exists", f"契約 {ref} は既に存在します", code="DUPLICATE-REF",
                               ref=ref)
        agreement = domain.open_agreement(
            ref=ref, customer=customer, program=program, version=version, region=region,
            public_customer_number=public_customer_number or ref, country=country or institution.country,
            institution_qualifies=institution.segment is Segment.EDUCATION)
        uow.vl.agreements.add(agreement)
        uow.commit()
    return agreement


def enroll_institution(svc: Services, now: datetime, *, ref: str, agreement: str, term_years: int,
                       effective: date | str, reseller: str, distributor: str | None = None,
                       software_advisor: str | None = None, billing_dates: Sequence[date | str] = ()) -> Enrollment:
    when = svc.when(now)
    run_day(svc, when.today)
    with svc.uow() as uow:
        if uow.vl.enrollments.get(ref) is not None:
            raise InvalidInput(f"enrollment {ref} already exists", f"登録 {ref} は既に存在します",
                               code="DUPLICATE-REF", ref=ref)
        enrollment = enroll(ref=ref, agreement=get_agreement(uow, agreement), term_years=term_years,
                            effective=as_date(effective, "effective"),
                            partners=Partners(reseller, distributor or None, software_advisor or None), when=when,
                            billing_dates=tuple(as_date(d, "billing_dates") for d in billing_dates))
        uow.vl.enrollments.add(enrollment)
        drain(uow, enrollment, now)
        uow.commit()
    run_day(svc, when.today)  # an effective date in the past may already have work due
    return enrollment


def place_order(svc: Services, now: datetime, *, enrollment: str, po: str | None = None, product: str = "",
                online: bool = False, quantity: int = 1, usage_date: date | str | None = None,
                reseller: str | None = None, auto_renew: bool | None = None) -> VlOrder:
    """An order under the enrollment (the first one keeps it alive: VL-TERMINATE-NO-ORDER; COCP-ORDERS)."""
    when = svc.when(now)
    run_day(svc, when.today)
    with svc.uow() as uow:
        found = get_enrollment(uow, enrollment)
        existing = uow.vl.orders.for_enrollment(enrollment)
        number = po or f"{enrollment}-PO{len(existing) + 1}"
        if any(o.po == number for o in existing):
            raise InvalidInput(f"purchase order {number} already exists", f"発注書 {number} は既に存在します",
                               code="DUPLICATE-REF", ref=number)
        order = vl_orders.place(found, when, po=number, product=product, online=online, quantity=quantity,
                                usage_date=None if usage_date is None else as_date(usage_date, "usage_date"),
                                reseller=reseller, auto_renew=auto_renew)
        uow.vl.orders.add(order)
        _save_enrollment(uow, found, now)
        uow.commit()
    return order


def _act_on_enrollment(svc: Services, now: datetime, enrollment: str,
                       act: Callable[[Enrollment, When], object]) -> Enrollment:
    """The shape of every enrollment change: catch up VL work, load, let the domain act, save, commit."""
    when = svc.when(now)
    run_day(svc, when.today)
    with svc.uow() as uow:
        found = get_enrollment(uow, enrollment)
        act(found, when)
        _save_enrollment(uow, found, now)
        uow.commit()
    return found


def breach_notice(svc: Services, now: datetime, *, enrollment: str, party: str) -> Enrollment:
    """VL-TERMINATE-BREACH: a written notice of material breach; the cure period is 30 days."""
    return _act_on_enrollment(svc, now, enrollment,
                              lambda found, when: found.notify_breach(when, parse_enum(Party, party, "party")))


def cure_breach(svc: Services, now: datetime, *, enrollment: str) -> Enrollment:
    return _act_on_enrollment(svc, now, enrollment, lambda found, when: found.cure_breach(when))


def choose_expiry(svc: Services, now: datetime, *, enrollment: str, option: str) -> Enrollment:
    """VL-NOTICE-60D: the institution's choice; an extension moves the end date at once."""
    return _act_on_enrollment(svc, now, enrollment,
                              lambda found, when: found.choose(when, parse_enum(Option, option, "option")))


def _terminate_enrollments(uow: UnitOfWork, agreement: Agreement, now: datetime, svc: Services, rule: str,
                           **details: Any) -> None:
    when = svc.when(now)
    for enrollment in uow.vl.enrollments.for_agreement(agreement.ref):
        if enrollment.status is Status.ACTIVE:
            enrollment.terminate(when, rule, agreement=agreement.ref, **details)
            _save_enrollment(uow, enrollment, now)


def disqualify(svc: Services, now: datetime, *, agreement: str, reason: str = "") -> Agreement:
    """VL-TERMINATE-QUALIFY: the agreement and every running enrollment end at once."""
    when = svc.when(now)
    run_day(svc, when.today)
    with svc.uow() as uow:
        found = get_agreement(uow, agreement)
        found.disqualify(when, reason)
        _save_agreement(uow, found, now)
        _terminate_enrollments(uow, found, now, svc, "VL-TERMINATE-QUALIFY", reason=reason)
        uow.commit()
    return found


def end_agreement(svc: Services, now: datetime, *, agreement: str,
                  amendment: Mapping[str, Any] | None = None) -> Agreement:
    """VL-AGREEMENT-END: a termination amendment prepared by a channel partner of record with Microsoft."""
    when = svc.when(now)
    run_day(svc, when.today)
    with svc.uow() as uow:
        found = get_agreement(uow, agreement)
        partners: set[str] = set()
        for enrollment in uow.vl.enrollments.for_agreement(agreement):
            partners |= enrollment.partners.names()
        parsed = None if not amendment else Amendment(
            str(amendment.get("number") or ""), str(amendment.get("prepared_by") or ""),
            bool(amendment.get("microsoft_signed", False)))
        found.end(when, parsed, partners)
        _save_agreement(uow, found, now)
        _terminate_enrollments(uow, found, now, svc, "VL-AGREEMENT-END",
                               amendment=parsed.number if parsed else None)
        uow.commit()
    return found
