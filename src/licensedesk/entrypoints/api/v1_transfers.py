"""/api/v1 moving customers between partners (RULES.md §6): reseller relationship requests, delegated admin
and transfer plans — the handlers of ``services/transfers``.

Sales send requests and draw up plans. The customer's own admin accepts a relationship request and may revoke
delegated admin privileges, so a customer user may do both for its own tenants (404 for anyone else's).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field, StrictBool

from licensedesk.domain.errors import NotFound
from licensedesk.domain.transfers import RelationshipRequest
from licensedesk.services import parties, transfers
from licensedesk.services.context import Services

from .context import Caller, Ctx, IdempotencyKey, mutate, page
from .schemas import Body, Int, Page, Ref
from .security import STAFF, Actor, Role, require

router = APIRouter(tags=["transfers"])
SALES = (Role.SALES,)
SALES_OR_OWNER = (Role.SALES, Role.CUSTOMER)
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=10**9)]
Short = Annotated[str, Field(min_length=1, max_length=64)]


class RelationshipIn(Body):
    ref: Ref
    tenant: Ref
    admin: Literal["none", "dap", "gdap"] = "gdap"
    gdap_days: Annotated[Int, Field(ge=1, le=730)] | None = None
    partner: Short | None = None


class SourceIn(Body):
    offer: Short
    quantity: Annotated[Int, Field(ge=1, le=1_000_000)]
    ends: date | None = None
    retired: StrictBool = False
    equivalent: Short | None = None
    provision: dict[Literal["offer", "quantity"], Short | Annotated[Int, Field(ge=1, le=1_000_000)]] | None = None


class PlanIn(Body):
    ref: Ref
    tenant: Ref
    direction: Literal["incoming", "outgoing"]
    subscriptions: Annotated[list[SourceIn], Field(max_length=200)] = Field(
        default=[], description="incoming: the customer's current subscriptions elsewhere")
    refs: Annotated[list[Ref], Field(max_length=200)] | None = Field(
        default=None, description="outgoing: the subscriptions that leave (default: every live one)")
    source: Literal["direct", "partner", "open", "trial", "ea"] | None = None
    active_subscriptions: Annotated[Int, Field(ge=1, le=10**6)] | None = None
    to_partner: Short | None = None
    to_partner_region: Annotated[list[Short], Field(max_length=10)] | None = None
    new_tenant: StrictBool = False


def relationship_view(r: RelationshipRequest, svc: Services) -> dict[str, Any]:
    def local(value: datetime | None) -> datetime | None:
        return None if value is None else value.astimezone(svc.zone)

    return {"ref": r.ref, "tenant": r.tenant_ref, "customer": r.customer_ref, "status": r.status.value,
            "sent_at": local(r.sent_at), "open_until": r.open_until, "accepted_at": local(r.accepted_at),
            "closed_on": r.closed_on, "admin": r.admin.value, "gdap_days": r.gdap_days, "partner": r.partner,
            "rule": "XFER-RELATIONSHIP"}


def _relationship(svc: Services, actor: Actor, ref: str) -> dict[str, Any]:
    with svc.uow() as uow:
        found = uow.parties.relationships.get(ref)
    if found is None:
        raise NotFound(f"no relationship request {ref}", f"販売店関係の要求 {ref} はありません", ref=ref)
    actor.scope(found.customer_ref)
    return relationship_view(found, svc)


def _admin(svc: Services, actor: Actor, tenant: str) -> dict[str, Any]:
    with svc.uow() as uow:
        ten = parties.tenant_of(uow, tenant)
        actor.scope(ten.customer_ref)
        admin = uow.parties.relationships.admin(tenant)
    return {"tenant": tenant, "delegated_admin": None if admin is None else admin.as_dict()}


@router.get("/relationships", response_model=Page)
def list_relationships(ctx: Ctx, actor: Caller, limit: Limit = 50, offset: Offset = 0,
                       status: Annotated[str | None, Query(max_length=16)] = None) -> dict[str, Any]:
    """Reseller relationship requests (sent, accepted, expired); a customer user sees its own."""
    require(actor, (*STAFF, Role.CUSTOMER))
    with ctx.svc.uow() as uow:
        found = uow.parties.relationships.requests()
    items = [relationship_view(r, ctx.svc) for r in found
             if (actor.role is not Role.CUSTOMER or r.customer_ref == actor.customer)
             and (status is None or r.status.value == status)]
    return page(items, limit, offset)


@router.get("/relationships/{ref}")
def get_relationship(ctx: Ctx, actor: Caller, ref: str) -> dict[str, Any]:
    return _relationship(ctx.svc, actor, ref)


@router.post("/relationships", status_code=201)
def request_relationship(ctx: Ctx, actor: Caller, request: Request, body: RelationshipIn,
                         key: IdempotencyKey = None) -> JSONResponse:
    """Send a reseller relationship request (XFER-RELATIONSHIP; PARTNER-REGION, TEN-SYNDICATION checked)."""
    fields = body.model_dump()
    return mutate(ctx, request, actor, SALES, key, action="relationship.request", target=f"relationship:{body.ref}",
                  body=fields, status=201,
                  run=lambda svc, now: relationship_view(transfers.request_relationship(svc, now, **fields), svc))


@router.post("/relationships/{ref}/accept")
def accept_relationship(ctx: Ctx, actor: Caller, request: Request, ref: str,
                        key: IdempotencyKey = None) -> JSONResponse:
    """The customer's admin accepts (XFER-RELATIONSHIP): refused once the request expired; delegated admin
    starts when the request asked for it. Sales may record an acceptance made elsewhere."""
    return mutate(ctx, request, actor, SALES_OR_OWNER, key, action="relationship.accept",
                  target=f"relationship:{ref}", body={}, before=lambda svc: _relationship(svc, actor, ref),
                  run=lambda svc, now: relationship_view(transfers.accept_relationship(svc, now, relationship=ref),
                                                         svc))


@router.get("/tenants/{ref}/delegated-admin")
def delegated_admin(ctx: Ctx, actor: Caller, ref: str) -> dict[str, Any]:
    """The tenant's latest delegated admin record (DAP/GDAP: active, revoked or expired)."""
    return _admin(ctx.svc, actor, ref)


@router.post("/tenants/{ref}/revoke-delegated-admin")
def revoke_delegated_admin(ctx: Ctx, actor: Caller, request: Request, ref: str,
                           key: IdempotencyKey = None) -> JSONResponse:
    """The customer's admin revokes this reseller's delegated admin privileges (DAP-REVOKE)."""
    def run(svc: Services, now: datetime) -> dict[str, Any]:
        transfers.revoke_delegated_admin(svc, now, tenant=ref)
        return _admin(svc, actor, ref)

    return mutate(ctx, request, actor, SALES_OR_OWNER, key, action="tenant.revoke-delegated-admin",
                  target=f"tenant:{ref}", body={}, before=lambda svc: _admin(svc, actor, ref), run=run)


@router.get("/transfer-plans", response_model=Page)
def list_plans(ctx: Ctx, actor: Caller, limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
    """Transfer plans with their lines and advice (staff only)."""
    require(actor, STAFF)
    with ctx.svc.uow() as uow:
        return page(uow.parties.relationships.plans(), limit, offset)


@router.get("/transfer-plans/{ref}")
def get_plan(ctx: Ctx, actor: Caller, ref: str) -> dict[str, Any]:
    require(actor, STAFF)
    return _plan(ctx.svc, ref)


def _plan(svc: Services, ref: str) -> dict[str, Any]:
    with svc.uow() as uow:
        found = [p for p in uow.parties.relationships.plans() if p["ref"] == ref]
    if not found:
        raise NotFound(f"no transfer plan {ref}", f"移管計画 {ref} はありません", ref=ref)
    return found[0]


@router.post("/transfer-plans", status_code=201)
def plan_transfer(ctx: Ctx, actor: Caller, request: Request, body: PlanIn, key: IdempotencyKey = None
                  ) -> JSONResponse:
    """Draw up a transfer plan (XFER-*); an outgoing one turns auto-renew off on each subscription
    (XFER-CANCEL-EXPIRE) in the same transaction."""
    if body.direction == "incoming":
        options: dict[str, Any] = {"source": body.source, "active_subscriptions": body.active_subscriptions,
                                   "subscriptions": [s.model_dump(exclude_none=True) for s in body.subscriptions]}
    else:
        options = {"to_partner": body.to_partner, "to_partner_region": body.to_partner_region,
                   "subscriptions": body.refs}

    def run(svc: Services, now: datetime) -> dict[str, Any]:
        transfers.plan_transfer(svc, now, ref=body.ref, tenant=body.tenant, direction=body.direction,
                                new_tenant=body.new_tenant, **options)
        return _plan(svc, body.ref)

    return mutate(ctx, request, actor, SALES, key, action="transfer.plan", target=f"transfer-plan:{body.ref}",
                  body=body.model_dump(mode="json"), status=201, run=run)
