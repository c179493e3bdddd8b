"""Use cases on customers and tenants (RULES.md §1)."""

from __future__ import annotations

from datetime import datetime

from licensedesk.domain.errors import InvalidInput, NotFound
from licensedesk.domain.parties import Customer, Entity, Segment, Tenant

from .context import Services


def _enum(kind: type[Entity] | type[Segment], value: str, field: str) -> Entity | Segment:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        raise InvalidInput(f"{field} must be one of {allowed}, got {value!r}",
                           f"{field} は {allowed} のいずれかです（指定: {value!r}）", code="INVALID-INPUT",
                           field=field) from None


def register_customer(svc: Services, now: datetime, *, ref: str, name: str, entity: str, country: str,
                      segment: str = "commercial", corporate_number: str | None = None,
                      parent: str | None = None, ownership_percent: float | None = None) -> Customer:
    customer = Customer(ref=ref, name=name, entity=Entity(_enum(Entity, entity, "entity")), country=country.upper(),
                        segment=Segment(_enum(Segment, segment, "segment")), corporate_number=corporate_number,
                        parent_ref=parent, ownership_percent=ownership_percent)
    customer.check_eligible()
    with svc.uow() as uow:
        if uow.customers.get(ref) is not None:
            raise InvalidInput(f"customer {ref} already exists", f"お客様 {ref} は既に登録されています",
                               code="DUPLICATE-REF", ref=ref)
        if parent is not None and uow.customers.get(parent) is None:
            raise NotFound(f"no parent customer {parent}", f"親会社 {parent} は登録されていません", ref=parent)
        uow.customers.add(customer, now)
        uow.commit()
    return customer


def register_tenant(svc: Services, now: datetime, *, ref: str, customer: str, domain: str, country: str,
                    syndication: bool = False) -> Tenant:
    Tenant.check_domain(domain)
    tenant = Tenant(ref=ref, customer_ref=customer, domain=domain.strip().lower(), country=country.upper(),
                    syndication=syndication)
    with svc.uow() as uow:
        if uow.customers.get(customer) is None:
            raise NotFound(f"no customer {customer}", f"お客様 {customer} は登録されていません", ref=customer)
        if uow.tenants.get(ref) is not None or uow.tenants.by_domain(tenant.domain) is not None:
            raise InvalidInput(f"tenant {ref} / {tenant.domain} already exists (TEN-NO-MERGE: tenants are never merged)",
                               f"テナント {ref} / {tenant.domain} は既に存在します", code="DUPLICATE-REF", ref=ref)
        uow.tenants.add(tenant)
        uow.commit()
    return tenant
