"""Use cases on changes of channel partner (COCP, RULES.md §7): submit, approve an exception, tick off duties.

The COCP takes effect on its effective date through the daily work (``vl_tick.run_day``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime

from licensedesk.domain.agreements import parse_enum
from licensedesk.domain.cocp import ChangeKind, Cocp, CocpForm, CocpStatus, FormKind, LeadException, Signer
from licensedesk.domain.cocp_form import submit as check_and_open
from licensedesk.domain.errors import InvalidInput, NotFound

from .agreements import as_date, get_agreement, get_enrollment
from .context import Services
from .ports import UnitOfWork
from .vl_tick import drain, run_day

PENDING = (CocpStatus.ACCEPTED, CocpStatus.AWAITING_APPROVAL)


def _get(uow: UnitOfWork, ref: str) -> Cocp:
    found = uow.vl.cocps.get(ref)
    if found is None:
        raise NotFound(f"no COCP {ref}", f"COCP {ref} はありません", ref=ref)
    return found


def submit(svc: Services, now: datetime, *, ref: str, kind: str, enrollments: Sequence[str],
           new: Mapping[str, str], current: Mapping[str, str | None], signatures: Mapping[str, date | str],
           received_on: date | str | None = None, copies: int = 1, ink_signed: bool = False,
           notified_previous_on: date | str | None = None, exception: str | None = None,
           justification: str | None = None, form: str | None = None) -> Cocp:
    when = svc.when(now)
    run_day(svc, when.today)
    form_data = CocpForm(
        log_number=ref, kind=parse_enum(ChangeKind, kind, "kind"), enrollments=tuple(enrollments),
        new={str(k): str(v) for k, v in new.items() if v}, current=dict(current),
        signatures={parse_enum(Signer, k, "signatures"): as_date(v, f"signatures.{k}") for k, v in signatures.items()},
        received_on=None if received_on is None else as_date(received_on, "received_on"), copies=copies,
        ink_signed=ink_signed,
        notified_previous_on=None if notified_previous_on is None else as_date(notified_previous_on,
                                                                               "notified_previous_on"),
        exception=None if exception is None else parse_enum(LeadException, exception, "exception"),
        justification=justification, form=None if form is None else parse_enum(FormKind, form, "form"))
    with svc.uow() as uow:
        if uow.vl.cocps.get(ref) is not None:
            raise InvalidInput(f"COCP {ref} already exists", f"COCP {ref} は既に存在します", code="DUPLICATE-REF")
        targets = []
        for enrollment_ref in enrollments:
            enrollment = get_enrollment(uow, enrollment_ref)
            targets.append((enrollment, get_agreement(uow, enrollment.agreement)))
        customer = targets[0][0].customer if targets else ""
        pending = [c.ref for c in uow.vl.cocps.for_customer(customer)
                   if c.status in PENDING and set(c.enrollments) & set(enrollments)]
        if pending:
            raise InvalidInput(f"COCP {pending[0]} for the same enrollment is still pending",
                               f"同じ登録の COCP {pending[0]} が処理中です", code="COCP-PENDING", pending=pending)
        cocp = check_and_open(form_data, targets, when)
        uow.vl.cocps.add(cocp)
        drain(uow, cocp, now)
        uow.commit()
    run_day(svc, when.today)  # an effective date already reached takes effect now
    return cocp


def decide(svc: Services, now: datetime, *, cocp: str, approved: bool) -> Cocp:
    """The answer to an override request or an M15 amendment (COCP-LEAD-30D)."""
    when = svc.when(now)
    run_day(svc, when.today)
    with svc.uow() as uow:
        found = _get(uow, cocp)
        found.decide(when, approved)
        uow.vl.cocps.save(found)
        drain(uow, found, now)
        uow.commit()
    run_day(svc, when.today)
    return found


def mark_duty(svc: Services, now: datetime, *, cocp: str, duty: str) -> Cocp:
    """COCP-DUTIES: a duty of the customer or a partner is done."""
    when = svc.when(now)
    run_day(svc, when.today)
    with svc.uow() as uow:
        found = _get(uow, cocp)
        found.mark_duty(when, duty)
        uow.vl.cocps.save(found)
        drain(uow, found, now)
        uow.commit()
    return found
