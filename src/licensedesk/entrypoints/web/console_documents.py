"""Console pages of documents (invoices, credit notes): list, detail with the rule behind each line, PDF,
and billing's actions — record a payment, void, re-issue — through the API's handlers, audited."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from licensedesk.bootstrap import issuer, pdf_renderer
from licensedesk.domain.errors import DomainError, InvalidInput
from licensedesk.entrypoints.api import views
from licensedesk.services import console as queries
from licensedesk.services import printing, settlement
from licensedesk.services import subscriptions as handlers
from licensedesk.services.context import Services

from .actions import perform
from .render import redirect_with_flash, render, t
from .session import WebUser, language, require_staff, web

Staff = Annotated[WebUser, Depends(require_staff())]
Billing = Annotated[WebUser, Depends(require_staff("billing"))]
Filter = Annotated[str, Query(max_length=64)]

NAV_STAFF = [("/console/documents", "nav.documents")]


def _doc(svc: Services, number: str) -> dict[str, Any]:
    with svc.uow() as uow:
        return views.document(printing.get_document(uow, number))


def _amount(raw: str) -> int | None:
    raw = raw.strip().replace(",", "")
    if not raw:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise InvalidInput("the amount is a positive whole number of yen", "金額は正の整数（円）で入力してください",
                           code="INVALID-INPUT", field="amount")
    return int(raw)


def _act(request: Request, user: WebUser, number: str, action: str, run: Callable[[Services, datetime], Any],
         done: str) -> Response:
    try:
        perform(request, user, action=f"document.{action}", target=f"document:{number}",
                before=lambda svc: _doc(svc, number), run=run)
    except DomainError as refused:
        return redirect_with_flash(request, f"/console/documents/{number}",
                                   f"[{refused.code}] {refused.message(language(request))}", "error")
    return redirect_with_flash(request, f"/console/documents/{number}", done)


def router() -> APIRouter:
    r = APIRouter(prefix="/console/documents", include_in_schema=False)

    @r.get("", response_class=HTMLResponse)
    def documents(request: Request, user: Staff, customer: Filter = "", status: Filter = "",
                  kind: Filter = "") -> HTMLResponse:
        found = queries.documents(web(request).svc, customer=customer, status=status, kind=kind)
        return render(request, "console/documents.html", documents=found, customer=customer, status=status,
                      kind=kind)

    @r.get("/{number}", response_class=HTMLResponse)
    def document(request: Request, user: Staff, number: str) -> HTMLResponse:
        return render(request, "console/document.html", **queries.document_detail(web(request).svc, number))

    @r.get("/{number}/pdf")
    def pdf(request: Request, user: Staff, number: str) -> Response:
        ctx = web(request)
        body = printing.render_pdf(ctx.svc, number, issuer(ctx.settings), pdf_renderer(ctx.settings))
        return Response(body, media_type="application/pdf",
                        headers={"Content-Disposition": f'attachment; filename="{number}.pdf"'})

    @r.post("/{number}/pay")
    def pay(request: Request, user: Billing, number: str, amount: Annotated[str, Form(max_length=20)] = "") -> Response:
        def run(svc: Services, now: datetime) -> dict[str, Any]:
            result = handlers.pay(svc, now, number, _amount(amount))
            return {**_doc(svc, number), "applied": result["applied"], "credited": result["credited"]}

        return _act(request, user, number, "pay", run, t(request, "document.paid", number=number))

    @r.post("/{number}/void")
    def void(request: Request, user: Billing, number: str, reason: Annotated[str, Form(max_length=255)] = "") -> Response:
        def run(svc: Services, now: datetime) -> dict[str, Any]:
            if not reason.strip():
                raise InvalidInput("give the reason for voiding", "取消の理由を入力してください", code="INVALID-INPUT",
                                   field="reason")
            settlement.void(svc, now, number, reason.strip())
            return _doc(svc, number)

        return _act(request, user, number, "void", run, t(request, "document.voided", number=number))

    @r.post("/{number}/reissue")
    def reissue(request: Request, user: Billing, number: str) -> Response:
        try:
            new = perform(request, user, action="document.reissue", target=f"document:{number}",
                          before=lambda svc: _doc(svc, number),
                          run=lambda svc, now: _doc(svc, settlement.reissue(svc, now, number)))
        except DomainError as refused:
            return redirect_with_flash(request, f"/console/documents/{number}",
                                       f"[{refused.code}] {refused.message(language(request))}", "error")
        return redirect_with_flash(request, f"/console/documents/{new['number']}",
                                   t(request, "document.reissued", number=number, new=new["number"]))

    return r
