"""The web front door (issue 7): the staff console under /console and the customer portal under /portal.

Server-rendered Jinja2 pages with vendored htmx (``static/htmx.min.js``, no build chain), Japanese by
default with an English toggle. ``install_web(app, svc, settings, clock)`` is all ``app.py`` calls:
it mounts /static, the login/logout/language routes (``auth.py``) and every module of ``ROUTERS``.

The foundation the pages share (see docs/web.md):

- ``session.py``: server-side sessions (``web_sessions``), CSRF (``csrf_protect``, added to every
  router mounted here), login throttling (``web_login_attempts``), ``require_staff(*roles)`` and
  ``require_customer()`` dependencies;
- ``render.py``: ``render(request, template, **ctx)``, ``redirect_with_flash``, filters ``yen``, ``dt``;
- ``i18n.py``: the ja/en message catalog and ``t(key)``;
- ``templates/base.html``: the layout (nav, language toggle, logout, flash messages).

To add pages: write a module here with a ``router() -> APIRouter`` function (and optionally ``JA``/``EN``
message dicts and ``NAV_STAFF``/``NAV_CUSTOMER`` lists of (href, message key) for the menu), then add
the module to ``ROUTERS`` below — one line.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from licensedesk.config import Settings
from licensedesk.domain.errors import DomainError, NotFound, RuleViolation
from licensedesk.services.context import Services

from . import (
    auth,
    console,
    console_documents,
    console_orders,
    console_parties,
    console_payments,
    console_subscriptions,
    i18n,
    insights,
    insights_tools,
    portal,
    reconciliation,
)
from .render import login_url, render, t
from .session import Forbidden, LoginRequired, WebContext, csrf_protect, current_user, language

# Every page module: each has router() (and optionally JA/EN words). Add yours here, one line each.
ROUTERS: list[Any] = [
    insights,  # /console (the dashboard), calendar, calendar.ics, charts
    console,  # the console menu entry and its words (words_console.py); /console is the dashboard
    console_parties,  # /console/customers, /console/tenants
    console_subscriptions,  # /console/subscriptions (detail, changes with preview)
    console_orders,  # /console/orders/new
    console_documents,  # /console/documents (PDF, pay, void, re-issue)
    console_payments,  # /console/payments (bank statement upload, matching queue)
    reconciliation,  # /console/reconciliation (provisioning jobs, Partner Center reconciliation; issue 8)
    portal,  # /portal (customer portal)
    insights_tools,  # /console/what-if, /console/outbox (and the nav entries of the insights pages)
]

WEB_PREFIXES = ("/console", "/portal", "/login", "/logout", "/lang")


def install_web(app: FastAPI, svc: Services, settings: Settings, clock: Any) -> None:
    """Mount the web pages on ``app``; ``clock`` is read once per request that needs the time."""
    app.state.web = WebContext(svc, settings, clock)
    static = str(resources.files("licensedesk.entrypoints.web").joinpath("static"))
    app.mount("/static", StaticFiles(directory=static), name="static")
    app.include_router(auth.router())
    for module in ROUTERS:
        i18n.extend(getattr(module, "JA", {}), getattr(module, "EN", {}))
        app.state.web.nav_staff.extend(getattr(module, "NAV_STAFF", []))
        app.state.web.nav_customer.extend(getattr(module, "NAV_CUSTOMER", []))
        app.include_router(module.router(), dependencies=[Depends(csrf_protect)])
    _install_errors(app)


def is_web(request: Request) -> bool:
    return request.url.path == "/" or request.url.path.startswith(WEB_PREFIXES)


def _install_errors(app: FastAPI) -> None:
    """Web paths answer errors as pages; every other path keeps the handler installed before (the API's)."""
    api_domain = app.exception_handlers.get(DomainError)
    api_http = app.exception_handlers.get(StarletteHTTPException)
    api_invalid = app.exception_handlers.get(RequestValidationError)

    async def login_required(request: Request, exc: Exception) -> Response:
        if request.headers.get("hx-request"):  # htmx follows no redirect: ask it to load the login page
            return Response(status_code=401, headers={"HX-Redirect": login_url(request)})
        return RedirectResponse(login_url(request), status_code=303)

    async def forbidden(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Forbidden)
        user = current_user(request)
        role = t(request, f"role.{user.role.value}") if user else ""
        message = t(request, f"error.forbidden.{exc.reason}", role=role)
        return render(request, "error.html", status_code=403, title=t(request, "error.forbidden.title"),
                      message=message, code="CSRF" if exc.reason == "csrf" else "AUTH-ROLE")

    async def domain(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DomainError)
        if not is_web(request) and api_domain is not None:
            return await _call(api_domain, request, exc)
        status = 404 if isinstance(exc, NotFound) else 409 if isinstance(exc, RuleViolation) else 422
        title = t(request, "error.notfound.title" if status == 404 else "error.refused.title")
        return render(request, "error.html", status_code=status, title=title, message=exc.message(language(request)),
                      code=exc.code)

    async def http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if not is_web(request) and api_http is not None:
            return await _call(api_http, request, exc)
        if exc.status_code == 404:
            return render(request, "error.html", status_code=404, title=t(request, "error.notfound.title"),
                          message=t(request, "error.notfound.body"), code="NOT-FOUND")
        return render(request, "error.html", status_code=exc.status_code, title=str(exc.status_code),
                      message=str(exc.detail), code=f"HTTP-{exc.status_code}", headers=getattr(exc, "headers", None))

    async def invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        if not is_web(request) and api_invalid is not None:
            return await _call(api_invalid, request, exc)
        fields = ", ".join(".".join(str(p) for p in e.get("loc", ())) for e in exc.errors())
        return render(request, "error.html", status_code=422, title=t(request, "error.refused.title"),
                      message=fields, code="INVALID-INPUT")

    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(LoginRequired, login_required)
    app.add_exception_handler(Forbidden, forbidden)
    app.add_exception_handler(DomainError, domain)
    app.add_exception_handler(StarletteHTTPException, http)


async def _call(handler: Any, request: Request, exc: Exception) -> Response:
    result = handler(request, exc)
    if hasattr(result, "__await__"):
        result = await result
    assert isinstance(result, Response)
    return result
