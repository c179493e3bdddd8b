"""The actions of SCENARIOS.md format 1: customers, tenants, orders, payments and subscription changes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from licensedesk.domain.errors import DomainError
from licensedesk.services import parties, party_orders
from licensedesk.services import subscriptions as subscription_service

from .base import Run, action


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _customer(run: Run, f: Mapping[str, Any]) -> None:
    parties.register_customer(
        run.svc, run.clock.now(), ref=str(f["ref"]), name=str(f["name"]), entity=str(f["entity"]),
        country=str(f["country"]), segment=str(f.get("segment", "commercial")),
        corporate_number=_text(f.get("corporate_number")), parent=_text(f.get("parent")),
        ownership_percent=f.get("ownership_percent"), name_kana=_text(f.get("name_kana")),
        purpose=str(f.get("purpose", "end_use")), address=f.get("address"), contacts=f.get("contacts"))


def _tenant(run: Run, f: Mapping[str, Any]) -> None:
    parties.register_tenant(run.svc, run.clock.now(), ref=str(f["ref"]), customer=str(f["customer"]),
                            domain=str(f["domain"]), country=str(f["country"]),
                            syndication=bool(f.get("syndication", False)), origin=str(f.get("origin", "csp")),
                            vl_licences=bool(f.get("vl_licences", False)))


def _order(run: Run, f: Mapping[str, Any]) -> None:
    party_orders.order(  # the parties' checks (issue 5), then subscriptions.order
        run.svc, run.clock.now(), ref=str(f["ref"]), tenant=str(f["tenant"]), offer=str(f["offer"]),
        term=str(f["term"]), billing=str(f["billing"]), quantity=f["quantity"],
        policy=_text(f.get("policy")) or run.default_policy, auto_renew=f.get("auto_renew"),
        align_with=_text(f.get("align_with")), align_calendar_month=f.get("align") == "calendar_month",
        ordering_party=_text(f.get("ordering_party")), migrate=bool(f.get("migrate", False)),
        migrate_from=_text(f.get("migrate_from")))


def invoice_number(run: Run, ref: Any) -> str:
    """``last`` (the latest invoice), ``documents[i]`` / ``i`` (issue order), or a document number."""
    text = str(ref)
    if text.startswith("documents[") and text.endswith("]"):
        text = text[len("documents["):-1]
    if ref != "last" and not text.isdigit():
        return text
    with run.svc.uow() as uow:  # one small query: the run may have issued hundreds of documents by now
        number = uow.documents.latest_number("invoice") if ref == "last" else uow.documents.number_at(int(text))
    if number is None and ref == "last":
        raise DomainError("there is no invoice to pay yet", "支払う請求書がまだありません")
    if number is None:
        raise DomainError(f"there is no documents[{text}] yet", f"documents[{text}] はまだありません")
    return number


def _pay(run: Run, f: Mapping[str, Any]) -> None:
    subscription_service.pay(run.svc, run.clock.now(), invoice_number(run, f["invoice"]), f.get("amount"))


def _sub(f: Mapping[str, Any]) -> str:
    return str(f["subscription"])


SUBSCRIPTION = {"subscription": "subscription"}

ACTIONS = [
    action("customer", "ref name entity country", "segment corporate_number parent ownership_percent name_kana purpose address contacts", _customer,
           references={"parent": "customer"}, creates="customer"),
    action("tenant", "ref customer domain country", "syndication origin vl_licences", _tenant,
           references={"customer": "customer"}, creates="tenant", booleans="syndication vl_licences"),
    action("order", "ref tenant offer term billing quantity", "policy auto_renew align_with align ordering_party migrate migrate_from", _order,
           references={"tenant": "tenant", "align_with": "subscription", "ordering_party": "customer"},
           creates="subscription", integers="quantity", booleans="auto_renew migrate"),
    action("pay", "invoice", "amount", _pay, integers="amount"),
    action("activate", "subscription", "",
           lambda run, f: subscription_service.activate(run.svc, run.clock.now(), _sub(f)),
           references=SUBSCRIPTION),
    action("change_quantity", "subscription quantity", "at_renewal",
           lambda run, f: subscription_service.change_quantity(run.svc, run.clock.now(), _sub(f), f["quantity"],
                                                               at_renewal=bool(f.get("at_renewal"))),
           references=SUBSCRIPTION, integers="quantity", booleans="at_renewal"),
    action("set_auto_renew", "subscription enabled", "",
           lambda run, f: subscription_service.set_auto_renew(run.svc, run.clock.now(), _sub(f), bool(f["enabled"])),
           references=SUBSCRIPTION, booleans="enabled"),
    action("change_billing", "subscription billing", "",
           lambda run, f: subscription_service.change_billing(run.svc, run.clock.now(), _sub(f), str(f["billing"])),
           references=SUBSCRIPTION),
    action("suspend", "subscription", "",
           lambda run, f: subscription_service.suspend(run.svc, run.clock.now(), _sub(f)), references=SUBSCRIPTION),
    action("reactivate", "subscription", "",
           lambda run, f: subscription_service.reactivate(run.svc, run.clock.now(), _sub(f)),
           references=SUBSCRIPTION),
    action("cancel", "subscription", "",
           lambda run, f: subscription_service.cancel(run.svc, run.clock.now(), _sub(f)), references=SUBSCRIPTION),
]
