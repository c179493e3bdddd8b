"""The REST API, /api/v1: routers, the one error mapping, and the context the routes share."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI

from licensedesk.config import Settings
from licensedesk.services.context import Services

from . import (
    errors,
    v1_agreements,
    v1_billing,
    v1_documents,
    v1_parties,
    v1_previews,
    v1_simulate,
    v1_subscriptions,
    v1_transfers,
)
from .context import ApiContext


def router() -> APIRouter:
    api = APIRouter(prefix="/api/v1", responses=errors.ERROR_RESPONSES)
    # routes are tried in this order, each miss a few dozen Python calls: orders, the busiest path, come first
    # (no two routers share a path, so the order decides nothing else; D-API-ROUTER-ORDER)
    for module in (v1_subscriptions, v1_parties, v1_previews, v1_billing, v1_documents, v1_simulate, v1_agreements,
                   v1_transfers):
        api.include_router(module.router)
    return api


def install_api(app: FastAPI, svc: Services, settings: Settings, clock: Any) -> None:
    """Mount /api/v1 on ``app`` with its error handlers; ``clock`` is read once per mutation."""
    app.state.api = ApiContext(svc, settings, clock)
    errors.install(app)
    app.include_router(router())
