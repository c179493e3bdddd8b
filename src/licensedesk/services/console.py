"""What the staff console reads: searches and overviews over the repositories, and the dry run behind every
preview (the same handler as the real change, in a transaction that is rolled back)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from licensedesk.domain.dates import explain_dates
from licensedesk.domain.errors import DomainError
from licensedesk.domain.parties import Customer, Tenant
from licensedesk.domain.subscription import Subscription

from . import lookups
from .context import Services
from .lending import lend
from .parties import customer_of


def _matches(query: str, *values: str | None) -> bool:
    q = query.strip().casefold()
    return not q or any(q in (v or "").casefold() for v in values)


def customers(svc: Services, query: str = "") -> list[Customer]:
    """Customers whose ref, name, kana or corporate number contains ``query``, by ref."""
    with svc.uow() as uow:
        found = uow.parties.details.customers()
    return sorted((c for c in found if _matches(query, c.ref, c.name, c.name_kana, c.corporate_number)),
                  key=lambda c: c.ref)


def tenants(svc: Services, query: str = "") -> list[Tenant]:
    with svc.uow() as uow:
        found = uow.parties.details.tenants()
    return sorted((t for t in found if _matches(query, t.ref, t.customer_ref, t.domain)), key=lambda t: t.ref)


def customer_overview(svc: Services, ref: str) -> dict[str, Any]:
    """A customer with its tenants, subscriptions, documents, credit balance and contacts."""
    with svc.uow() as uow:
        customer = customer_of(uow, ref)
        return {
            "customer": customer,
            "tenants": sorted((t for t in uow.parties.details.tenants() if t.customer_ref == ref),
                              key=lambda t: t.ref),
            "subscriptions": sorted(uow.subscriptions.for_customer(ref), key=lambda s: s.ref),
            "documents": uow.documents.list(ref),
            "credit": uow.billing.credit_balance(ref),
        }


def subscriptions(svc: Services, *, status: str = "", preset: str = "", customer: str = "",
                  query: str = "") -> list[Subscription]:
    with svc.uow() as uow:
        found = uow.subscriptions.for_customer(customer) if customer else uow.subscriptions.all()
    return sorted((s for s in found if (not status or s.status.value == status)
                   and (not preset or s.policy.name == preset) and _matches(query, s.ref, s.offer, s.tenant)),
                  key=lambda s: s.ref)


def subscription_detail(svc: Services, ref: str) -> dict[str, Any]:
    """The subscription, the rule and formula of each date, every amount billed for it (with its
    explanation and document) and its event history."""
    with svc.uow() as uow:
        sub = lookups.subscription(uow, ref)
        charges = [{**line, "document": doc["number"], "document_kind": doc["kind"],
                    "document_status": doc["status"], "issue_date": doc["issue_date"]}
                   for doc in uow.documents.list(sub.customer) for line in doc["lines"]
                   if line["subscription_ref"] == ref]
        return {"subscription": sub, "dates": explain_dates(sub), "charges": charges,
                "events": uow.subscriptions.events(ref), "offer": uow.offers.get(sub.offer)}


def documents(svc: Services, *, customer: str = "", status: str = "", kind: str = "") -> list[dict[str, Any]]:
    with svc.uow() as uow:
        docs = uow.documents.list(customer) if customer else uow.documents.list()
    return [d for d in docs if (not status or d["status"] == status) and (not kind or d["kind"] == kind)]


def document_detail(svc: Services, number: str) -> dict[str, Any]:
    with svc.uow() as uow:
        doc = lookups.document(uow, number)
        return {"document": doc, "payments": uow.billing.payments_of(number),
                "replaced_by": uow.billing.replacement_of(number), "customer": uow.customers.get(doc["customer_ref"])}


def open_invoices(svc: Services, customer: str | None = None) -> list[dict[str, Any]]:
    with svc.uow() as uow:
        return uow.billing.open_invoices(customer)


@dataclass
class DryRun:
    """What a change would do: its result and the documents it would issue, or the refusal."""

    result: Any = None
    documents: list[dict[str, Any]] = field(default_factory=list)
    refusal: DomainError | None = None

    @property
    def ok(self) -> bool:
        return self.refusal is None


def dry_run(svc: Services, now: datetime, run: Callable[[Services, datetime], Any]) -> DryRun:
    """Run the real handler inside one unit of work and roll it all back: nothing is saved, numbered or sent."""
    with svc.uow() as uow:
        known = {d["number"] for d in uow.documents.list()}
        try:
            result = run(lend(svc, uow), now)
        except DomainError as refusal:
            return DryRun(refusal=refusal)
        issued = [d for d in uow.documents.list() if d["number"] not in known]
        return DryRun(result, issued)  # leaving the block without commit rolls everything back
