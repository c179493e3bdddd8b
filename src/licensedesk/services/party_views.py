"""Views of the parties' records (customers, tenants, applications, relationships, transfer plans,
ordering parties): the scenario report sections and the CLI's output."""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from typing import Any

from . import licences
from .ports import UnitOfWork


def _json(value: Any, zone: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(zone).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _json(v, zone) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v, zone) for v in value]
    return value


def _tenants(uow: UnitOfWork) -> dict[str, Any]:
    out = {}
    for ten in uow.parties.details.tenants():
        bought = licences.purchased(uow, ten.ref, ten.customer_ref)
        assigned = uow.parties.licences.counts(ten.ref)
        admin = uow.parties.relationships.admin(ten.ref)
        out[ten.ref] = {
            "customer": ten.customer_ref, "domain": ten.domain, "country": ten.country, "origin": ten.origin.value,
            "syndication": ten.syndication, "vl_licences": ten.vl_licences, "csp_offers": sorted(bought),
            "mixed": ten.vl_licences and bool(bought),
            "relationship_accepted": uow.parties.relationships.accepted(ten.ref),
            "delegated_admin": None if admin is None else admin.as_dict(),
            "licences": {o: {"purchased": bought.get(o, 0), "assigned": assigned.get(o, 0)}
                         for o in sorted(set(bought) | set(assigned))},
        }
    return out


def sections(uow: UnitOfWork, zone: tzinfo) -> dict[str, Any]:
    """Every party record as JSON-ready data, instants in ``zone``: the scenario report's sections and
    what the CLI prints."""
    customers = {c.ref: {
        "name": c.name, "entity": c.entity.value, "country": c.country, "segment": c.segment.value,
        "corporate_number": c.corporate_number, "purpose": c.purpose.value, "parent": c.parent_ref,
        "ownership_percent": c.ownership_percent,
        "address": None if c.address is None else vars(c.address).copy(),
        "contacts": [{"name": x.name, "email": x.email, "role": x.role.value} for x in c.contacts],
    } for c in uow.parties.details.customers()}
    applications = {a.ref: {
        "customer": a.customer_ref, "received_at": a.received_at, "received_on": a.received_on,
        "login_due": a.login_due, "status": a.status.value, "login_id": a.login_id,
        "login_issued_at": a.login_issued_at, "contract_start": a.contract_start, "overdue_on": a.overdue_on,
        "issued_late": a.issued_late, "reissues": a.reissues, "rule": "ONB-APPLY",
    } for a in uow.parties.applications.list()}
    relationships = {r.ref: {
        "tenant": r.tenant_ref, "customer": r.customer_ref, "status": r.status.value, "sent_at": r.sent_at,
        "open_until": r.open_until, "accepted_at": r.accepted_at, "closed_on": r.closed_on,
        "admin": r.admin.value, "gdap_days": r.gdap_days, "partner": r.partner, "rule": "XFER-RELATIONSHIP",
    } for r in uow.parties.relationships.requests()}
    plans = {p.pop("ref"): p for p in uow.parties.relationships.plans()}
    ordering = {o["subscription_ref"]: {"end_user": o["end_user_ref"], "ordering_party": o["ordering_party_ref"],
                                        "ownership_percent": o["ownership_percent"], "rule": o["rule"]}
                for o in uow.parties.details.ordering_parties()}
    sections = {"customers": customers, "tenants": _tenants(uow), "applications": applications,
                "relationships": relationships, "transfer_plans": plans, "ordering_parties": ordering}
    return {k: _json(v, zone) for k, v in sections.items()}
