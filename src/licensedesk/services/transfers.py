"""Use cases of moving customers between partners (RULES.md §6): reseller relationship requests,
delegated admin (DAP/GDAP) and transfer plans, incoming and outgoing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from licensedesk.domain.errors import DomainError, InvalidInput, NotFound
from licensedesk.domain.parties import TenantOrigin
from licensedesk.domain.subscription import Notice
from licensedesk.domain.transfers import (
    AdminKind,
    LeavingSubscription,
    RelationshipRequest,
    SourceSubscription,
    TransferPlan,
    check_partner_region,
    plan_incoming,
    plan_outgoing,
)

from . import subscriptions as subscription_service
from .context import Services
from .lending import lend
from .parties import choice, fields_of, tenant_of
from .ports import UnitOfWork

RELATIONSHIP_EXPIRY = "relationship_expiry"  # deadline kinds run by the tick
GDAP_END = "gdap_end"


def _request(uow: UnitOfWork, ref: str) -> RelationshipRequest:
    found = uow.parties.relationships.get(ref)
    if found is None:
        raise NotFound(f"no relationship request {ref}", f"販売店関係の要求 {ref} はありません", ref=ref)
    return found


def request_relationship(svc: Services, now: datetime, *, ref: str, tenant: str, admin: str = "gdap",
                         gdap_days: int | None = None, partner: str | None = None) -> RelationshipRequest:
    """XFER-RELATIONSHIP: send a reseller relationship request (PARTNER-REGION, TEN-SYNDICATION checked)."""
    when = svc.when(now)
    with svc.uow() as uow:
        ten = tenant_of(uow, tenant)
        if uow.parties.relationships.get(ref) is not None:
            raise InvalidInput(f"relationship request {ref} already exists", f"{ref} は既に存在します",
                               code="DUPLICATE-REF", ref=ref)
        req = RelationshipRequest.send(ref, ten, when, choice(AdminKind, admin, "admin"), gdap_days, partner)
        uow.parties.relationships.add(req)
        uow.parties.deadlines.set(RELATIONSHIP_EXPIRY, ref, req.open_until + timedelta(days=1))
        uow.notices.add(Notice("relationship_request_sent", ref, when.today, "XFER-RELATIONSHIP",
                               {"tenant": tenant, "open_until": req.open_until.isoformat()}), ten.customer_ref, now)
        uow.commit()
        return req


def accept_relationship(svc: Services, now: datetime, *, relationship: str) -> RelationshipRequest:
    """The customer's admin accepts; delegated admin privileges start when the request asked for them."""
    with svc.uow() as uow:
        req = _request(uow, relationship)
        admin = req.accept(svc.when(now))
        uow.parties.relationships.save(req)
        uow.parties.deadlines.clear(RELATIONSHIP_EXPIRY, relationship)
        if admin is not None:
            uow.parties.relationships.add_admin(admin)
            if admin.ends_on is not None:
                uow.parties.deadlines.set(GDAP_END, req.tenant_ref, admin.ends_on + timedelta(days=1))
        uow.parties.details.add_event(req.tenant_ref, "relationship_accepted", now, "XFER-RELATIONSHIP",
                                      relationship=relationship, admin=req.admin.value)
        uow.commit()
        return req


def revoke_delegated_admin(svc: Services, now: datetime, *, tenant: str) -> None:
    """DAP-REVOKE: the customer's admin revokes this reseller's delegated admin privileges."""
    with svc.uow() as uow:
        ten = tenant_of(uow, tenant)
        admin = uow.parties.relationships.admin(tenant)
        if admin is None:
            raise InvalidInput(f"tenant {tenant} never granted delegated admin privileges",
                               f"テナント {tenant} に代理管理の権限はありません", code="NO-DELEGATED-ADMIN")
        notice = admin.revoke(svc.when(now))
        uow.parties.relationships.save_admin(admin)
        uow.parties.deadlines.clear(GDAP_END, tenant)
        uow.notices.add(notice, ten.customer_ref, now)
        uow.parties.details.add_event(tenant, "delegated_admin_revoked", now, "DAP-REVOKE", admin=admin.kind.value)
        uow.commit()


def relationship_expired(svc: Services, uow: UnitOfWork, ref: str, due_on: date) -> None:
    req = uow.parties.relationships.get(ref)
    notice = None if req is None else req.expire(due_on)
    if req is not None and notice is not None:
        uow.parties.relationships.save(req)
        uow.notices.add(notice, req.customer_ref, svc.start_of(due_on))


def gdap_ended(svc: Services, uow: UnitOfWork, tenant: str, due_on: date) -> None:
    admin = uow.parties.relationships.admin(tenant)
    if admin is not None and admin.expire(due_on):
        uow.parties.relationships.save_admin(admin)


def _local(value: Any, svc: Services) -> Any:
    """Instants in the reseller's time zone, as the report shows them."""
    if isinstance(value, datetime):
        return value.astimezone(svc.zone)
    if isinstance(value, dict):
        return {k: _local(v, svc) for k, v in value.items()}
    if isinstance(value, list):
        return [_local(v, svc) for v in value]
    return value


def day_of(value: Any, fld: str) -> date | None:
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(f"{fld}: not a date (YYYY-MM-DD): {value!r}", f"{fld}: 日付ではありません: {value!r}",
                           code="INVALID-INPUT", field=fld) from None


def _count(value: Any, fld: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput(f"{fld} must be a whole number ≥ 1, got {value!r}", f"{fld} は 1 以上の整数です",
                           code="INVALID-INPUT", field=fld)
    return value


def sources_from(raw: Sequence[Any]) -> list[SourceSubscription]:
    out = []
    for i, item in enumerate(raw):
        where = f"subscriptions[{i}]"
        f = fields_of(item, where, {"offer", "quantity", "ends", "retired", "equivalent", "provision"})
        target = fields_of(f.get("provision") or {}, f"{where}.provision", {"offer", "quantity"})
        out.append(SourceSubscription(
            str(f.get("offer", "")), _count(f.get("quantity"), f"{where}.quantity") or 0, day_of(f.get("ends"), where),
            bool(f.get("retired", False)), None if f.get("equivalent") is None else str(f["equivalent"]),
            None if target.get("offer") is None else str(target["offer"]),
            _count(target.get("quantity"), f"{where}.provision.quantity")))
        if not out[-1].offer or not out[-1].quantity:
            raise InvalidInput(f"{where} needs offer and quantity", f"{where} には offer と quantity が必要です",
                               code="INVALID-INPUT", field=where)
    return out


def plan_transfer(svc: Services, now: datetime, *, ref: str, tenant: str, direction: str,
                  subscriptions: Sequence[Any] | None = None, **options: Any) -> dict[str, Any]:
    """Draw up (and for an outgoing move, start) a transfer plan; stored with its advice."""
    with svc.uow() as uow:
        ten = tenant_of(uow, tenant)
        if uow.parties.relationships.plan_exists(ref):
            raise InvalidInput(f"transfer plan {ref} already exists", f"{ref} は既に存在します", code="DUPLICATE-REF")
        if direction == "incoming":
            plan = _incoming(svc, uow, ref, ten.ref, subscriptions or [], **options)
        elif direction == "outgoing":
            plan = _outgoing(svc, uow, now, ref, ten.ref, subscriptions, **options)
        else:
            raise InvalidInput(f"direction must be incoming or outgoing, got {direction!r}",
                               "direction は incoming か outgoing です", code="INVALID-INPUT", field="direction")
        body: dict[str, Any] = _local(plan.as_dict(), svc)
        uow.parties.relationships.add_plan(ref, ten.ref, ten.customer_ref, direction, now, body)
        uow.parties.details.add_event(ten.ref, f"transfer_plan_{direction}", now, plan.lines[0]["rule"], plan=ref)
        uow.commit()
        return body


def _incoming(svc: Services, uow: UnitOfWork, ref: str, tenant: str, raw: Sequence[Any], *,
              source: str | None = None, active_subscriptions: int | None = None,
              new_tenant: bool = False) -> TransferPlan:
    ten = tenant_of(uow, tenant)
    related = ten.origin is TenantOrigin.CSP or uow.parties.relationships.accepted(tenant)
    plan = plan_incoming(ref, ten, sources_from(raw), relationship_ok=related,
                         expired_days=svc.policy(None).expired_days,
                         active_subscriptions=_count(active_subscriptions, "active_subscriptions"),
                         new_tenant=new_tenant, source_channel=source, admin=uow.parties.relationships.admin(tenant))
    for i, line in enumerate(plan.lines):
        target: Mapping[str, Any] | None = line["provision"]
        if target is not None and uow.offers.get(target["offer"]) is None:
            raise InvalidInput(f"subscriptions[{i}]: offer {target['offer']} is not in the catalog; name one to "
                               "provision", f"subscriptions[{i}]: 商品 {target['offer']} はカタログにありません",
                               code="CATALOG-UNKNOWN-OFFER", field=f"subscriptions[{i}]")
    return plan


def _outgoing(svc: Services, uow: UnitOfWork, now: datetime, ref: str, tenant: str, refs: Sequence[Any] | None, *,
              to_partner: str | None = None, to_partner_region: str | Sequence[str] | None = None,
              new_tenant: bool = False) -> TransferPlan:
    """XFER-CANCEL-EXPIRE: turn auto-renew off on each subscription (the existing handler), then the plan."""
    ten = tenant_of(uow, tenant)
    region = [to_partner_region] if isinstance(to_partner_region, str) else list(to_partner_region or [])
    if region:
        check_partner_region(ten, region)  # before anything changes
    mine = [s for s in uow.subscriptions.for_customer(ten.customer_ref) if s.tenant == tenant]
    chosen = [s for s in mine if s.is_live] if refs is None else [s for s in mine if s.ref in set(map(str, refs))]
    if refs is not None and len(chosen) != len(set(refs)):
        missing = sorted(set(map(str, refs)) - {s.ref for s in chosen})
        raise NotFound(f"no subscription {missing[0]} on tenant {tenant}",
                       f"テナント {tenant} にサブスクリプション {missing[0]} はありません", ref=missing[0])
    leaving = []
    for sub in chosen:
        outcome = "already_off"
        if sub.auto_renew:
            try:
                subscription_service.set_auto_renew(lend(svc, uow), now, sub.ref, False)
                outcome = "turned_off"
            except DomainError as refused:
                outcome = refused.code
        after = uow.subscriptions.get(sub.ref) or sub
        leaving.append(LeavingSubscription(after.ref, after.offer, after.quantity, after.term_end,
                                           after.term.months, after.policy.expired_days, after.auto_renew, outcome))
    return plan_outgoing(ref, ten, leaving, partner=to_partner, region=region or None, new_tenant=new_tenant,
                         admin=uow.parties.relationships.admin(tenant))
