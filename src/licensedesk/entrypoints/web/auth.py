"""Log in, log out, switch language, and ``/`` (which sends each user to their home)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from . import session
from .render import redirect_with_flash, render, t
from .session import WebUser, current_user, web

STAFF_HOME = "/console"  # where staff land after login
CUSTOMER_HOME = "/portal"  # where customer users land after login


def home_of(user: WebUser) -> str:
    return STAFF_HOME if user.is_staff else CUSTOMER_HOME


def _safe_next(user: WebUser, target: str | None) -> str:
    """Only a local path inside the user's own area (no open redirect)."""
    area = "/console" if user.is_staff else "/portal"
    if target and target.startswith(area) and not target.startswith("//") and "\\" not in target:
        return target
    return home_of(user)


def _secure(request: Request) -> bool:
    return web(request).settings.environment != "development"


def router() -> APIRouter:
    r = APIRouter(include_in_schema=False)

    @r.get("/")
    def root(request: Request) -> RedirectResponse:
        user = current_user(request)
        return RedirectResponse(home_of(user) if user else "/login", status_code=303)

    @r.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, next: str | None = None) -> Response:
        return _form(request, next)

    @r.post("/login", response_class=HTMLResponse)
    def login(request: Request, name: Annotated[str, Form(max_length=200)] = "",
              password: Annotated[str, Form(max_length=1000)] = "",
              login_token: Annotated[str, Form(max_length=200)] = "", next: Annotated[str, Form()] = "") -> Response:
        if not session.login_token_ok(request, login_token):
            return _form(request, next, error=t(request, "login.expired"), status=400, name=name)
        ctx = web(request)
        try:
            done = session.login(ctx, name, password, session.client_ip(request), session.language(request))
        except session.Throttled as refused:
            minutes = (refused.retry_after + 59) // 60
            return _form(request, next, error=t(request, "login.throttled", minutes=minutes), status=429,
                         name=name, headers={"Retry-After": str(refused.retry_after)})
        if done is None:
            return _form(request, next, error=t(request, "login.invalid"), status=401, name=name)
        token, user = done
        response = RedirectResponse(_safe_next(user, next), status_code=303)
        response.set_cookie(session.SESSION_COOKIE, token, httponly=True, samesite="lax", secure=_secure(request),
                            path="/")
        response.delete_cookie(session.LOGIN_COOKIE, path="/login")
        return response

    @r.post("/logout", dependencies=[Depends(session.csrf_protect)])
    def logout(request: Request) -> Response:
        user = current_user(request)
        if user is not None:
            session.logout(web(request), user)
        response = redirect_with_flash(request, "/login", t(request, "logout.done"))
        response.delete_cookie(session.SESSION_COOKIE, path="/")
        return response

    @r.get("/lang/{code}")
    def switch_language(request: Request, code: str, next: str = "/") -> RedirectResponse:
        """Remember the language in a cookie (before login) and on the session (after)."""
        chosen = code if code in session.LANGUAGES else "ja"
        target = next if next.startswith("/") and not next.startswith("//") and "\\" not in next else "/"
        user = current_user(request)
        if user is not None:
            session.set_language(web(request), user, chosen)
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(session.LANG_COOKIE, chosen, max_age=365 * 86400, samesite="lax",
                            secure=_secure(request), path="/")
        return response

    return r


def _form(request: Request, next: str | None, *, error: str | None = None, status: int = 200, name: str = "",
          headers: dict[str, str] | None = None) -> Response:
    user = current_user(request)
    if user is not None and error is None:
        return RedirectResponse(home_of(user), status_code=303)
    token = session.new_login_token()
    response = render(request, "login.html", status_code=status, headers=headers, error=error, next=next or "",
                      name=name, login_token=token)
    response.set_cookie(session.LOGIN_COOKIE, token, httponly=True, samesite="lax", secure=_secure(request),
                        path="/login")
    return response
