"""The console's what-if and outbox pages (issues 7 and 8).

``/console/what-if``: upload a scenario file (SCENARIOS.md format 1); it runs through
``services/simulate`` on a fresh in-memory database (``bootstrap.simulation_services``), never the
live one, and the report is shown (expectations, refusals with their rule IDs, subscriptions,
documents, notices, the whole report as JSON). A malformed file is answered with the line it is on.

``/console/outbox``: the messages the notices queued, with status, attempts and last error; a failed
one can be queued again (admin or billing, ``services/outbox.retry``); ``/console/outbox/{id}``
shows the mail as the worker composes it (recipient, subject, body, attachment names).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, RedirectResponse

from licensedesk.bootstrap import simulation_services
from licensedesk.bootstrap_mail import delivery
from licensedesk.entrypoints.api.security import Role
from licensedesk.services import outbox
from licensedesk.services.ports_outbox import OutboxStatus
from licensedesk.services.scenario import Scenario, ScenarioError, parse
from licensedesk.services.simulate import simulate

from .render import redirect_with_flash, render, t
from .session import WebUser, require_staff, web

Staff = Annotated[WebUser, Depends(require_staff())]
Billing = Annotated[WebUser, Depends(require_staff(Role.ADMIN, Role.BILLING))]
NAV_STAFF = [("/console/calendar", "nav.agenda_calendar"), ("/console/charts", "nav.insights_charts"),
             ("/console/what-if", "nav.whatif"), ("/console/outbox", "nav.outbox")]
MAX_SCENARIO_BYTES = 256 * 1024
_STEP = re.compile(r"^step (\d+)")
_FIELD = re.compile(r"^(?:unknown top-level )?field '([A-Za-z_]+)'")


@dataclass(frozen=True)
class Problem:
    message: str
    line: int | None = None  # 1-based, as editors count


def router() -> APIRouter:
    r = APIRouter(prefix="/console", include_in_schema=False)

    @r.get("/what-if", response_class=HTMLResponse)
    def what_if_form(request: Request, user: Staff) -> HTMLResponse:
        return render(request, "console/insights_whatif.html", report=None, problem=None)

    @r.post("/what-if", response_class=HTMLResponse)
    def what_if_run(request: Request, user: Staff, scenario: Annotated[UploadFile, File()]) -> HTMLResponse:
        # a plain def: FastAPI runs it in its thread pool, so a long simulation does not block other requests
        raw = scenario.file.read(MAX_SCENARIO_BYTES + 1)
        if not raw:
            return _refused(request, Problem(t(request, "whatif.empty")), scenario.filename)
        if len(raw) > MAX_SCENARIO_BYTES:
            return _refused(request, Problem(t(request, "whatif.too_large", limit=MAX_SCENARIO_BYTES // 1024)),
                            scenario.filename)
        loaded = load_scenario(raw)
        if isinstance(loaded, Problem):
            return _refused(request, loaded, scenario.filename)
        parsed, step_lines = loaded
        report = jsonable_encoder(simulate(parsed, simulation_services(web(request).settings), explain=True))
        for rejection in report["rejections"]:
            rejection["line"] = step_lines.get(rejection.get("step", 0))
        return render(request, "console/insights_whatif.html", report=report, problem=None,
                      filename=scenario.filename, report_json=json.dumps(report, ensure_ascii=False, indent=2))

    @r.get("/outbox", response_class=HTMLResponse)
    def outbox_list(request: Request, user: Staff, status: str | None = None) -> HTMLResponse:
        wanted = OutboxStatus(status) if status in set(OutboxStatus) else None
        rows = outbox.messages(web(request).svc, wanted)
        return render(request, "console/insights_outbox.html", rows=rows, status=wanted,
                      statuses=list(OutboxStatus), may_retry=user.may(Role.BILLING))

    @r.get("/outbox/{message_id}", response_class=HTMLResponse)
    def outbox_message(request: Request, user: Staff, message_id: int) -> HTMLResponse:
        ctx = web(request)
        row, mail, error = outbox.preview(ctx.svc, delivery(ctx.settings), message_id)
        return render(request, "console/insights_outbox_message.html", row=row, mail=mail, error=error,
                      may_retry=user.may(Role.BILLING))

    @r.post("/outbox/{message_id}/retry")
    def outbox_retry(request: Request, user: Billing, message_id: int) -> RedirectResponse:
        ctx = web(request)
        outbox.retry(ctx.svc, message_id, ctx.clock.now())
        return redirect_with_flash(request, "/console/outbox", t(request, "outbox.retried", id=message_id))

    return r


def _refused(request: Request, problem: Problem, filename: str | None) -> HTMLResponse:
    return render(request, "console/insights_whatif.html", status_code=422, report=None, problem=problem,
                  filename=filename)


def load_scenario(raw: bytes) -> tuple[Scenario, dict[int, int]] | Problem:
    """The scenario and the line of each step, or the problem with the line it is on."""
    try:
        text = raw.decode("utf-8")
        data = yaml.safe_load(text)
        node = yaml.compose(text)
    except UnicodeDecodeError:
        return Problem("the file is not UTF-8 text")
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return Problem(f"not valid YAML: {getattr(exc, 'problem', None) or exc}",
                       mark.line + 1 if mark is not None else None)
    keys, steps = _lines(node)
    try:
        return parse(data), steps
    except ScenarioError as exc:
        return Problem(str(exc), _line_of(str(exc), keys, steps))
    except (TypeError, KeyError, AttributeError, ValueError) as exc:
        return Problem(f"malformed scenario: {exc!r}")


def _lines(node: Any) -> tuple[dict[str, int], dict[int, int]]:
    """Lines of the top-level keys, and of each step (1-based step number → 1-based line)."""
    keys: dict[str, int] = {}
    steps: dict[int, int] = {}
    if not isinstance(node, yaml.MappingNode):
        return keys, steps
    for key, value in node.value:
        keys[str(key.value)] = key.start_mark.line + 1
        if key.value == "steps" and isinstance(value, yaml.SequenceNode):
            steps = {i: item.start_mark.line + 1 for i, item in enumerate(value.value, start=1)}
    return keys, steps


def _line_of(message: str, keys: dict[str, int], steps: dict[int, int]) -> int | None:
    if found := _STEP.match(message):
        return steps.get(int(found.group(1)))
    if found := _FIELD.match(message):
        return keys.get(found.group(1))
    return None
