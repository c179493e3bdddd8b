"""What the API's routes share: services, settings, the clock, the caller; and the one shape of a mutation."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBearer
from sqlalchemy.exc import IntegrityError

from licensedesk.config import Settings
from licensedesk.domain.errors import InvalidInput
from licensedesk.services.context import Services
from licensedesk.services.lending import lend
from licensedesk.services.ports import Conflict, KeyInUse
from licensedesk.services.ports_api import Remembered

from . import audit
from .encode import plain_json
from .errors import ApiError
from .security import Actor, Role, TokenCache, authenticate, require


@dataclass
class ApiContext:
    svc: Services
    settings: Settings
    clock: Any  # SystemClock in production; tests move a fixed clock
    tokens: TokenCache = field(default_factory=TokenCache)  # bearer tokens recently found valid


async def api(request: Request) -> ApiContext:
    """Async (as ``caller``): FastAPI runs a sync dependency in its thread pool, a hop per request for nothing."""
    return _context(request)


def _context(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.api
    return ctx


_bearer = HTTPBearer(auto_error=False, description="a token from `licensedesk token create NAME` "
                                                   "(HTTP Basic with a user's password is accepted too)")


async def caller(request: Request, _scheme: Annotated[Any, Depends(_bearer)] = None) -> Actor:
    """The authenticated caller (401 otherwise); the scheme dependency only documents bearer auth.

    A bearer token remembered as valid answers on the event loop; anything that needs the database (or
    argon2) runs in the thread pool."""
    ctx = _context(request)
    header = request.headers.get("authorization")
    remembered = ctx.tokens.known(header)
    if remembered is not None:
        return remembered
    return await run_in_threadpool(authenticate, ctx.svc, header, ctx.tokens)


Ctx = Annotated[ApiContext, Depends(api)]
Caller = Annotated[Actor, Depends(caller)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=255,
                                              description="repeat a mutation safely: same key → same answer")]


def body_hash(method: str, path: str, body: Any) -> str:
    text = json.dumps(plain_json(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{method} {path}\n{text}".encode()).hexdigest()


def mutate(ctx: ApiContext, request: Request, actor: Actor, roles: tuple[Role, ...], key: str | None, *,
           action: str, target: str, body: Any, run: Callable[[Services, datetime], Any],
           before: Callable[[Services], Any] | None = None, status: int = 200) -> JSONResponse:
    """Role check → idempotency replay → the handler → audit entry + remembered answer, in ONE transaction.

    The handler runs on the same unit of work (``lend``), so the change, its audit entry and its
    idempotency record commit together or not at all. The clock is read once. A replay with the same
    key, method, path and body returns the first answer (header ``Idempotent-Replayed: true``) and does
    nothing; the same key with anything else is refused. Refusals are not remembered: nothing happened,
    so the same key may be retried. Two requests racing with one new key: the second meets the unique
    constraint and answers 409 IDEMPOTENCY-IN-PROGRESS, its work rolled back. Any other write that loses a race
    (a unique key, a version) answers 409 CONFLICT, also rolled back.
    """
    require(actor, roles)
    method, path = request.method, request.url.path
    digest = body_hash(method, path, body)
    now = ctx.clock.now()
    try:
        with ctx.svc.uow() as uow:
            first = uow.api.idempotent(actor.name, key) if key is not None else None
            if first is not None:
                if (first["method"], first["path"], first["body_hash"]) != (method, path, digest):
                    raise InvalidInput("this Idempotency-Key was used for another request",
                                       "この Idempotency-Key は別のリクエストで使用済みです",
                                       code="IDEMPOTENCY-MISMATCH", key=key)
                return JSONResponse(first["response"], first["status"], headers={"Idempotent-Replayed": "true"})
            svc = lend(ctx.svc, uow)
            prior = before(svc) if before is not None else None
            result = plain_json(run(svc, now))
            remember = None if key is None else Remembered(actor.name, key, method, path, digest, status, result, now)
            # last before the commit, with the idempotency record: the audit chain's lock is held only from there
            audit.append(uow, now, actor.name, action, target, prior, result, remember)
            uow.commit()
    except KeyInUse:
        raise ApiError(409, "IDEMPOTENCY-IN-PROGRESS", "another request with this Idempotency-Key is running",
                       "同じ Idempotency-Key のリクエストを処理中です", key=key) from None
    except (Conflict, IntegrityError):  # any other write that lost a race: nothing was done (D-API-CONFLICT)
        raise ApiError(409, "CONFLICT", "a concurrent change got there first; nothing was done, try again",
                       "同時に行われた別の変更と競合しました。何も変更していません。もう一度お試しください") from None
    return JSONResponse(result, status)


def page(items: list[Any], limit: int, offset: int) -> dict[str, Any]:
    return {"items": jsonable_encoder(items[offset:offset + limit]), "total": len(items), "limit": limit,
            "offset": offset}
