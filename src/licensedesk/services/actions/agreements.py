"""Scenario actions of volume licensing (RULES.md §3, §4, §7, §8): EES / School agreements and enrollments,
COCP, CICR, Select Plus, Open, managed devices. Report sections: see ``services/vl_views.sections``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from licensedesk.domain.errors import InvalidInput
from licensedesk.services import agreements as vl
from licensedesk.services import cicr, cocp, devices, select_open, vl_views
from licensedesk.services.ports import UnitOfWork

from .base import Run, action


def _opt(f: Mapping[str, Any], name: str) -> str | None:
    value = f.get(name)
    return None if value is None else str(value)


def _mapping(f: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = f.get(name) or {}
    if not isinstance(value, Mapping):
        raise InvalidInput(f"field {name!r} must be a mapping", f"{name} はマッピングで指定してください",
                           code="INVALID-INPUT", field=name)
    return dict(value)


def _agreement(run: Run, f: Mapping[str, Any]) -> None:
    vl.open_agreement(run.svc, run.clock.now(), ref=str(f["ref"]), customer=str(f["customer"]),
                      program=str(f["program"]), version=str(f["version"]), region=str(f["region"]),
                      public_customer_number=_opt(f, "public_customer_number"), country=_opt(f, "country"))


def _enrollment(run: Run, f: Mapping[str, Any]) -> None:
    vl.enroll_institution(run.svc, run.clock.now(), ref=str(f["ref"]), agreement=str(f["agreement"]),
                          term_years=f["term_years"], effective=f["effective"], reseller=str(f["reseller"]),
                          distributor=_opt(f, "distributor"), software_advisor=_opt(f, "software_advisor"),
                          billing_dates=list(f.get("billing_dates") or []))


def _order(run: Run, f: Mapping[str, Any]) -> None:
    vl.place_order(run.svc, run.clock.now(), enrollment=str(f["enrollment"]), po=_opt(f, "po"),
                   product=str(f.get("product", "")), online=bool(f.get("online", False)),
                   quantity=int(f.get("quantity", 1)), usage_date=f.get("usage_date"), reseller=_opt(f, "reseller"),
                   auto_renew=f.get("auto_renew"))


def _cocp(run: Run, f: Mapping[str, Any]) -> None:
    enrollments = [str(f["enrollment"]), *(str(e) for e in f.get("enrollments") or []
                                          if str(e) != str(f["enrollment"]))]
    cocp.submit(run.svc, run.clock.now(), ref=str(f["ref"]), kind=str(f["kind"]), enrollments=enrollments,
                new=_mapping(f, "new"), current=_mapping(f, "current"), signatures=_mapping(f, "signatures"),
                received_on=f.get("received_on"), copies=int(f.get("copies", 1)),
                ink_signed=bool(f.get("ink_signed", False)), notified_previous_on=f.get("notified_previous_on"),
                exception=_opt(f, "exception"), justification=_opt(f, "justification"), form=_opt(f, "form"))


def _cicr(run: Run, f: Mapping[str, Any]) -> None:
    cicr.request(run.svc, run.clock.now(), ref=str(f["ref"]), agreement=str(f["agreement"]), role=str(f["role"]),
                 contact=_mapping(f, "contact"), channel=str(f.get("channel", "electronic")),
                 change=str(f.get("change", "update")))


def _now(run: Run) -> Any:
    return run.clock.now()


ENROLLMENT = {"enrollment": "enrollment"}
ORDER_FIELDS = "po product online quantity usage_date reseller auto_renew"

ACTIONS = [
    action("agreement", "ref customer program version region", "public_customer_number country", _agreement,
           references={"customer": "customer"}, creates="agreement"),
    action("enrollment", "ref agreement term_years effective reseller", "distributor software_advisor billing_dates",
           _enrollment, references={"agreement": "agreement"}, creates="enrollment", integers="term_years"),
    action("first_order", "enrollment", ORDER_FIELDS, _order, references=ENROLLMENT, integers="quantity",
           booleans="online auto_renew"),
    action("vl_order", "enrollment", ORDER_FIELDS, _order, references=ENROLLMENT, integers="quantity",
           booleans="online auto_renew"),
    action("breach_notice", "enrollment party", "",
           lambda run, f: vl.breach_notice(run.svc, _now(run), enrollment=str(f["enrollment"]), party=str(f["party"])),
           references=ENROLLMENT),
    action("cure_breach", "enrollment", "",
           lambda run, f: vl.cure_breach(run.svc, _now(run), enrollment=str(f["enrollment"])), references=ENROLLMENT),
    action("expiry_choice", "enrollment option", "",
           lambda run, f: vl.choose_expiry(run.svc, _now(run), enrollment=str(f["enrollment"]),
                                           option=str(f["option"])), references=ENROLLMENT),
    action("disqualify", "agreement", "reason",
           lambda run, f: vl.disqualify(run.svc, _now(run), agreement=str(f["agreement"]),
                                        reason=str(f.get("reason", ""))), references={"agreement": "agreement"}),
    action("end_agreement", "agreement", "amendment",
           lambda run, f: vl.end_agreement(run.svc, _now(run), agreement=str(f["agreement"]),
                                           amendment=_mapping(f, "amendment") or None),
           references={"agreement": "agreement"}),
    action("cocp", "ref kind enrollment current signatures",
           "enrollments new received_on copies ink_signed notified_previous_on exception justification form", _cocp,
           references=ENROLLMENT, creates="cocp", integers="copies", booleans="ink_signed"),
    action("cocp_decision", "cocp approved", "",
           lambda run, f: cocp.decide(run.svc, _now(run), cocp=str(f["cocp"]), approved=bool(f["approved"])),
           references={"cocp": "cocp"}, booleans="approved"),
    action("cocp_duty", "cocp duty", "",
           lambda run, f: cocp.mark_duty(run.svc, _now(run), cocp=str(f["cocp"]), duty=str(f["duty"])),
           references={"cocp": "cocp"}),
    action("cicr", "ref agreement role", "contact channel change", _cicr, references={"agreement": "agreement"},
           creates="cicr"),
    action("cicr_decision", "cicr approved", "",
           lambda run, f: cicr.decide(run.svc, _now(run), cicr=str(f["cicr"]), approved=bool(f["approved"])),
           references={"cicr": "cicr"}, booleans="approved"),
    action("select_plus", "ref customer pools", "start qualifying_enrollment",
           lambda run, f: select_open.select_plus(run.svc, _now(run), ref=str(f["ref"]), customer=str(f["customer"]),
                                                  pools=_mapping(f, "pools"), start=f.get("start"),
                                                  qualifying_enrollment=_opt(f, "qualifying_enrollment")),
           references={"customer": "customer"}, creates="select_plus"),
    action("select_points", "select_plus pools", "year",
           lambda run, f: select_open.select_points(run.svc, _now(run), agreement=str(f["select_plus"]),
                                                    pools=_mapping(f, "pools"), year=f.get("year")),
           references={"select_plus": "select_plus"}, integers="year"),
    action("open_order", "ref customer program lines", "",
           lambda run, f: select_open.open_order(run.svc, _now(run), ref=str(f["ref"]), customer=str(f["customer"]),
                                                 program=str(f["program"]), lines=list(f["lines"] or [])),
           references={"customer": "customer"}, creates="open_order"),
    action("activate_key", "key", "",
           lambda run, f: select_open.activate_key(run.svc, _now(run), key=str(f["key"]))),
    action("return_key", "key", "",
           lambda run, f: select_open.return_key(run.svc, _now(run), key=str(f["key"]))),
    action("devices", "ref customer csv", "",
           lambda run, f: devices.import_inventory(run.svc, _now(run), ref=str(f["ref"]), customer=str(f["customer"]),
                                                   text=str(f["csv"])),
           references={"customer": "customer"}, creates="device_inventory"),
]


def report(uow: UnitOfWork, scenario: Any) -> dict[str, Any]:
    """Sections ``agreements``, ``enrollments``, ``cocp``, ``cicr``, ``select_plus``, ``open_orders``,
    ``product_keys``, ``device_inventories`` (only those with content)."""
    return vl_views.sections(uow)
