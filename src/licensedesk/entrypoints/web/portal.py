"""The customer portal, /portal: a customer user's contracts and their deadlines, seat changes and
cancellation with a preview before confirming, auto-renew, invoices and their PDFs, and reseller
relationship requests to accept.

Every page is scoped to ``user.customer_ref``: another customer's subscription, document or request
answers 404, as if it did not exist (as the API does). A change is always shown first
(``services/previews``: the document it would issue, or the refusal with its rule ID and the deadline),
and made only by the confirming POST, through the same handler as the API, with its audit entry in the
same transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, Response

from licensedesk.bootstrap import issuer, pdf_renderer
from licensedesk.domain.errors import DomainError, NotFound
from licensedesk.domain.subscription import Subscription
from licensedesk.entrypoints.api import audit, views
from licensedesk.entrypoints.api.v1_transfers import relationship_view
from licensedesk.services import previews, printing, transfers
from licensedesk.services import subscriptions as handlers
from licensedesk.services.context import Services
from licensedesk.services.lending import lend

from .portal_words import EN, JA
from .render import redirect_with_flash, render, t
from .session import WebUser, language, require_customer, web

Customer = Annotated[WebUser, Depends(require_customer())]
NAV_CUSTOMER = [("/portal", "pt.nav.contracts"), ("/portal/invoices", "pt.nav.invoices"),
                ("/portal/relationships", "pt.nav.relationships")]
__all__ = ["EN", "JA", "NAV_CUSTOMER", "router"]


class Change(StrEnum):
    SEATS = "seats"  # change the seat count now (add: PRICE-ONE; remove: NCE-REDUCE-168H)
    RENEWAL = "renewal"  # the seat count for the next term (TERM-REDUCE-1M)
    CANCEL = "cancel"  # NCE-CANCEL-168H
    AUTO_RENEW = "auto_renew"  # TERM-RENEW-OPTOUT-30D


def _subscription(svc: Services, user: WebUser, ref: str) -> Subscription:
    with svc.uow() as uow:
        sub = uow.subscriptions.get(ref)
    if sub is None or sub.customer != user.customer_ref:
        raise NotFound(f"no subscription {ref}", f"サブスクリプション {ref} はありません", ref=ref)
    return sub


def _document(svc: Services, user: WebUser, number: str) -> dict[str, Any]:
    with svc.uow() as uow:
        doc = uow.documents.get(number)
    if doc is None or doc["customer_ref"] != user.customer_ref:
        raise NotFound(f"no document {number}", f"書類 {number} はありません", number=number)
    return doc


def _offer_names(svc: Services) -> dict[str, str]:
    with svc.uow() as uow:
        return {o.code: o.name for o in uow.offers.list()}


def _preview(svc: Services, now: datetime, ref: str, change: Change, quantity: int | None,
             enabled: bool) -> previews.Preview:
    if change is Change.CANCEL:
        return previews.cancel(svc, now, ref)
    if change is Change.AUTO_RENEW:
        return previews.set_auto_renew(svc, now, ref, enabled)
    return previews.change_quantity(svc, now, ref, quantity or 0, at_renewal=change is Change.RENEWAL)


def _handler(ref: str, change: Change, quantity: int | None, enabled: bool
             ) -> tuple[str, Callable[[Services, datetime], Subscription]]:
    """The API's action name and the change handler the confirming POST runs."""
    if change is Change.CANCEL:
        return "cancel", lambda svc, now: handlers.cancel(svc, now, ref)
    if change is Change.AUTO_RENEW:
        return "auto-renew", lambda svc, now: handlers.set_auto_renew(svc, now, ref, enabled)
    return "change-quantity", lambda svc, now: handlers.change_quantity(
        svc, now, ref, quantity or 0, at_renewal=change is Change.RENEWAL)


def _perform(request: Request, user: WebUser, action: str, target: str, run: Callable[[Services, datetime], Any],
             before: Any) -> Any:
    """The change and its audit entry (actor: the portal user) in one transaction; a refusal rolls both back."""
    ctx = web(request)
    now = ctx.clock.now()
    with ctx.svc.uow() as uow:
        result = jsonable_encoder(run(lend(ctx.svc, uow), now))
        audit.append(uow, now, user.name, action, target, jsonable_encoder(before), result)
        uow.commit()
    return result


def _deadlines(request: Request, sub: Subscription) -> list[dict[str, Any]]:
    """Each deadline with its rule, as shown: instants in the reseller's zone, and whether it has passed."""
    ctx = web(request)
    now, zone = ctx.clock.now(), ctx.settings.zone
    rows = []
    for d in previews.deadlines(sub):
        if isinstance(d.at, datetime):
            text, passed = d.at.astimezone(zone).strftime("%Y-%m-%d %H:%M"), now > d.at
        else:
            text, passed = d.at.isoformat(), now.astimezone(zone).date() > d.at
        formula = d.formula_ja if language(request) == "ja" else d.formula_en
        rows.append({"key": d.key, "rule": d.rule, "text": text, "passed": passed, "formula": formula})
    return rows


Quantity = Annotated[int | None, Query(ge=1, le=1_000_000)]
FormQuantity = Annotated[int | None, Form(ge=1, le=1_000_000)]


def router() -> APIRouter:
    r = APIRouter(prefix="/portal", include_in_schema=False)

    @r.get("", response_class=HTMLResponse)
    def contracts(request: Request, user: Customer) -> HTMLResponse:
        svc = web(request).svc
        with svc.uow() as uow:
            subs = sorted(uow.subscriptions.for_customer(user.customer_ref or ""), key=lambda s: s.ref)
            customer = uow.customers.get(user.customer_ref or "")
        return render(request, "portal/index.html", customer=customer, subscriptions=subs, names=_offer_names(svc),
                      deadlines={s.ref: _deadlines(request, s) for s in subs})

    @r.get("/contracts/{ref}", response_class=HTMLResponse)
    def contract(request: Request, user: Customer, ref: str) -> HTMLResponse:
        svc = web(request).svc
        sub = _subscription(svc, user, ref)
        return render(request, "portal/contract.html", sub=sub, name=_offer_names(svc).get(sub.offer, sub.offer),
                      deadlines=_deadlines(request, sub))

    @r.get("/contracts/{ref}/preview", response_class=HTMLResponse)
    def preview(request: Request, user: Customer, ref: str, change: Change, quantity: Quantity = None,
                enabled: bool = False) -> HTMLResponse:
        """What the change would do (the document, or the refusal with its rule) before confirming."""
        ctx = web(request)
        sub = _subscription(ctx.svc, user, ref)
        found = _preview(ctx.svc, ctx.clock.now(), ref, change, quantity, enabled)
        return render(request, "portal/preview.html", sub=sub, name=_offer_names(ctx.svc).get(sub.offer, sub.offer),
                      change=change.value, quantity=quantity, enabled=enabled, p=found,
                      deadlines=_deadlines(request, sub),
                      refusal=None if found.refusal is None else found.refusal.message(language(request)))

    @r.post("/contracts/{ref}/confirm")
    def confirm(request: Request, user: Customer, ref: str, change: Annotated[Change, Form()],
                quantity: FormQuantity = None, enabled: Annotated[bool, Form()] = False) -> Response:
        svc = web(request).svc
        before = views.subscription(_subscription(svc, user, ref))
        action, run = _handler(ref, change, quantity, enabled)
        try:
            _perform(request, user, f"subscription.{action}", f"subscription:{ref}",
                     lambda lent, now: views.subscription(run(lent, now)), before)
        except DomainError as refused:  # e.g. the window closed between the preview and the confirmation
            message = f"{refused.code}: {refused.message(language(request))}"
            return redirect_with_flash(request, f"/portal/contracts/{ref}", message, "error")
        return redirect_with_flash(request, f"/portal/contracts/{ref}", t(request, f"pt.done.{change.value}"))

    @r.get("/invoices", response_class=HTMLResponse)
    def invoices(request: Request, user: Customer) -> HTMLResponse:
        with web(request).svc.uow() as uow:
            docs = list(reversed(uow.documents.list(user.customer_ref)))
        return render(request, "portal/invoices.html", documents=docs)

    @r.get("/invoices/{number}", response_class=HTMLResponse)
    def invoice(request: Request, user: Customer, number: str) -> HTMLResponse:
        doc = _document(web(request).svc, user, number)
        return render(request, "portal/invoice.html", doc=doc, names=_offer_names(web(request).svc))

    @r.get("/invoices/{number}/pdf")
    def invoice_pdf(request: Request, user: Customer, number: str) -> Response:
        ctx = web(request)
        _document(ctx.svc, user, number)
        pdf = printing.render_pdf(ctx.svc, number, issuer(ctx.settings), pdf_renderer(ctx.settings))
        return Response(pdf, media_type="application/pdf",
                        headers={"Content-Disposition": f'attachment; filename="{number}.pdf"'})

    @r.get("/relationships", response_class=HTMLResponse)
    def relationships(request: Request, user: Customer) -> HTMLResponse:
        svc = web(request).svc
        with svc.uow() as uow:
            found = [relationship_view(q, svc) for q in uow.parties.relationships.requests()
                     if q.customer_ref == user.customer_ref]
        return render(request, "portal/relationships.html", requests=list(reversed(found)))

    @r.post("/relationships/{ref}/accept")
    def accept(request: Request, user: Customer, ref: str) -> Response:
        """XFER-RELATIONSHIP: the customer's admin accepts the reseller's request (refused once expired)."""
        svc = web(request).svc
        with svc.uow() as uow:
            found = uow.parties.relationships.get(ref)
        if found is None or found.customer_ref != user.customer_ref:
            raise NotFound(f"no relationship request {ref}", f"販売店関係の要求 {ref} はありません", ref=ref)
        try:
            _perform(request, user, "relationship.accept", f"relationship:{ref}",
                     lambda lent, now: relationship_view(transfers.accept_relationship(lent, now, relationship=ref),
                                                         lent), relationship_view(found, svc))
        except DomainError as refused:
            message = f"{refused.code}: {refused.message(language(request))}"
            return redirect_with_flash(request, "/portal/relationships", message, "error")
        return redirect_with_flash(request, "/portal/relationships", t(request, "pt.done.accepted"))

    return r
