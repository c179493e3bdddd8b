"""``licensedesk simulate``: run a scenario on a fresh in-memory database with a simulated clock.

The steps go through the same handlers as the API, the console and the CLI;
the simulated clock moves forward day by day through the same tick as the
live scheduler. A refused action is reported in ``rejections`` and the run
goes on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from licensedesk.domain.errors import DomainError

from . import catalog as catalog_service
from . import scheduler
from .actions import ACTIONS, Run
from .clock import SimulatedClock
from .context import Services
from .report import build_report, check_expectations
from .scenario import Scenario, Step


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
    run = Run(svc, clock, scenario.policy, explain)
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
    spec = ACTIONS[step.action]
    try:
        spec.handler(run, step.fields)
    except DomainError as err:
        _reject(run, step, err.code, err.message("en"), err.message("ja"), err.details)
        if spec.creates:
            run.refused[(spec.creates, str(step.fields["ref"]))] = err.code
        return
    if spec.creates:
        run.created.add((spec.creates, str(step.fields["ref"])))


def _blocked_by(run: Run, step: Step) -> tuple[str, str] | None:
    """A step naming something whose creation was refused is refused too, with the original rule ID."""
    for fld, kind in ACTIONS[step.action].references.items():
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


