"""``licensedesk simulate``: run a scenario on a fresh in-memory database with a simulated clock.

The steps go through the same handlers as the API, the console and the CLI;
the simulated clock moves forward day by day through the same tick as the
live scheduler. A refused action is reported in ``rejections`` and the run
goes on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from licensedesk.domain.errors import DomainError

from . import catalog as catalog_service
from . import parties, scheduler
from . import subscriptions as subscription_service
from .clock import SimulatedClock
from .context import Services
from .report import build_report, check_expectations
from .scenario import CREATES, REFERENCES, Scenario, Step


@dataclass
class Run:
    scenario: Scenario
    svc: Services
    clock: SimulatedClock
    explain: bool = False
    refused: dict[tuple[str, str], str] = field(default_factory=dict)  # (kind, ref) → rule ID of the refusal
    created: set[tuple[str, str]] = field(default_factory=set)
    rejections: list[dict[str, Any]] = field(default_factory=list)


def simulate(scenario: Scenario, make_services: Callable[[Scenario], Services], explain: bool = False
             ) -> dict[str, Any]:
    svc = make_services(scenario)
    clock = SimulatedClock(scenario.start)
    if scenario.catalog is not None:
        catalog_service.put_offers(svc, [catalog_service.offer_from_mapping(o, f"catalog[{i}]")
                                         for i, o in enumerate(scenario.catalog)])
    else:
        catalog_service.load_sample_catalog(svc)
    scheduler.tick(svc, clock.now())  # the scheduler has run up to the start day
    run = Run(scenario, svc, clock, explain)
    for step in scenario.steps:
        if step.at is not None:
            advance(run, step.at)
        if step.action == "advance":
            assert step.advance_to is not None
            advance(run, step.advance_to)
        else:
            perform(run, step)
    report = build_report(run.svc, scenario, clock.now(), run.rejections, explain)
    report["expect"] = check_expectations(report, scenario.expect)
    return report


def advance(run: Run, instant: Any) -> None:
    run.clock.move_to(instant)
    scheduler.tick(run.svc, instant)


def perform(run: Run, step: Step) -> None:
    blocked = _blocked_by(run, step)
    if blocked:
        code, message = blocked
        _reject(run, step, code, message)
        return
    try:
        HANDLERS[step.action](run, step.fields)
    except DomainError as err:
        _reject(run, step, err.code, err.message("en"), err.message("ja"), err.details)
        kind = CREATES.get(step.action)
        if kind:
            run.refused[(kind, str(step.fields["ref"]))] = err.code
        return
    kind = CREATES.get(step.action)
    if kind:
        run.created.add((kind, str(step.fields["ref"])))


def _blocked_by(run: Run, step: Step) -> tuple[str, str] | None:
    """A step naming something whose creation was refused is refused too, with the original rule ID."""
    for fld, kind in REFERENCES.get(step.action, {}).items():
        if fld not in step.fields:
            continue
        ref = str(step.fields[fld])
        if (kind, ref) in run.refused:
            code = run.refused[(kind, ref)]
            return code, f"{kind} {ref} was refused earlier ({code})"
        if (kind, ref) not in run.created:
            return "UNKNOWN-REF", f"{kind} {ref} does not exist at this point"
    return None


def _reject(run: Run, step: Step, code: str, message: str, message_ja: str | None = None,
            details: dict[str, Any] | None = None) -> None:
    entry: dict[str, Any] = {"step": step.number, "action": step.action, "code": code, "message": message}
    if run.explain:
        entry["explain"] = {"rule": code, "message_ja": message_ja or message, "details": details or {}}
    run.rejections.append(entry)


def _invoice_number(run: Run, ref: Any) -> str:
    with run.svc.uow() as uow:
        docs = uow.documents.list()
    if ref == "last":
        invoices = [d for d in docs if d["kind"] == "invoice"]
        if not invoices:
            raise DomainError("there is no invoice to pay yet", "支払う請求書がまだありません")
        return str(invoices[-1]["number"])
    text = str(ref)
    if text.startswith("documents[") and text.endswith("]"):
        text = text[len("documents["):-1]
    if text.isdigit():
        index = int(text)
        if index >= len(docs):
            raise DomainError(f"there is no documents[{index}] yet", f"documents[{index}] はまだありません")
        return str(docs[index]["number"])
    return text


def _pay(run: Run, f: dict[str, Any]) -> None:
    number = _invoice_number(run, f["invoice"])
    subscription_service.pay(run.svc, run.clock.now(), number, f.get("amount"))


HANDLERS: dict[str, Callable[[Run, Any], Any]] = {
    "customer": lambda run, f: parties.register_customer(
        run.svc, run.clock.now(), ref=str(f["ref"]), name=str(f["name"]), entity=str(f["entity"]),
        country=str(f["country"]), segment=str(f.get("segment", "commercial")),
        corporate_number=None if f.get("corporate_number") is None else str(f["corporate_number"]),
        parent=f.get("parent"), ownership_percent=f.get("ownership_percent")),
    "tenant": lambda run, f: parties.register_tenant(
        run.svc, run.clock.now(), ref=str(f["ref"]), customer=str(f["customer"]), domain=str(f["domain"]),
        country=str(f["country"]), syndication=bool(f.get("syndication", False))),
    "order": lambda run, f: subscription_service.order(
        run.svc, run.clock.now(), ref=str(f["ref"]), tenant=str(f["tenant"]), offer=str(f["offer"]),
        term=str(f["term"]), billing=str(f["billing"]), quantity=f["quantity"],
        policy=f.get("policy") or run.scenario.policy, auto_renew=f.get("auto_renew"),
        align_with=f.get("align_with"), align_calendar_month=f.get("align") == "calendar_month"),
    "pay": _pay,
    "activate": lambda run, f: subscription_service.activate(run.svc, run.clock.now(), str(f["subscription"])),
    "change_quantity": lambda run, f: subscription_service.change_quantity(
        run.svc, run.clock.now(), str(f["subscription"]), f["quantity"], at_renewal=bool(f.get("at_renewal"))),
    "set_auto_renew": lambda run, f: subscription_service.set_auto_renew(
        run.svc, run.clock.now(), str(f["subscription"]), bool(f["enabled"])),
    "cancel": lambda run, f: subscription_service.cancel(run.svc, run.clock.now(), str(f["subscription"])),
}
