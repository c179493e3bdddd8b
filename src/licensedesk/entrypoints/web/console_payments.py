"""Console page of payments: upload a bank statement (CSV), the queue of deposits no invoice matched, and
matching one by hand — the bank handlers of ``licensedesk bank``, audited."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from licensedesk.domain.errors import DomainError, InvalidInput
from licensedesk.services import bank
from licensedesk.services import console as queries

from .actions import perform
from .render import redirect_with_flash, render, t
from .session import WebUser, language, require_staff, web

Staff = Annotated[WebUser, Depends(require_staff())]
Billing = Annotated[WebUser, Depends(require_staff("billing"))]
MAX_STATEMENT_BYTES = 5 * 1024 * 1024

NAV_STAFF = [("/console/payments", "nav.payments")]


def _refused(request: Request, refused: DomainError) -> Response:
    return redirect_with_flash(request, "/console/payments", f"[{refused.code}] {refused.message(language(request))}",
                               "error")


def router() -> APIRouter:
    r = APIRouter(prefix="/console/payments", include_in_schema=False)

    @r.get("", response_class=HTMLResponse)
    def payments(request: Request, user: Staff) -> HTMLResponse:
        svc = web(request).svc
        deposits = bank.deposits(svc)
        return render(request, "console/payments.html", unmatched=[d for d in deposits if d["status"] == "unmatched"],
                      deposits=list(reversed(deposits))[:50], invoices=queries.open_invoices(svc),
                      customers=queries.customers(svc))

    @r.post("/import")
    async def upload(request: Request, user: Billing, statement: UploadFile) -> Response:
        data = await statement.read(MAX_STATEMENT_BYTES + 1)
        try:
            if len(data) > MAX_STATEMENT_BYTES:
                raise InvalidInput("the file is larger than 5 MB", "ファイルが 5 MB を超えています", code="INVALID-INPUT")
            report = perform(request, user, action="bank.import", target=f"statement:{statement.filename}",
                             run=lambda svc, now: _report(bank.import_deposits(svc, now, bank.decode_statement(data))))
        except (DomainError, UnicodeDecodeError) as refused:
            if isinstance(refused, UnicodeDecodeError):
                refused = InvalidInput("not a text file", "テキストファイルではありません", code="INVALID-INPUT")
            return _refused(request, refused)
        return redirect_with_flash(request, "/console/payments", t(
            request, "bank.imported", read=report["read"], duplicates=report["duplicates"],
            matched=len(report["matched"]), unmatched=len(report["unmatched"])))

    @r.post("/{deposit_id}/match")
    async def match(request: Request, user: Billing, deposit_id: int) -> Response:
        numbers = [str(n) for n in (await request.form()).getlist("invoice") if str(n).strip()]
        try:
            perform(request, user, action="deposit.match", target=f"deposit:{deposit_id}",
                    run=lambda svc, now: bank.match(svc, now, deposit_id, numbers))
        except DomainError as refused:
            return _refused(request, refused)
        return redirect_with_flash(request, "/console/payments",
                                   t(request, "bank.matched", deposit=deposit_id, invoices=", ".join(numbers)))

    @r.post("/{deposit_id}/credit")
    def credit(request: Request, user: Billing, deposit_id: int,
               customer: Annotated[str, Form(max_length=64)] = "") -> Response:
        try:
            perform(request, user, action="deposit.credit", target=f"deposit:{deposit_id}",
                    run=lambda svc, now: {"balance": bank.credit_to_customer(svc, now, deposit_id, customer)})
        except DomainError as refused:
            return _refused(request, refused)
        return redirect_with_flash(request, "/console/payments",
                                   t(request, "bank.credited", deposit=deposit_id, customer=customer))

    return r


def _report(report: bank.ImportReport) -> dict[str, Any]:
    return {"read": report.read, "duplicates": report.duplicates, "matched": report.matched,
            "unmatched": report.unmatched}
