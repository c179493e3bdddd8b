"""/api/v1 subscriptions: list, explain, order and every change (the CLI's and simulate's handlers)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from licensedesk.domain.errors import NotFound
from licensedesk.domain.subscription import Subscription
from licensedesk.services import party_orders
from licensedesk.services import subscriptions as handlers
from licensedesk.services.context import Services

from . import views
from .context import ApiContext, Caller, Ctx, IdempotencyKey, mutate, page
from .schemas import AutoRenewIn, BillingIn, OrderIn, Page, QuantityIn
from .security import Actor, Role

router = APIRouter(prefix="/subscriptions", tags=["subscriptions"])
SALES = (Role.SALES,)


def _load(svc: Services, actor: Actor, ref: str, *, events: bool) -> dict[str, Any]:
    with svc.uow() as uow:
        sub = uow.subscriptions.get(ref)
        if sub is None:
            raise NotFound(f"no subscription {ref}", f"サブスクリプション {ref} はありません", ref=ref)
        actor.scope(sub.customer)
        return views.subscription(sub, uow.subscriptions.events(ref) if events else None)


@router.get("", response_model=Page)
def list_subscriptions(ctx: Ctx, actor: Caller, limit: Annotated[int, Query(ge=1, le=500)] = 50,
                       offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
                       customer: Annotated[str | None, Query(max_length=64)] = None,
                       status: Annotated[str | None, Query(max_length=32)] = None) -> dict[str, Any]:
    """Subscriptions, optionally of one customer and/or in one status."""
    if actor.role is Role.CUSTOMER:
        customer = actor.customer if customer in (None, actor.customer) else "\x00none"
    with ctx.svc.uow() as uow:
        subs = uow.subscriptions.for_customer(customer) if customer else uow.subscriptions.all()
    items = [views.subscription(s) for s in sorted(subs, key=lambda s: s.ref)
             if status is None or s.status.value == status]
    return page(items, limit, offset)


@router.get("/{ref}")
def get_subscription(ctx: Ctx, actor: Caller, ref: str) -> dict[str, Any]:
    """The subscription, the rule and formula behind each date (``explain``) and its events."""
    return _load(ctx.svc, actor, ref, events=True)


@router.post("", status_code=201)
def order(ctx: Ctx, actor: Caller, request: Request, body: OrderIn, key: IdempotencyKey = None) -> JSONResponse:
    """Place an order (with the parties' checks); the invoice is issued at once where the preset says so."""
    fields = body.model_dump(mode="json")
    return mutate(ctx, request, actor, SALES, key, action="subscription.order", target=f"subscription:{body.ref}",
                  body=fields, status=201,
                  run=lambda svc, now: views.subscription(party_orders.order(svc, now, **fields)))


def _change(ctx: ApiContext, request: Request, actor: Actor, key: str | None, ref: str, action: str, body: Any,
            handler: Callable[[Services, datetime], Subscription]) -> JSONResponse:
    return mutate(ctx, request, actor, SALES, key, action=f"subscription.{action}", target=f"subscription:{ref}",
                  body=body, before=lambda svc: _load(svc, actor, ref, events=False),
                  run=lambda svc, now: views.subscription(handler(svc, now)))


@router.post("/{ref}/change-quantity")
def change_quantity(ctx: Ctx, actor: Caller, request: Request, ref: str, body: QuantityIn,
                    key: IdempotencyKey = None) -> JSONResponse:
    """Change the seat count now (NCE-REDUCE-168H, BILL-NO-PRORATE…) or for the renewal (TERM-REDUCE-1M)."""
    return _change(ctx, request, actor, key, ref, "change-quantity", body.model_dump(mode="json"),
                   lambda svc, now: handlers.change_quantity(svc, now, ref, body.quantity, at_renewal=body.at_renewal))


@router.post("/{ref}/auto-renew")
def auto_renew(ctx: Ctx, actor: Caller, request: Request, ref: str, body: AutoRenewIn,
               key: IdempotencyKey = None) -> JSONResponse:
    """Turn auto-renewal on or off (TERM-RENEW-OPTOUT-30D)."""
    return _change(ctx, request, actor, key, ref, "auto-renew", body.model_dump(mode="json"),
                   lambda svc, now: handlers.set_auto_renew(svc, now, ref, body.enabled))


@router.post("/{ref}/change-billing")
def change_billing(ctx: Ctx, actor: Caller, request: Request, ref: str, body: BillingIn,
                   key: IdempotencyKey = None) -> JSONResponse:
    """Change the billing frequency where allowed (TERM-NO-FREQ-CHANGE)."""
    return _change(ctx, request, actor, key, ref, "change-billing", body.model_dump(mode="json"),
                   lambda svc, now: handlers.change_billing(svc, now, ref, body.billing.value))


def _step(name: str, handler: Callable[..., Subscription], doc: str) -> None:
    def endpoint(ctx: Ctx, actor: Caller, request: Request, ref: str, key: IdempotencyKey = None) -> JSONResponse:
        return _change(ctx, request, actor, key, ref, name, {}, lambda svc, now: handler(svc, now, ref))

    endpoint.__doc__ = doc
    router.add_api_route(f"/{{ref}}/{name}", endpoint, methods=["POST"], name=name.replace("-", "_"))


_step("cancel", handlers.cancel, "Cancel (NCE-CANCEL-168H with its prorated credit, TERM-MIN-1Y, TERM-REDUCE-1M…).")
_step("activate", handlers.activate, "Provisioning done (annual-prepaid, ORD-FLOW); refused elsewhere.")
_step("suspend", handlers.suspend, "Suspend (SUB-SUSPEND).")
_step("reactivate", handlers.reactivate, "Reactivate a suspended subscription.")
