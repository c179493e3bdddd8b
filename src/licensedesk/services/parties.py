"""Use cases on customers and tenants (RULES.md §1): registration with details, VL licences, merges."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from licensedesk.domain.errors import InvalidInput, NotFound
from licensedesk.domain.parties import (
    Address,
    Contact,
    Customer,
    Entity,
    Purpose,
    Segment,
    Tenant,
    TenantOrigin,
)
from licensedesk.domain.parties import (
    corporate_number as valid_corporate_number,
)

from . import lookups
from .context import Services
from .ports import UnitOfWork
from .ports_parties import TenantForOrder

E = TypeVar("E", bound=StrEnum)


def choice(kind: type[E], value: str, field: str) -> E:
    """``value`` as a member of ``kind``, or InvalidInput naming the field and the allowed values."""
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        raise InvalidInput(f"{field} must be one of {allowed}, got {value!r}",
                           f"{field} は {allowed} のいずれかです（指定: {value!r}）", code="INVALID-INPUT",
                           field=field) from None


def fields_of(raw: Any, field: str, allowed: set[str]) -> Mapping[str, Any]:
    """A nested mapping of input (address, a contact…) with only known keys, or InvalidInput naming the key."""
    if not isinstance(raw, Mapping):
        raise InvalidInput(f"{field} must be a mapping", f"{field} は項目と値の対応で指定します", code="INVALID-INPUT",
                           field=field)
    extra = sorted(set(map(str, raw)) - allowed)
    if extra:
        raise InvalidInput(f"{field}: unknown field {extra[0]!r}", f"{field}: 不明な項目 {extra[0]!r}",
                           code="INVALID-INPUT", field=f"{field}.{extra[0]}")
    return raw


def address_from(raw: Any) -> Address | None:
    if raw is None:
        return None
    f = fields_of(raw, "address", {"postal_code", "prefecture", "city", "line1", "line2"})
    return Address.of(str(f.get("postal_code", "")), str(f.get("prefecture", "")), str(f.get("city", "")),
                      str(f.get("line1", "")), str(f.get("line2") or ""))


def contacts_from(raw: Sequence[Any] | None) -> tuple[Contact, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str | Mapping):
        raise InvalidInput("contacts must be a list", "contacts はリストで指定します", code="INVALID-INPUT",
                           field="contacts")
    out = []
    for i, item in enumerate(raw):
        f = fields_of(item, f"contacts[{i}]", {"name", "email", "role"})
        out.append(Contact.of(str(f.get("name", "")), str(f.get("email", "")), str(f.get("role", "primary")), i))
    return tuple(out)


def register_customer(svc: Services, now: datetime, *, ref: str, name: str, entity: str, country: str,
                      segment: str = "commercial", corporate_number: str | None = None,
                      parent: str | None = None, ownership_percent: float | None = None, purpose: str = "end_use",
                      address: Mapping[str, Any] | None = None,
                      contacts: Sequence[Mapping[str, Any]] | None = None,
                      name_kana: str | None = None) -> Customer:
    """Validate the form (法人番号 check digit, address, contacts), then ELIG-CORP / -DOMESTIC / -NO-RESALE."""
    customer = Customer(ref=ref, name=name, entity=choice(Entity, entity, "entity"), country=country.upper(),
                        segment=choice(Segment, segment, "segment"),
                        corporate_number=None if corporate_number is None else valid_corporate_number(corporate_number),
                        parent_ref=parent, ownership_percent=ownership_percent,
                        purpose=choice(Purpose, purpose, "purpose"), address=address_from(address),
                        contacts=contacts_from(contacts), name_kana=name_kana)
    customer.check_group()
    customer.check_eligible()
    with svc.uow() as uow:
        if uow.customers.get(ref) is not None:
            raise InvalidInput(f"customer {ref} already exists", f"お客様 {ref} は既に登録されています",
                               code="DUPLICATE-REF", ref=ref)
        if parent is not None and uow.customers.get(parent) is None:
            raise NotFound(f"no parent customer {parent}", f"親会社 {parent} は登録されていません", ref=parent)
        uow.customers.add(customer, now)
        uow.parties.details.save_customer(customer)
        uow.commit()
    return customer


def register_tenant(svc: Services, now: datetime, *, ref: str, customer: str, domain: str, country: str,
                    syndication: bool = False, origin: str = "csp", vl_licences: bool = False) -> Tenant:
    Tenant.check_domain(domain)
    tenant = Tenant(ref=ref, customer_ref=customer, domain=domain.strip().lower(), country=country.upper(),
                    syndication=syndication, origin=choice(TenantOrigin, origin, "origin"), vl_licences=vl_licences)
    with svc.uow() as uow:
        lookups.customer(uow, customer)
        if uow.tenants.get(ref) is not None or uow.tenants.by_domain(tenant.domain) is not None:
            raise InvalidInput(f"tenant {ref} / {tenant.domain} already exists (TEN-NO-MERGE: tenants are never merged)",
                               f"テナント {ref} / {tenant.domain} は既に存在します", code="DUPLICATE-REF", ref=ref)
        uow.tenants.add(tenant)
        uow.parties.details.save_tenant(tenant)
        if vl_licences:
            uow.parties.details.add_event(ref, "vl_licences", now, "TEN-MIX", recorded="with the tenant")
        uow.commit()
    return tenant


def tenant_of(uow: UnitOfWork, ref: str) -> Tenant:
    tenant = uow.parties.details.tenant(ref)
    if tenant is None:
        raise _no_tenant(ref)
    return tenant


def customer_of(uow: UnitOfWork, ref: str) -> Customer:
    customer = uow.parties.details.customer(ref)
    if customer is None:
        raise _no_customer(ref)
    return customer


def tenant_for_order(uow: UnitOfWork, ref: str, subscription: str) -> TenantForOrder:
    """``tenant_of`` and ``customer_of`` its customer, with the relationship and the ref, in one read; refused
    as those two refuse."""
    found = uow.parties.details.tenant_for_order(ref, subscription)
    if found is None:
        raise _no_tenant(ref)
    if found.customer is None:
        raise _no_customer(found.tenant.customer_ref)
    return found


def _no_tenant(ref: str) -> NotFound:
    return NotFound(f"no tenant {ref}", f"テナント {ref} はありません", ref=ref)


def _no_customer(ref: str) -> NotFound:
    return NotFound(f"no customer {ref}", f"お客様 {ref} は登録されていません", ref=ref)


def record_vl_licences(svc: Services, now: datetime, tenant: str) -> Tenant:
    """TEN-MIX: volume-licensing licences on a tenant, before or after CSP ones; never refused."""
    with svc.uow() as uow:
        found = tenant_of(uow, tenant)
        if not found.vl_licences:
            found.vl_licences = True
            uow.parties.details.save_tenant(found)
            live = [s.ref for s in uow.subscriptions.for_customer(found.customer_ref)
                    if s.tenant == tenant and s.is_live]
            uow.parties.details.add_event(tenant, "vl_licences", now, "TEN-MIX", csp_subscriptions=live)
        uow.commit()
        return found


def merge_tenants(svc: Services, now: datetime, tenant: str, into: str) -> None:
    """TEN-NO-MERGE: always refused, naming both tenants."""
    with svc.uow() as uow:
        tenant_of(uow, tenant).merge(tenant_of(uow, into))
