"""Placing an order: eligibility, what the policy offers, co-terminosity (COTERM), auto-renew default."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from .calendar import ONE_DAY, Billing, Term, add_months, month_end, term_end
from .catalog import Offer, OfferKind
from .errors import InvalidInput, RuleViolation
from .parties import Customer, Tenant
from .policy import Policy
from .subscription import Subscription, When, model_of


@dataclass(frozen=True)
class OrderRequest:
    ref: str
    offer: Offer
    term: Term
    billing: Billing
    quantity: int
    auto_renew: bool | None = None
    align_with: Subscription | None = None
    align_calendar_month: bool = False


def auto_renew_default(policy: Policy, customer: Customer) -> bool:
    """TERM-RENEW-EDU-GOV: education and government customers do not auto-renew unless they opt in."""
    return policy.auto_renew_default_edu_gov if customer.segment.is_edu_gov else policy.auto_renew_default


def _coterm_refusal(en: str, ja: str, **details: object) -> RuleViolation:
    return RuleViolation("COTERM", en, ja, dict(details))


def coterm_end(policy: Policy, customer: Customer, req: OrderRequest, start: date) -> date | None:
    """The first term's end date under COTERM, or ``None`` for a full first term."""
    if req.align_with is None and not req.align_calendar_month:
        return None
    if not policy.coterm:
        raise _coterm_refusal(f"policy {policy.name} has no end-date alignment",
                              f"ポリシー {policy.name} では終了日の調整はできません", policy=policy.name)
    if req.offer.kind in (OfferKind.AZURE, OfferKind.TRIAL, OfferKind.THIRD_PARTY, OfferKind.PERPETUAL):
        raise _coterm_refusal(f"{req.offer.kind.value} offers cannot be aligned",
                              f"{req.offer.kind.value} 商品は終了日を揃えられません", offer_kind=req.offer.kind.value)
    nominal_end = term_end(start, req.term.months)
    if req.align_calendar_month:
        return nominal_end if nominal_end == month_end(nominal_end) else nominal_end.replace(day=1) - ONE_DAY
    other = req.align_with
    assert other is not None
    if other.customer != customer.ref:
        raise _coterm_refusal("a subscription can only align with one of the same customer",
                              "同じお客様のサブスクリプションとのみ終了日を揃えられます", align_with=other.ref)
    if other.term is Term.P1M and req.term is not Term.P1M:
        raise _coterm_refusal("a P1Y or P3Y subscription may not align with a monthly (P1M) one",
                              "1年・3年契約は月間契約（P1M）と終了日を揃えられません", align_with=other.ref)
    if other.term_end is None or not other.is_live:
        raise _coterm_refusal(f"subscription {other.ref} is not active", f"{other.ref} は有効ではありません",
                              align_with=other.ref)
    end = other.term_end
    if not start <= end <= nominal_end:
        raise _coterm_refusal(
            f"the aligned end date {end} must fall inside the first term {start}…{nominal_end}",
            f"揃える終了日 {end} は初回期間 {start}〜{nominal_end} の中になければなりません",
            align_with=other.ref, end=end.isoformat(),
        )
    if req.term is Term.P1M and end != month_end(end) and end.day >= 28:
        pass  # Partner Center error 900245 concerns P1M alignment to 28th–30th; allowed here (decisions.md)
    return end


def place_order(policy: Policy, customer: Customer, tenant: Tenant, req: OrderRequest, when: When,
                unit_price: int) -> Subscription:
    """Create the subscription and let its billing model start it (charges, status, events)."""
    customer.check_eligible()
    tenant.check_can_hold_csp()
    if tenant.customer_ref != customer.ref:
        raise InvalidInput(f"tenant {tenant.ref} belongs to another customer", "テナントは別のお客様のものです",
                           code="TENANT-CUSTOMER")
    billing = Billing.ONE_TIME if req.offer.is_perpetual else req.billing
    if not req.offer.is_perpetual and not policy.allows(req.term, req.billing):
        raise InvalidInput(
            f"policy {policy.name} does not offer {req.term.value} billed {req.billing.value}",
            f"ポリシー {policy.name} では {req.term.value}・{req.billing.value} の契約はできません",
            code="TERM-NOT-OFFERED", term=req.term.value, billing=req.billing.value, policy=policy.name,
        )
    if req.quantity < 1:
        raise InvalidInput("quantity must be at least 1", "数量は 1 以上を指定してください", code="INVALID-QUANTITY")
    end = coterm_end(policy, customer, req, when.today)
    sub = Subscription(
        ref=req.ref, customer=customer.ref, tenant=tenant.ref, offer=req.offer.code, policy=policy,
        term=req.term, billing=billing, unit_price=unit_price, quantity=req.quantity,
        ordered_at=when.instant, customer_name=customer.name,
        auto_renew=(False if req.offer.is_perpetual  # ORD-PERPETUAL: no renewal rights
                    else auto_renew_default(policy, customer) if req.auto_renew is None else req.auto_renew),
        processed_through=when.today,
    )
    sub.record("ordered", when, "ORD-ADD-PRODUCT", offer=req.offer.code, term=req.term.value,
               billing=billing.value, quantity=req.quantity, unit_price=unit_price, policy=policy.binding)
    if req.offer.is_trial:
        from . import trial

        trial.place(sub, when, end)
    else:
        model_of(sub).place(sub, when, end)
    return sub


__all__ = ["OrderRequest", "add_months", "auto_renew_default", "coterm_end", "place_order"]
