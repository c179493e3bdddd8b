"""Use cases on licence assignments in a tenant (ORD-IDS)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from licensedesk.domain.errors import InvalidInput
from licensedesk.domain.licences import check_assignment

from .context import Services
from .parties import tenant_of
from .ports import UnitOfWork


def purchased(uow: UnitOfWork, tenant: str, customer: str) -> dict[str, int]:
    """Licences bought per offer on a tenant: the live subscriptions' quantities, pooled."""
    out: dict[str, int] = {}
    for sub in uow.subscriptions.for_customer(customer):
        if sub.tenant == tenant and sub.is_live:
            out[sub.offer] = out.get(sub.offer, 0) + sub.quantity
    return out


def _users(users: Sequence[str]) -> list[str]:
    names = [str(u).strip() for u in users]
    if not names or not all(names) or len(set(names)) != len(names):
        raise InvalidInput("users must be a non-empty list of distinct names", "users には重複のない利用者名を指定します",
                           code="INVALID-INPUT", field="users")
    return names


def assign(svc: Services, now: datetime, tenant: str, offer: str, users: Sequence[str]) -> list[str]:
    with svc.uow() as uow:
        found = tenant_of(uow, tenant)
        assigned = uow.parties.licences.users(tenant, offer)
        adding = [u for u in _users(users) if u not in assigned]
        check_assignment(tenant, offer, purchased(uow, tenant, found.customer_ref).get(offer, 0), assigned, adding)
        for user in adding:
            uow.parties.licences.assign(tenant, offer, user, now)
        uow.parties.details.add_event(tenant, "licences_assigned", now, "ORD-IDS", offer=offer, users=adding)
        uow.commit()
        return assigned + adding


def unassign(svc: Services, now: datetime, tenant: str, offer: str, users: Sequence[str]) -> list[str]:
    with svc.uow() as uow:
        tenant_of(uow, tenant)
        for user in _users(users):
            if not uow.parties.licences.unassign(tenant, offer, user):
                raise InvalidInput(f"{user} holds no {offer} licence in {tenant}",
                                   f"{user} には {tenant} の {offer} ライセンスが割り当てられていません",
                                   code="NOT-ASSIGNED", user=user)
        uow.parties.details.add_event(tenant, "licences_unassigned", now, "ORD-IDS", offer=offer, users=list(users))
        uow.commit()
        return uow.parties.licences.users(tenant, offer)
