"""Load a record or refuse (``NotFound``; an offer not in the catalog: CATALOG-UNKNOWN-OFFER): one place, one
wording per kind of record, in both languages."""

from __future__ import annotations

from typing import Any

from licensedesk.domain.catalog import Offer
from licensedesk.domain.errors import InvalidInput, NotFound
from licensedesk.domain.parties import Customer, Tenant
from licensedesk.domain.subscription import Subscription

from .ports import UnitOfWork


def customer(uow: UnitOfWork, ref: str) -> Customer:
    found = uow.customers.get(ref)
    if found is None:
        raise NotFound(f"no customer {ref}", f"お客様 {ref} はありません", ref=ref)
    return found


def tenant(uow: UnitOfWork, ref: str) -> Tenant:
    found = uow.tenants.get(ref)
    if found is None:
        raise NotFound(f"no tenant {ref}", f"テナント {ref} はありません", ref=ref)
    return found


def offer(uow: UnitOfWork, code: str) -> Offer:
    found = uow.offers.get(code)
    if found is None:
        raise InvalidInput(f"offer {code} is not in the catalog", f"商品 {code} はカタログにありません",
                           code="CATALOG-UNKNOWN-OFFER", offer=code)
    return found


def subscription(uow: UnitOfWork, ref: str) -> Subscription:
    found = uow.subscriptions.get(ref)
    if found is None:
        raise NotFound(f"no subscription {ref}", f"サブスクリプション {ref} はありません", ref=ref)
    return found


def document(uow: UnitOfWork, number: str, *, lock: bool = False) -> dict[str, Any]:
    """An issued document (invoice or credit note) with its lines; ``lock``: its row locked to the end of the
    transaction (payments, settlement), without its lines."""
    found = uow.billing.lock_document(number) if lock else uow.documents.get(number)
    if found is None:
        raise NotFound(f"no document {number}", f"書類 {number} はありません", number=number)
    return found
