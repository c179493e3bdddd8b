"""Console page of a new order: customer's tenant, offer, term, billing, quantity, preset → price preview
(the real order, rolled back: unit price and the documents it would issue) → confirm (audited).

An order whose preset bills in advance (annual-prepaid) waits for payment; recording that payment on its
invoice (documents page) starts provisioning, exactly as the API and the bank matching do.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from licensedesk.domain.calendar import Billing, Term
from licensedesk.domain.errors import DomainError, InvalidInput
from licensedesk.domain.subscription import Subscription
from licensedesk.entrypoints.api import views
from licensedesk.presets import PRESET_NAMES
from licensedesk.services import console as queries
from licensedesk.services import party_orders
from licensedesk.services.context import Services

from .actions import perform, preview
from .render import redirect_with_flash, render, t
from .session import WebUser, language, require_staff, web

Sales = Annotated[WebUser, Depends(require_staff("sales"))]
REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
FIELDS = ("ref", "tenant", "offer", "term", "billing", "quantity", "policy", "auto_renew")


def _order(svc: Services, now: datetime, form: Mapping[str, str]) -> Subscription:
    ref = form.get("ref", "").strip()
    if not REF.fullmatch(ref):
        raise InvalidInput("the subscription ref: letters, digits, . _ - (up to 64)",
                           "サブスクリプションのコードは英数字と . _ - で 64 文字まで", code="INVALID-INPUT", field="ref")
    quantity = form.get("quantity", "").strip()
    if not quantity.isdigit() or not 1 <= int(quantity) <= 1_000_000:
        raise InvalidInput("quantity must be a whole number from 1 to 1,000,000",
                           "数量は 1〜1,000,000 の整数で入力してください", code="INVALID-INPUT", field="quantity")
    renew = {"on": True, "off": False}.get(form.get("auto_renew", ""))
    return party_orders.order(svc, now, ref=ref, tenant=form.get("tenant", ""), offer=form.get("offer", ""),
                              policy=form.get("policy") or None, term=form.get("term", "P1Y"),
                              billing=form.get("billing", "monthly"), quantity=int(quantity), auto_renew=renew)


def _choices(request: Request, customer: str) -> dict[str, Any]:
    svc = web(request).svc
    with svc.uow() as uow:
        offers = sorted(uow.offers.list(), key=lambda o: o.code)
    tenants = [x for x in queries.tenants(svc) if not customer or x.customer_ref == customer]
    return {"offers": offers, "tenants": tenants, "terms": [x.value for x in Term],
            "billings": [b.value for b in Billing], "presets": PRESET_NAMES}


async def _form(request: Request) -> dict[str, str]:
    data = await request.form()
    return {k: str(data.get(k, "")) for k in FIELDS}


def router() -> APIRouter:
    r = APIRouter(prefix="/console/orders", include_in_schema=False)

    @r.get("/new", response_class=HTMLResponse)
    def new(request: Request, user: Sales, customer: Annotated[str, Query(max_length=64)] = "") -> HTMLResponse:
        form = {"term": "P1Y", "billing": "monthly", "quantity": "1", "auto_renew": ""}
        return render(request, "console/order.html", form=form, dry=None, **_choices(request, customer))

    @r.post("/preview", response_class=HTMLResponse)
    async def order_preview(request: Request, user: Sales) -> HTMLResponse:
        form = await _form(request)
        dry = preview(request, lambda svc, now: _order(svc, now, form))
        return render(request, "console/order.html", form=form, dry=dry,
                      refusal_message=dry.refusal.message(language(request)) if dry.refusal else "",
                      **_choices(request, ""))

    @r.post("", response_class=HTMLResponse)
    async def order(request: Request, user: Sales) -> Response:
        form = await _form(request)
        try:
            perform(request, user, action="subscription.order", target=f"subscription:{form['ref']}",
                    run=lambda svc, now: views.subscription(_order(svc, now, form)))
        except DomainError as refused:
            return redirect_with_flash(request, "/console/orders/new",
                                       f"[{refused.code}] {refused.message(language(request))}", "error")
        return redirect_with_flash(request, f"/console/subscriptions/{form['ref']}",
                                   t(request, "order.done", ref=form["ref"]))

    return r
