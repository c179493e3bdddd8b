"""The scenario report (SCENARIOS.md "Report") and the checking of ``expect`` paths."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from licensedesk.domain import nce, prepaid
from licensedesk.domain.dates import explain_dates
from licensedesk.domain.policy import BillingModel
from licensedesk.domain.subscription import Subscription

from .actions import REPORT_SECTIONS
from .context import Services
from .scenario import Scenario


def _instant(value: datetime | None, scenario: Scenario) -> str | None:
    return value.astimezone(scenario.zone).isoformat() if value is not None else None


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def subscription_view(sub: Subscription, scenario: Scenario) -> dict[str, Any]:
    return {
        "status": sub.status.value, "offer": sub.offer, "policy": sub.policy.name,
        "term": sub.term.value, "billing": sub.billing.value,
        "quantity": sub.quantity, "next_term_quantity": sub.next_term_quantity,
        "term_start": _day(sub.term_start), "term_end": _day(sub.term_end),
        "auto_renew": sub.auto_renew,
        "cancel_allowed_until": _instant(nce.cancel_allowed_until(sub), scenario),
        "unit_price": sub.unit_price,
        "optout_deadline": _day(nce.optout_deadline(sub)),
        "reduction_deadline": _day(_reduction_deadline(sub)),
        "renewal_invoice_date": _day(prepaid.renewal_issue_date(sub) if _is_prepaid(sub) else None),
        "renewal_due_date": _day(prepaid.renewal_due_date(sub) if _is_prepaid(sub) else None),
        "cancel_effective": _day(sub.cancel_effective),
        "delete_on": _day(sub.delete_on),
        "activation_due": _day(sub.activation_due),
        "policy_binding": sub.policy.binding,
    }


def _is_prepaid(sub: Subscription) -> bool:
    return sub.policy.billing_model is BillingModel.PREPAID and sub.term_end is not None


def _reduction_deadline(sub: Subscription) -> date | None:
    """The last day to ask for fewer seats or no renewal: TERM-REDUCE-1M, or the opt-out deadline."""
    if _is_prepaid(sub):
        return prepaid.reduction_deadline(sub)
    return nce.optout_deadline(sub) if sub.policy.billing_model is BillingModel.CHARGE_CYCLE else None


def _line_view(line: dict[str, Any], explain: bool) -> dict[str, Any]:
    view = {
        "subscription": line["subscription_ref"], "kind": line["kind"], "quantity": line["quantity"],
        "unit_amount": line["unit_amount"], "amount": line["amount"],
        "period_start": _day(line["period_start"]), "period_end": _day(line["period_end"]), "rule": line["rule"],
    }
    if explain:
        view["explain"] = line["explanation"]
    return view


def document_view(doc: dict[str, Any], explain: bool) -> dict[str, Any]:
    return {
        "kind": doc["kind"], "number": doc["number"], "customer": doc["customer_ref"],
        "issue_date": _day(doc["issue_date"]), "due_date": _day(doc["due_date"]), "status": doc["status"],
        "lines": [_line_view(line, explain) for line in doc["lines"]],
        "subtotal": doc["subtotal"], "tax": doc["tax"], "total": doc["total"], "paid": doc["paid_amount"],
    }


def build_report(svc: Services, scenario: Scenario, clock: datetime, rejections: list[dict[str, Any]],
                 explain: bool) -> dict[str, Any]:
    with svc.uow() as uow:
        subs = uow.subscriptions.all()
        subscriptions = {sub.ref: subscription_view(sub, scenario) for sub in subs}
        if explain:
            for sub in subs:
                subscriptions[sub.ref]["explain"] = {k: v.as_dict() for k, v in explain_dates(sub).items()}
                subscriptions[sub.ref]["events"] = [
                    {"kind": e["kind"], "at": _instant(e["at"], scenario), "rule": e["rule"], "details": e["details"]}
                    for e in uow.subscriptions.events(sub.ref)]
        documents = [document_view(d, explain) for d in uow.documents.list()]
        notices = [{"kind": n["kind"], "customer": n["customer_ref"], "subject": n["subject"],
                    "date": _day(n["on_date"]), "rule": n["rule"]} for n in uow.notices.list()]
        extra: dict[str, Any] = {}
        for section in REPORT_SECTIONS:
            extra.update(section(uow, scenario))
    return {
        "format": 1, "name": scenario.name, "clock": _instant(clock, scenario),
        "subscriptions": subscriptions, "documents": documents, "notices": notices, "rejections": rejections,
        **extra,
    }


_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def lookup(report: Any, path: str) -> Any:
    """Follow ``documents[1].lines[0].amount`` or ``subscriptions.s1.status`` through the report."""
    node = report
    for name, index in _TOKEN.findall(path):
        if index:
            if not isinstance(node, list) or int(index) >= len(node):
                raise KeyError(path)
            node = node[int(index)]
        else:
            if not isinstance(node, dict) or name not in node:
                raise KeyError(path)
            node = node[name]
    return node


def normalise(value: Any) -> Any:
    """JSON normalisation: dates as YYYY-MM-DD, instants as aware datetimes, containers recursively."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and "T" in value and len(value) >= 16:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return value
        return parsed if parsed.tzinfo else value
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, dict):
        return {str(k): normalise(v) for k, v in value.items()}
    return value


def check_expectations(report: dict[str, Any], expect: dict[str, Any]) -> dict[str, Any]:
    failures = []
    for path, wanted in expect.items():
        try:
            actual = lookup(report, path)
        except KeyError:
            failures.append({"path": path, "expected": _plain(wanted), "actual": None, "reason": "no such path"})
            continue
        if normalise(actual) != normalise(wanted):
            failures.append({"path": path, "expected": _plain(wanted), "actual": _plain(actual)})
    return {"passed": len(expect) - len(failures), "failed": len(failures), "failures": failures}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value
