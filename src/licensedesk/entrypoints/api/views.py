"""JSON views of the objects the API returns (dates ISO, instants in the reseller's zone)."""

from __future__ import annotations

from typing import Any

from licensedesk.domain.catalog import Offer
from licensedesk.domain.dates import explain_dates
from licensedesk.domain.parties import Customer, Tenant
from licensedesk.domain.subscription import Subscription
from licensedesk.services.report import document_view as report_document_view


def customer(c: Customer) -> dict[str, Any]:
    return {
        "ref": c.ref, "name": c.name, "name_kana": c.name_kana, "entity": c.entity.value, "country": c.country,
        "segment": c.segment.value, "corporate_number": c.corporate_number, "purpose": c.purpose.value,
        "parent": c.parent_ref, "ownership_percent": c.ownership_percent,
        "address": None if c.address is None else vars(c.address).copy(),
        "contacts": [{"name": x.name, "email": x.email, "role": x.role.value} for x in c.contacts],
    }


def tenant(t: Tenant) -> dict[str, Any]:
    return {"ref": t.ref, "customer": t.customer_ref, "domain": t.domain, "country": t.country,
            "origin": t.origin.value, "syndication": t.syndication, "vl_licences": t.vl_licences}


def offer(o: Offer) -> dict[str, Any]:
    return {"code": o.code, "name": o.name, "kind": o.kind.value,
            "prices": [{"term": p.term.value, "billing": p.billing.value, "unit_price": p.unit_price,
                        "effective_from": p.effective_from, "effective_to": p.effective_to} for p in o.prices]}


def subscription(sub: Subscription, events: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A subscription with the rule and formula behind each of its dates (and its events when given)."""
    view: dict[str, Any] = {
        "ref": sub.ref, "customer": sub.customer, "tenant": sub.tenant, "offer": sub.offer,
        "policy": sub.policy.binding, "status": sub.status.value, "term": sub.term.value,
        "billing": sub.billing.value, "quantity": sub.quantity, "next_term_quantity": sub.next_term_quantity,
        "unit_price": sub.unit_price, "auto_renew": sub.auto_renew, "term_start": sub.term_start,
        "term_end": sub.term_end, "next_due": sub.next_due,
        "explain": {k: v.as_dict() for k, v in explain_dates(sub).items()},
    }
    if events is not None:
        view["events"] = events
    return view


def document(doc: dict[str, Any]) -> dict[str, Any]:
    return {**report_document_view(doc, explain=True), "void_reason": doc.get("void_reason"),
            "replaces": doc.get("replaces")}
