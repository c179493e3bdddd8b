"""/api/v1 customers, tenants and catalog offers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from licensedesk.domain.errors import NotFound
from licensedesk.services import parties, preferences
from licensedesk.services.context import Services

from . import views
from .context import Caller, Ctx, IdempotencyKey, mutate, page
from .schemas import CustomerIn, MailLanguageIn, Page, TenantIn
from .security import STAFF, Role, require

router = APIRouter()
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=10**9)]
SALES = (Role.SALES,)


@router.get("/customers", response_model=Page, tags=["customers"])
def list_customers(ctx: Ctx, actor: Caller, limit: Limit = 50, offset: Offset = 0,
                   country: Annotated[str | None, Query(max_length=2)] = None) -> dict[str, Any]:
    """Customers by ref; a customer user sees only itself."""
    with ctx.svc.uow() as uow:
        found = uow.parties.details.customers()
    items = [views.customer(c) for c in sorted(found, key=lambda c: c.ref)
             if (actor.role is not Role.CUSTOMER or c.ref == actor.customer)
             and (country is None or c.country == country.upper())]
    return page(items, limit, offset)


@router.get("/customers/{ref}", tags=["customers"])
def get_customer(ctx: Ctx, actor: Caller, ref: str) -> dict[str, Any]:
    actor.scope(ref)
    with ctx.svc.uow() as uow:
        return views.customer(parties.customer_of(uow, ref))


@router.post("/customers", status_code=201, tags=["customers"])
def create_customer(ctx: Ctx, actor: Caller, request: Request, body: CustomerIn,
                    key: IdempotencyKey = None) -> JSONResponse:
    """Register a customer (法人番号 check digit, ELIG-CORP / -DOMESTIC / -NO-RESALE / -GROUP)."""
    fields = body.model_dump(mode="json")
    return mutate(ctx, request, actor, SALES, key, action="customer.create", target=f"customer:{body.ref}",
                  body=fields, status=201,
                  run=lambda svc, now: views.customer(parties.register_customer(svc, now, **fields)))


@router.get("/customers/{ref}/mail-language", tags=["customers"])
def get_mail_language(ctx: Ctx, actor: Caller, ref: str) -> dict[str, Any]:
    """The language of the customer's notices by e-mail: ``ja`` unless it chose ``en`` (D-MAIL-LANGUAGE)."""
    actor.scope(ref)
    with ctx.svc.uow() as uow:
        parties.customer_of(uow, ref)  # 404 for a customer that does not exist
    return {"customer": ref, "mail_language": preferences.mail_language(ctx.svc, ref)}


@router.post("/customers/{ref}/mail-language", tags=["customers"])
def set_mail_language(ctx: Ctx, actor: Caller, request: Request, ref: str, body: MailLanguageIn,
                      key: IdempotencyKey = None) -> JSONResponse:
    """Change the language of the customer's notices by e-mail (who talks to the customer: sales, billing, admin,
    as on the console's customer page); audited as ``customer.mail_language``."""

    def change(svc: Services, now: datetime) -> dict[str, str]:
        preferences.set_mail_language(svc, now, ref, body.language)
        return {"customer": ref, "mail_language": body.language}

    return mutate(ctx, request, actor, (Role.SALES, Role.BILLING), key, action="customer.mail_language",
                  target=f"customer:{ref}", body=body.model_dump(mode="json"), run=change,
                  before=lambda svc: {"mail_language": preferences.mail_language(svc, ref)})


@router.post("/tenants", status_code=201, tags=["tenants"])
def create_tenant(ctx: Ctx, actor: Caller, request: Request, body: TenantIn,
                  key: IdempotencyKey = None) -> JSONResponse:
    """Register a tenant for a customer (TEN-REGION, TEN-SYNDICATION, TEN-NO-MERGE…)."""
    fields = body.model_dump(mode="json")
    return mutate(ctx, request, actor, SALES, key, action="tenant.create", target=f"tenant:{body.ref}",
                  body=fields, status=201,
                  run=lambda svc, now: views.tenant(parties.register_tenant(svc, now, **fields)))


@router.get("/tenants/{ref}", tags=["tenants"])
def get_tenant(ctx: Ctx, actor: Caller, ref: str) -> dict[str, Any]:
    with ctx.svc.uow() as uow:
        found = parties.tenant_of(uow, ref)
    actor.scope(found.customer_ref)
    return views.tenant(found)


@router.get("/offers", response_model=Page, tags=["catalog"])
def list_offers(ctx: Ctx, actor: Caller, limit: Limit = 50, offset: Offset = 0,
                kind: Annotated[str | None, Query(max_length=16)] = None) -> dict[str, Any]:
    """The catalog with its price rows (every role, customers included)."""
    require(actor, (*STAFF, Role.CUSTOMER))
    with ctx.svc.uow() as uow:
        offers = uow.offers.list()
    items = [views.offer(o) for o in sorted(offers, key=lambda o: o.code) if kind is None or o.kind.value == kind]
    return page(items, limit, offset)


@router.get("/offers/{code}", tags=["catalog"])
def get_offer(ctx: Ctx, actor: Caller, code: str) -> dict[str, Any]:
    with ctx.svc.uow() as uow:
        found = uow.offers.get(code)
    if found is None:
        raise NotFound(f"no offer {code}", f"商品 {code} はありません", ref=code)
    return views.offer(found)
