"""The one shape of a console mutation: the same handler as the API, its audit entry, one transaction.

``perform`` reads the clock once, runs the handler on the request's unit of work (``lend``), appends the
audit entry (``entrypoints/api/audit.append``, actor = the signed-in user's name, the same action names
as the API) and commits both together. ``preview`` runs the same handler and rolls everything back.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder

from licensedesk.entrypoints.api import audit
from licensedesk.services.console import DryRun, dry_run
from licensedesk.services.context import Services
from licensedesk.services.lending import lend

from .session import WebUser, web


def perform(request: Request, user: WebUser, *, action: str, target: str, run: Callable[[Services, datetime], Any],
            before: Callable[[Services], Any] | None = None) -> Any:
    """Do it and audit it in one transaction; a refusal (DomainError) rolls both back and propagates.

    ``run`` returns what the audit entry records as "after" (the API's JSON views), ``before`` the "before".
    """
    ctx = web(request)
    now = ctx.clock.now()
    with ctx.svc.uow() as uow:
        svc = lend(ctx.svc, uow)
        prior = jsonable_encoder(before(svc)) if before is not None else None
        result = run(svc, now)
        audit.append(uow, now, user.name, action, target, prior, jsonable_encoder(result))
        uow.commit()
    return result


def preview(request: Request, run: Callable[[Services, datetime], Any]) -> DryRun:
    ctx = web(request)
    return dry_run(ctx.svc, ctx.clock.now(), run)

