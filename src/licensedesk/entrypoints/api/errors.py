"""Every error of the REST API as ``{code, message, details}``, mapped to HTTP in this one place.

RuleViolation → 409 (a well-formed request the current state forbids; ``code`` is the RULES.md ID),
InvalidInput and other domain errors → 422, NotFound → 404, authentication → 401, role → 403,
request validation → 422 ``INVALID-INPUT``. ``message`` is Japanese when ``Accept-Language``
prefers ``ja``, English otherwise.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from licensedesk.domain.errors import DomainError, NotFound, RuleViolation


class Error(BaseModel):
    code: str
    message: str
    details: dict[str, Any]


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": Error, "description": "Missing or invalid credentials (AUTH-REQUIRED, AUTH-INVALID)"},
    403: {"model": Error, "description": "The caller's role may not do this (AUTH-ROLE)"},
    404: {"model": Error, "description": "No such object, or not the caller's (NOT-FOUND)"},
    409: {"model": Error, "description": "Refused by a business rule; code is the rule ID"},
    422: {"model": Error, "description": "Malformed input (INVALID-INPUT, IDEMPOTENCY-MISMATCH, …)"},
}


class ApiError(Exception):
    """An error of the HTTP layer itself (authentication, role), bilingual like the domain's."""

    def __init__(self, status: int, code: str, message_en: str, message_ja: str, **details: Any) -> None:
        super().__init__(message_en)
        self.status, self.code, self.message_en, self.message_ja, self.details = (
            status, code, message_en, message_ja, details)


def language(request: Request) -> str:
    """``ja`` when the caller's most preferred language is Japanese, else ``en``."""
    best, best_q = "en", -1.0
    for part in request.headers.get("accept-language", "").split(","):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if tag and q > best_q:
            best, best_q = tag.lower(), q
    return "ja" if best.startswith("ja") else "en"


def status_of(err: DomainError) -> int:
    if isinstance(err, RuleViolation):
        return 409
    if isinstance(err, NotFound):
        return 404
    return 422


def _body(code: str, message: str, details: dict[str, Any]) -> dict[str, Any]:
    return {"code": code, "message": message, "details": jsonable_encoder(details)}


def _domain(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return JSONResponse(_body(exc.code, exc.message(language(request)), exc.details), status_of(exc))


def _api(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    message = exc.message_ja if language(request) == "ja" else exc.message_en
    headers = {"WWW-Authenticate": 'Bearer realm="licensedesk"'} if exc.status == 401 else None
    return JSONResponse(_body(exc.code, message, exc.details), exc.status, headers=headers)


def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{"field": ".".join(str(p) for p in e.get("loc", ())), "type": e.get("type"), "message": e.get("msg")}
              for e in exc.errors()]
    ja = language(request) == "ja"
    message = "入力内容に誤りがあります" if ja else "the request is not valid"
    return JSONResponse(_body("INVALID-INPUT", message, {"errors": errors}), 422)


def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    ja = language(request) == "ja"
    messages = {404: ("not found", "見つかりません"), 405: ("method not allowed", "この操作はできません")}
    en, jp = messages.get(exc.status_code, (str(exc.detail), str(exc.detail)))
    return JSONResponse(_body(f"HTTP-{exc.status_code}", jp if ja else en, {}), exc.status_code,
                        headers=getattr(exc, "headers", None))


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain)
    app.add_exception_handler(ApiError, _api)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
