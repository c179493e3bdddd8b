"""/api/v1 documents: invoices and credit notes, their PDF, payments and voids."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from licensedesk.bootstrap import issuer, pdf_renderer
from licensedesk.services import printing, settlement
from licensedesk.services import subscriptions as handlers
from licensedesk.services.context import Services

from . import views
from .context import Caller, Ctx, IdempotencyKey, mutate, page
from .schemas import Page, PayIn, VoidIn
from .security import Actor, Role

router = APIRouter(prefix="/documents", tags=["documents"])
BILLING = (Role.BILLING,)


def _load(svc: Services, actor: Actor, number: str) -> dict[str, Any]:
    with svc.uow() as uow:
        doc = printing.get_document(uow, number)
    actor.scope(doc["customer_ref"])
    return views.document(doc)


@router.get("", response_model=Page)
def list_documents(ctx: Ctx, actor: Caller, limit: Annotated[int, Query(ge=1, le=500)] = 50,
                   offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
                   customer: Annotated[str | None, Query(max_length=64)] = None,
                   status: Annotated[str | None, Query(max_length=16)] = None,
                   kind: Annotated[str | None, Query(max_length=16)] = None) -> dict[str, Any]:
    """Documents in issue order, optionally of one customer, status (issued, paid, void) or kind."""
    if actor.role is Role.CUSTOMER:
        customer = actor.customer if customer in (None, actor.customer) else "\x00none"
    with ctx.svc.uow() as uow:
        docs = uow.documents.list(customer) if customer else uow.documents.list()
    items = [views.document(d) for d in docs
             if (status is None or d["status"] == status) and (kind is None or d["kind"] == kind)]
    return page(items, limit, offset)


@router.get("/{number}")
def get_document(ctx: Ctx, actor: Caller, number: str) -> dict[str, Any]:
    """A document with its lines, the rule and formula of each line, tax per rate and payments so far."""
    return _load(ctx.svc, actor, number)


@router.get("/{number}/pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}, "description": "the qualified invoice as PDF"}})
def document_pdf(ctx: Ctx, actor: Caller, number: str) -> Response:
    _load(ctx.svc, actor, number)
    pdf = printing.render_pdf(ctx.svc, number, issuer(ctx.settings), pdf_renderer(ctx.settings))
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{number}.pdf"'})


@router.post("/{number}/pay")
def pay(ctx: Ctx, actor: Caller, request: Request, number: str, body: PayIn,
        key: IdempotencyKey = None) -> JSONResponse:
    """Record a payment (default: what is open); an excess goes to the credit balance (D-OVERPAY-CREDIT)."""
    return mutate(ctx, request, actor, BILLING, key, action="document.pay", target=f"document:{number}",
                  body=body.model_dump(mode="json"), before=lambda svc: _load(svc, actor, number),
                  run=lambda svc, now: _paid(svc, number, handlers.pay(svc, now, number, body.amount)))


def _paid(svc: Services, number: str, result: dict[str, Any]) -> dict[str, Any]:
    with svc.uow() as uow:
        doc = views.document(printing.get_document(uow, number))
    return {**doc, "applied": result["applied"], "credited": result["credited"]}


@router.post("/{number}/void")
def void(ctx: Ctx, actor: Caller, request: Request, number: str, body: VoidIn,
         key: IdempotencyKey = None) -> JSONResponse:
    """Void a document nothing was paid on (DOC-PAID otherwise: correct it with a credit note)."""
    def run(svc: Services, now: datetime) -> dict[str, Any]:
        settlement.void(svc, now, number, body.reason)
        return _load(svc, actor, number)

    return mutate(ctx, request, actor, BILLING, key, action="document.void", target=f"document:{number}",
                  body=body.model_dump(mode="json"), before=lambda svc: _load(svc, actor, number), run=run)
