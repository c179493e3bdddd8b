"""Use cases of onboarding (RULES.md §2): application form, store login, activation notice and its re-issue."""

from __future__ import annotations

from datetime import date, datetime

from licensedesk.domain.errors import InvalidInput, NotFound
from licensedesk.domain.onboarding import Application

from .context import Services
from .parties import customer_of
from .ports import UnitOfWork

LOGIN_OVERDUE = "login_overdue"  # deadline kind: the day after the login was due (ONB-APPLY)


def _get(uow: UnitOfWork, ref: str) -> Application:
    found = uow.parties.applications.get(ref)
    if found is None:
        raise NotFound(f"no application {ref}", f"申込 {ref} はありません", ref=ref)
    return found


def _save(uow: UnitOfWork, app: Application, now: datetime) -> None:
    uow.parties.applications.save(app)
    for notice in app.drain():
        uow.notices.add(notice, app.customer_ref, now)


def apply(svc: Services, now: datetime, *, ref: str, customer: str) -> Application:
    """ONB-APPLY: the application form is received now; the store login is due within 2 business days."""
    with svc.uow() as uow:
        customer_of(uow, customer)
        if uow.parties.applications.get(ref) is not None:
            raise InvalidInput(f"application {ref} already exists", f"申込 {ref} は既に存在します",
                               code="DUPLICATE-REF", ref=ref)
        app = Application.receive(ref, customer, svc.when(now), svc.calendar)
        uow.parties.applications.add(app)
        uow.parties.deadlines.set(LOGIN_OVERDUE, ref, app.overdue_check_on)
        uow.commit()
        return app


def issue_login(svc: Services, now: datetime, *, application: str, login_id: str | None = None,
                contract_start: date | None = None) -> Application:
    """Issue the store login; the activation notice (開通通知) gives the login ID and the contract start date."""
    with svc.uow() as uow:
        app = _get(uow, application)
        app.issue_login(svc.when(now), login_id or app.customer_ref, contract_start)
        uow.parties.deadlines.clear(LOGIN_OVERDUE, application)
        _save(uow, app, now)
        uow.commit()
        return app


def reissue_activation(svc: Services, now: datetime, *, application: str) -> Application:
    """ONB-REISSUE: send the activation notice again on request."""
    with svc.uow() as uow:
        app = _get(uow, application)
        app.reissue_activation(svc.when(now))
        _save(uow, app, now)
        uow.commit()
        return app


def login_overdue(svc: Services, uow: UnitOfWork, ref: str, due_on: date) -> None:
    """Deadline runner: still no login on the day after it was due → overdue notice (ONB-APPLY)."""
    app = uow.parties.applications.get(ref)
    if app is not None and app.check_overdue(due_on):
        _save(uow, app, svc.start_of(due_on))
