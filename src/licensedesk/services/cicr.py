"""Use cases on contact information change requests (CICR, RULES.md §7): request, work the manual queue."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from licensedesk.domain import cicr as domain
from licensedesk.domain.agreements import Status, parse_enum
from licensedesk.domain.cicr import Change, Channel, Cicr
from licensedesk.domain.errors import InvalidInput, NotFound

from .agreements import get_agreement
from .context import Services
from .ports import UnitOfWork
from .vl_tick import run_day


def agreement_expired(uow: UnitOfWork, agreement: str) -> bool:
    """An agreement whose enrollments have all expired (none running, none terminated only)."""
    enrollments = uow.vl.enrollments.for_agreement(agreement)
    return bool(enrollments) and all(e.status is not Status.ACTIVE for e in enrollments) and any(
        e.status is Status.EXPIRED for e in enrollments)


def _current(uow: UnitOfWork, agreement: str, role: str) -> dict[str, str] | None:
    return domain.current_contacts(uow.vl.cicrs.for_agreement(agreement)).get(role)


def request(svc: Services, now: datetime, *, ref: str, agreement: str, role: str, contact: Mapping[str, str],
            channel: str = "electronic", change: str = "update") -> Cicr:
    when = svc.when(now)
    run_day(svc, when.today)
    with svc.uow() as uow:
        if uow.vl.cicrs.get(ref) is not None:
            raise InvalidInput(f"CICR {ref} already exists", f"CICR {ref} は既に存在します", code="DUPLICATE-REF")
        found = get_agreement(uow, agreement)
        found.require_active()  # a terminated agreement has no contacts to maintain
        parsed_role = domain.parse_role(role)
        cicr = domain.route(ref=ref, agreement=agreement, version=found.version,
                            agreement_expired=agreement_expired(uow, agreement), role=parsed_role,
                            change=parse_enum(Change, change, "change"), channel=parse_enum(Channel, channel, "channel"),
                            contact={str(k): str(v) for k, v in contact.items()}, today=when.today,
                            current=_current(uow, agreement, parsed_role.value))
        uow.vl.cicrs.add(cicr)
        uow.commit()
    return cicr


def decide(svc: Services, now: datetime, *, cicr: str, approved: bool) -> Cicr:
    """Operations work a queued (manual) request: applied or rejected (CICR-CHANNEL)."""
    when = svc.when(now)
    with svc.uow() as uow:
        found = uow.vl.cicrs.get(cicr)
        if found is None:
            raise NotFound(f"no CICR {cicr}", f"CICR {cicr} はありません", ref=cicr)
        domain.decide(found, when.today, approved, _current(uow, found.agreement, found.role.value))
        uow.vl.cicrs.save(found)
        uow.commit()
    return found
