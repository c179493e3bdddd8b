"""Console pages of subscriptions: list with filters, detail with the rule behind every date and amount,
and each change as form → preview (the real handler, rolled back) → confirm (the real handler, audited)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from licensedesk.domain.dates import explain_dates
from licensedesk.domain.errors import DomainError, InvalidInput
from licensedesk.domain.subscription import Status, Subscription
from licensedesk.entrypoints.api import views
from licensedesk.presets import PRESET_NAMES
from licensedesk.services import console as queries
from licensedesk.services import subscriptions as handlers
from licensedesk.services.context import Services

from .actions import perform, preview
from .render import redirect_with_flash, render, t
from .session import WebUser, language, require_staff, web

Staff = Annotated[WebUser, Depends(require_staff())]
Sales = Annotated[WebUser, Depends(require_staff("sales"))]
Filter = Annotated[str, Query(max_length=64)]

NAV_STAFF = [("/console/subscriptions", "nav.subscriptions")]


def _quantity(form: Mapping[str, str]) -> int:
    raw = form.get("quantity", "").strip()
    if not raw.isdigit() or not 1 <= int(raw) <= 1_000_000:
        raise InvalidInput("quantity must be a whole number from 1 to 1,000,000",
                           "数量は 1〜1,000,000 の整数で入力してください", code="INVALID-INPUT", field="quantity")
    return int(raw)


@dataclass(frozen=True)
class Change:
    """One change a person can make to a subscription: its form fields and the handler the API uses too."""

    action: str  # the audit action, as the API names it (subscription.<action>)
    fields: tuple[str, ...]
    run: Callable[[Services, datetime, str, Mapping[str, str]], Subscription]


CHANGES: dict[str, Change] = {
    "quantity": Change("change-quantity", ("quantity",), lambda svc, now, ref, f: handlers.change_quantity(
        svc, now, ref, _quantity(f), at_renewal=False)),
    "renewal-quantity": Change("change-quantity", ("quantity",), lambda svc, now, ref, f: handlers.change_quantity(
        svc, now, ref, _quantity(f), at_renewal=True)),
    "auto-renew": Change("auto-renew", ("enabled",), lambda svc, now, ref, f: handlers.set_auto_renew(
        svc, now, ref, f.get("enabled") == "on")),
    "cancel": Change("cancel", (), lambda svc, now, ref, f: handlers.cancel(svc, now, ref)),
    "suspend": Change("suspend", (), lambda svc, now, ref, f: handlers.suspend(svc, now, ref)),
    "reactivate": Change("reactivate", (), lambda svc, now, ref, f: handlers.reactivate(svc, now, ref)),
    "activate": Change("activate", (), lambda svc, now, ref, f: handlers.activate(svc, now, ref)),
}

# What a preview compares, before → after (message key, attribute).
COMPARED = (("sub.status", "status"), ("sub.quantity", "quantity"), ("sub.next_term_quantity", "next_term_quantity"),
            ("sub.auto_renew", "auto_renew"), ("sub.term_end", "term_end"), ("sub.cancel_effective", "cancel_effective"),
            ("sub.delete_on", "delete_on"), ("sub.activation_due", "activation_due"))


def _value(sub: Subscription, attribute: str) -> Any:
    value = getattr(sub, attribute)
    return value.value if isinstance(value, Status) else value


def differences(before: Subscription, after: Subscription) -> list[tuple[str, Any, Any]]:
    """(message key, before, after) of each compared field the change moves."""
    return [(key, _value(before, a), _value(after, a)) for key, a in COMPARED if _value(before, a) != _value(after, a)]


def _change(kind: str) -> Change:
    if kind not in CHANGES:
        raise InvalidInput(f"unknown change {kind}", f"変更の種類 {kind} はありません", code="NOT-FOUND")
    return CHANGES[kind]


async def _form(request: Request) -> dict[str, str]:
    return {k: v for k, v in (await request.form()).items() if isinstance(v, str) and k != "csrf_token"}


def router() -> APIRouter:
    r = APIRouter(prefix="/console/subscriptions", include_in_schema=False)

    @r.get("", response_class=HTMLResponse)
    def subscriptions(request: Request, user: Staff, status: Filter = "", preset: Filter = "", customer: Filter = "",
                      q: Filter = "") -> HTMLResponse:
        found = queries.subscriptions(web(request).svc, status=status, preset=preset, customer=customer, query=q)
        return render(request, "console/subscriptions.html", subscriptions=found, statuses=[s.value for s in Status],
                      presets=PRESET_NAMES, status=status, preset=preset, customer=customer, q=q)

    @r.get("/{ref}", response_class=HTMLResponse)
    def subscription(request: Request, user: Staff, ref: str) -> HTMLResponse:
        return render(request, "console/subscription.html", changes=CHANGES,
                      **queries.subscription_detail(web(request).svc, ref))

    @r.get("/{ref}/change/{kind}", response_class=HTMLResponse)
    def change_form(request: Request, user: Sales, ref: str, kind: str) -> HTMLResponse:
        _change(kind)
        detail = queries.subscription_detail(web(request).svc, ref)
        return render(request, "console/change.html", kind=kind, form={}, dry=None, **detail)

    @r.post("/{ref}/change/{kind}/preview", response_class=HTMLResponse)
    async def change_preview(request: Request, user: Sales, ref: str, kind: str) -> HTMLResponse:
        change, form = _change(kind), await _form(request)
        detail = queries.subscription_detail(web(request).svc, ref)
        dry = preview(request, lambda svc, now: change.run(svc, now, ref, form))
        diff = differences(detail["subscription"], dry.result) if dry.ok else []
        after = explain_dates(dry.result) if dry.ok else {}
        return render(request, "console/change.html", kind=kind, form=form, dry=dry, diff=diff, after_dates=after,
                      refusal_message=dry.refusal.message(language(request)) if dry.refusal else "", **detail)

    @r.post("/{ref}/change/{kind}", response_class=HTMLResponse)
    async def change_confirm(request: Request, user: Sales, ref: str, kind: str) -> Response:
        change, form = _change(kind), await _form(request)
        try:
            perform(request, user, action=f"subscription.{change.action}", target=f"subscription:{ref}",
                    before=lambda svc: _view(svc, ref),
                    run=lambda svc, now: views.subscription(change.run(svc, now, ref, form)))
        except DomainError as refused:
            return redirect_with_flash(request, f"/console/subscriptions/{ref}",
                                       f"[{refused.code}] {refused.message(language(request))}", "error")
        return redirect_with_flash(request, f"/console/subscriptions/{ref}",
                                   t(request, "change.done", what=t(request, f"change.{kind}"), ref=ref))

    return r


def _view(svc: Services, ref: str) -> dict[str, Any]:
    return views.subscription(queries.subscription_detail(svc, ref)["subscription"])
