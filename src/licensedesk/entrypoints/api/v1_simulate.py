"""/api/v1 simulate and preview: run a scenario (SCENARIOS.md format 1) on a fresh in-memory database.

``simulate`` answers the report (as ``licensedesk simulate --json``); ``preview`` is the what-if form:
the same run with every figure's rule and formula (``--explain``). Neither touches the live data, so
neither needs an Idempotency-Key nor writes the audit log. The body is JSON or YAML
(``Content-Type: application/yaml``).
"""

from __future__ import annotations

import json
from typing import Any

import yaml
from fastapi import APIRouter, Request
from fastapi.encoders import jsonable_encoder

from licensedesk.bootstrap import simulation_services
from licensedesk.domain.errors import InvalidInput
from licensedesk.services.scenario import ScenarioError, parse
from licensedesk.services.simulate import simulate as run_scenario

from .context import Caller, Ctx
from .security import STAFF, require

router = APIRouter(tags=["simulate"])
BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"type": "object", "description": "a scenario, SCENARIOS.md format 1"}},
}}}


async def _scenario(request: Request) -> Any:
    raw = await request.body()
    try:
        if "yaml" in request.headers.get("content-type", ""):
            data = yaml.safe_load(raw.decode("utf-8"))
        else:
            data = json.loads(raw)
        return parse(data)
    except (UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
        raise InvalidInput(f"not a valid JSON/YAML body: {exc}", "JSON／YAML として読めません",
                           code="SCENARIO-MALFORMED") from None
    except ScenarioError as exc:
        raise InvalidInput(f"malformed scenario: {exc}", f"シナリオの形式が正しくありません: {exc}",
                           code="SCENARIO-MALFORMED") from None
    except (TypeError, KeyError, AttributeError) as exc:
        raise InvalidInput(f"malformed scenario: {exc!r}", "シナリオの形式が正しくありません",
                           code="SCENARIO-MALFORMED") from None


@router.post("/simulate", openapi_extra=BODY)
async def simulate(ctx: Ctx, actor: Caller, request: Request) -> dict[str, Any]:
    """The scenario's report: subscriptions, documents, notices, rejections and ``expect`` results."""
    require(actor, STAFF)
    scenario = await _scenario(request)
    report: dict[str, Any] = jsonable_encoder(run_scenario(scenario, simulation_services(ctx.settings)))
    return report


@router.post("/preview", openapi_extra=BODY)
async def preview(ctx: Ctx, actor: Caller, request: Request) -> dict[str, Any]:
    """What if: the scenario's report with the rule ID and formula of every figure and refusal."""
    require(actor, STAFF)
    scenario = await _scenario(request)
    report: dict[str, Any] = jsonable_encoder(run_scenario(scenario, simulation_services(ctx.settings),
                                                           explain=True))
    return report
