"""/api/v1 previews of subscription changes: what a change would charge or refund (the document drafted
as it would be issued, tax included), the state after it, or the refusal with its rule ID, and the
deadlines that apply — nothing is saved, so no Idempotency-Key and no audit entry. The customer portal
shows the same preview (``services/previews``) before the customer confirms.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.encoders import jsonable_encoder

from licensedesk.domain.billing import DocumentDraft
from licensedesk.services import previews
from licensedesk.services.context import Services

from .context import Caller, Ctx
from .errors import language
from .schemas import AutoRenewIn, QuantityIn
from .security import STAFF, Actor, Role, require

router = APIRouter(prefix="/subscriptions", tags=["subscriptions"])
READERS = (*STAFF, Role.CUSTOMER)


def draft_view(d: DocumentDraft) -> dict[str, Any]:
    return {"kind": d.kind.value, "issue_date": d.issue_date, "due_date": d.due_date, "subtotal": d.subtotal,
            "tax": d.tax, "total": d.total,
            "lines": [{"kind": ln.kind.value, "quantity": ln.quantity, "unit_amount": ln.unit_amount,
                       "amount": ln.amount, "period_start": ln.period_start, "period_end": ln.period_end,
                       "explain": ln.why.as_dict()} for ln in d.lines]}


def preview_view(p: previews.Preview, lang: str) -> dict[str, Any]:
    refusal = None if p.refusal is None else {"code": p.refusal.code, "message": p.refusal.message(lang),
                                              "details": p.refusal.details}
    view: dict[str, Any] = jsonable_encoder({
        "ref": p.ref, "action": p.action, "allowed": p.allowed, "rules": p.rules, "before": p.before,
        "after": p.after, "documents": [draft_view(d) for d in p.documents], "refusal": refusal,
        "deadlines": [{"key": d.key, "rule": d.rule, "at": d.at, "formula": {"en": d.formula_en, "ja": d.formula_ja}}
                      for d in p.deadlines]})
    return view


def _scoped(svc: Services, actor: Actor, ref: str) -> None:
    require(actor, READERS)
    with svc.uow() as uow:
        sub = uow.subscriptions.get(ref)
    if sub is not None:
        actor.scope(sub.customer)  # a missing one answers the handler's own 404


@router.post("/{ref}/change-quantity/preview")
def preview_quantity(ctx: Ctx, actor: Caller, request: Request, ref: str, body: QuantityIn) -> dict[str, Any]:
    """What changing the seat count would charge or refund (PRICE-ONE, NCE-REDUCE-168H, TERM-REDUCE-1M)."""
    _scoped(ctx.svc, actor, ref)
    found = previews.change_quantity(ctx.svc, ctx.clock.now(), ref, body.quantity, at_renewal=body.at_renewal)
    return preview_view(found, language(request))


@router.post("/{ref}/auto-renew/preview")
def preview_auto_renew(ctx: Ctx, actor: Caller, request: Request, ref: str, body: AutoRenewIn) -> dict[str, Any]:
    """Whether auto-renew can be changed now, and the opt-out deadline (TERM-RENEW-OPTOUT-30D)."""
    _scoped(ctx.svc, actor, ref)
    return preview_view(previews.set_auto_renew(ctx.svc, ctx.clock.now(), ref, body.enabled), language(request))


@router.post("/{ref}/cancel/preview")
def preview_cancel(ctx: Ctx, actor: Caller, request: Request, ref: str) -> dict[str, Any]:
    """The refund a cancellation would give now, or the refusal (NCE-CANCEL-168H)."""
    _scoped(ctx.svc, actor, ref)
    return preview_view(previews.cancel(ctx.svc, ctx.clock.now(), ref), language(request))
