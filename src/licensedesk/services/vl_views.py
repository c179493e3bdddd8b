"""Read models of volume licensing for the scenario report and the CLI (plain JSON-ready dicts)."""

from __future__ import annotations

from typing import Any

from licensedesk.domain.agreements import Agreement
from licensedesk.domain.cicr import Cicr, current_contacts
from licensedesk.domain.cocp import Cocp
from licensedesk.domain.enrollment import REMOVAL_DUTY_EN, Enrollment, Option
from licensedesk.domain.select_open import OpenOrder, ProductKey, SelectPlus
from licensedesk.domain.vl_orders import VlOrder

from .ports import UnitOfWork


def _d(value: Any) -> Any:
    return None if value is None else value.isoformat()


def order_view(o: VlOrder) -> dict[str, Any]:
    return {"reseller": o.reseller, "distributor": o.distributor, "product": o.product, "online": o.online,
            "quantity": o.quantity, "usage_date": _d(o.usage_date), "ordered_on": _d(o.ordered_on),
            "auto_renew": o.auto_renew, "auto_renew_rule": o.auto_renew_rule}


def _options(e: Enrollment) -> dict[str, Any]:
    """VL-NOTICE-60D: what the 60-day notice offers (sent or not yet)."""
    allowed, unavailable = e.options()
    return {"options": [o.value for o in allowed], "not_available": [o.value for o in unavailable],
            "notice_sent": e.notified_for_end == e.end_date}


def enrollment_view(e: Enrollment, orders: list[VlOrder]) -> dict[str, Any]:
    breach = e.breach
    return {
        "agreement": e.agreement, "customer": e.customer, "program": e.program.value, "region": e.region.value,
        "status": e.status.value, "status_on": _d(e.status_on), "status_rule": e.status_rule,
        "term_years": e.term_years, "years": e.years, "effective": _d(e.effective), "end_date": _d(e.end_date),
        "anniversaries": [_d(a) for a in e.anniversaries()], "first_order_on": _d(e.first_order_on),
        "no_order_termination_on": _d(e.no_order_termination_on) if e.first_order_on is None else None,
        "notice_on": _d(e.notice_on), "partners": e.partners.as_dict(),
        "partner_history": [{"since": _d(p.since), **p.partners.as_dict(), "cocp": p.cocp} for p in e.partner_periods],
        "breach": None if breach is None else {"party": breach.party.value, "notice_on": _d(breach.notice_on),
                                               "cure_by": _d(breach.cure_by),
                                               "terminates_on": _d(breach.terminates_on)},
        "expiry_choice": None if e.choice is None else e.choice.value, "expiry_choice_on": _d(e.choice_on),
        "outcome": e.outcome, "removal_duty": REMOVAL_DUTY_EN if e.outcome == Option.LET_EXPIRE else None,
        "expiry_options": _options(e), "orders": {o.po: order_view(o) for o in orders},
        "explain": {k: v.as_dict() for k, v in e.explain_dates().items()},
    }


def cicr_view(c: Cicr) -> dict[str, Any]:
    return {"agreement": c.agreement, "role": c.role.value, "change": c.change.value, "channel": c.channel.value,
            "status": c.status.value, "route": c.route_reason, "rule": c.rule, "contact": c.contact,
            "previous": c.previous, "requested_on": _d(c.requested_on), "decided_on": _d(c.decided_on),
            "explain": c.why.as_dict() if c.why else None}


def agreement_view(a: Agreement, enrollments: list[Enrollment], cicrs: list[Cicr]) -> dict[str, Any]:
    applied = [c for c in cicrs if c.status.value == "applied"]
    return {
        "customer": a.customer, "program": a.program.value, "version": str(a.version), "region": a.region.value,
        "country": a.country, "public_customer_number": a.public_customer_number, "status": a.status.value,
        "status_on": _d(a.status_on), "status_rule": a.status_rule,
        "amendment": None if a.amendment is None else {"number": a.amendment.number,
                                                       "prepared_by": a.amendment.prepared_by},
        "enrollments": [e.ref for e in enrollments], "contacts": current_contacts(cicrs),
        "contact_history": [{"cicr": c.ref, "role": c.role.value, "change": c.change.value, "from": c.previous,
                             "to": None if c.change.value == "remove" else c.contact,
                             "on": _d(c.decided_on or c.requested_on)} for c in applied],
    }


def cocp_view(c: Cocp) -> dict[str, Any]:
    return {
        "status": c.status.value, "kind": c.kind.value, "enrollments": list(c.enrollments), "customer": c.customer,
        "new": c.new, "previous": c.previous, "submitted_on": _d(c.submitted_on), "received_on": _d(c.received_on),
        "effective_on": _d(c.effective_on), "lead_deadline": _d(c.lead_deadline), "lead_date": _d(c.lead_date),
        "lead_days": c.lead_days, "late": c.late, "exception": None if c.exception is None else c.exception.value,
        "justification": c.justification, "log_number": c.ref, "form_kind": c.form_kind.value,
        "form_reasons": c.form_reasons, "signatures": {k: _d(v) for k, v in c.signatures.items()},
        "copies": c.copies, "decided_on": _d(c.decided_on),
        "duties": {d.key: {"party": d.party, "text": d.text_en, "text_ja": d.text_ja, "due": _d(d.due),
                           "done_on": _d(d.done_on), "done": d.done_on is not None, "rule": d.rule}
                   for d in c.duties},
        "explain": {k: v.as_dict() for k, v in c.explanations.items()},
    }


def select_view(s: SelectPlus) -> dict[str, Any]:
    years: dict[str, Any] = {}
    for year in sorted(s.points):
        years[str(year)] = {pool.value: {"points": s.points[year][pool], "level": None if lvl is None else lvl.value,
                                         "explain": why.as_dict()}
                            for pool, (lvl, why) in s.levels(year).items()}
    return {"customer": s.customer, "start": _d(s.start), "qualifying_enrollment": s.qualifying_enrollment,
            "years": years}


def open_order_view(o: OpenOrder, keys: list[ProductKey]) -> dict[str, Any]:
    return {"customer": o.customer, "program": o.program.value, "first": o.first, "ordered_on": _d(o.ordered_on),
            "lines": [{"product": ln.product, "kind": ln.kind.value, "quantity": ln.quantity} for ln in o.lines],
            "keys": [k.ref for k in keys if k.order == o.ref], "explain": [w.as_dict() for w in o.why]}


def key_view(k: ProductKey) -> dict[str, Any]:
    return {"order": k.order, "product": k.product, "program": k.program.value, "quantity": k.quantity,
            "status": k.status.value, "ordered_on": _d(k.ordered_on), "term_start": _d(k.term_start),
            "term_end": _d(k.term_end), "returned_on": _d(k.returned_on),
            "explain": k.why().as_dict() if k.term_start else None}


def sections(uow: UnitOfWork) -> dict[str, Any]:
    """Every volume licensing section that has content (report keys of SCENARIOS.md format 1, added)."""
    vl = uow.vl
    agreements = vl.agreements.list()
    enrollments = vl.enrollments.list()
    keys = vl.product_keys.list()
    out: dict[str, Any] = {
        "agreements": {a.ref: agreement_view(a, [e for e in enrollments if e.agreement == a.ref],
                                             vl.cicrs.for_agreement(a.ref)) for a in agreements},
        "enrollments": {e.ref: enrollment_view(e, vl.orders.for_enrollment(e.ref)) for e in enrollments},
        "cocp": {c.ref: cocp_view(c) for c in vl.cocps.list()},
        "cicr": {c.ref: cicr_view(c) for c in vl.cicrs.list()},
        "select_plus": {s.ref: select_view(s) for s in vl.select_plus.list()},
        "open_orders": {o.ref: open_order_view(o, keys) for o in vl.open_orders.list()},
        "product_keys": {k.ref: key_view(k) for k in keys},
        "device_inventories": {i["ref"]: {"customer": i["customer"], "summary": i["summary"],
                                          "devices": {d["device_id"]: {"managed": d["managed"], "reasons": d["reasons"]}
                                                      for d in i["devices"]}}
                               for i in vl.devices.list()},
    }
    return {k: v for k, v in out.items() if v}
