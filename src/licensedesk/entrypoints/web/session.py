"""Who is looking at the page: server-side sessions, CSRF, login throttling and the role dependencies.

A session is a row of ``web_sessions`` found by the SHA-256 of a random token; the token itself lives
only in the ``ld_session`` cookie (HttpOnly, SameSite=Lax, Secure outside development). Sessions last
``SESSION_HOURS`` from login (absolute, no sliding); logout deletes the row. Each session has its own
random CSRF token: every POST under /console, /portal and /logout must carry it in the form field
``csrf_token`` or the header ``X-CSRF-Token`` (htmx sends it from ``hx-headers`` on <body>), else 403.
The login form itself is protected by a double-submit token (cookie ``ld_login`` = form field).

Login throttling (docs/web.md): ``MAX_NAME_FAILURES`` failed logins for one user name, or
``MAX_IP_FAILURES`` from one client IP, within ``THROTTLE_WINDOW`` → the next attempt is refused with
HTTP 429 and ``Retry-After`` (seconds until the oldest counted failure leaves the window), without
checking the password. A successful login clears the name's failures.

Routes ask for the caller with ``Depends(require_staff(...))`` or ``Depends(require_customer())``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from fastapi import Request

from licensedesk.config import Settings
from licensedesk.entrypoints.api.security import STAFF, Role, hash_password, token_digest, verify_password
from licensedesk.services.context import Services

SESSION_COOKIE = "ld_session"
LANG_COOKIE = "ld_lang"
LOGIN_COOKIE = "ld_login"
SESSION_HOURS = 12
THROTTLE_WINDOW = timedelta(minutes=15)
MAX_NAME_FAILURES = 5
MAX_IP_FAILURES = 20
LANGUAGES = ("ja", "en")
VIEWER = Role.READ_ONLY  # the console calls the read-only role "viewer"


@dataclass
class WebContext:
    svc: Services
    settings: Settings
    clock: Any  # SystemClock in production; tests put a fixed clock here (app.state.web.clock)
    nav_staff: list[tuple[str, str]] = field(default_factory=list)  # (href, message key), from NAV_STAFF
    nav_customer: list[tuple[str, str]] = field(default_factory=list)  # from NAV_CUSTOMER


@dataclass(frozen=True)
class WebUser:
    """The signed-in user of this request."""

    name: str
    role: Role
    customer_ref: str | None
    csrf_token: str
    language: str
    token_hash: str

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF

    def may(self, *roles: Role) -> bool:
        """Admin may everything; others only what ``roles`` name."""
        return self.role is Role.ADMIN or self.role in roles


class LoginRequired(Exception):
    """No valid session: the web answers with a redirect to /login?next=<path>."""


class Forbidden(Exception):
    """Signed in, but this role may not do this (403 page)."""

    def __init__(self, reason: str = "role") -> None:
        super().__init__(reason)
        self.reason = reason


class Throttled(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


def web(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.web
    return ctx


def current_user(request: Request) -> WebUser | None:
    """The session's user (looked up once per request), or None when there is no valid session."""
    if hasattr(request.state, "web_user"):
        user: WebUser | None = request.state.web_user
        return user
    user = None
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        ctx = web(request)
        digest = token_digest(token)
        with ctx.svc.uow() as uow:
            row = uow.web.session(digest)
            if row is not None and row["expires_at"] <= ctx.clock.now():
                uow.web.delete_session(digest)
                uow.commit()
                row = None
        if row is not None:
            user = WebUser(row["name"], Role(row["role"]), row["customer_ref"], row["csrf_token"], row["language"],
                           digest)
    request.state.web_user = user
    return user


def language(request: Request) -> str:
    """The session's language, else the ``ld_lang`` cookie's, else Japanese."""
    user = current_user(request)
    if user is not None:
        return user.language
    chosen = request.cookies.get(LANG_COOKIE, "ja")
    return chosen if chosen in LANGUAGES else "ja"


def _role(value: str | Role) -> Role:
    return VIEWER if value == "viewer" else Role(value)


def require_staff(*roles: str | Role) -> Callable[[Request], WebUser]:
    """Dependency: a staff user whose role is one of ``roles`` (admin always; none named: any staff role).

    No session → redirect to /login; a customer user or another role → 403 page.
    """
    allowed = tuple(_role(r) for r in roles) or STAFF

    def dependency(request: Request) -> WebUser:
        user = current_user(request)
        if user is None:
            raise LoginRequired()
        if not user.is_staff or not user.may(*allowed):
            raise Forbidden()
        return user

    return dependency


def require_customer() -> Callable[[Request], WebUser]:
    """Dependency: a customer user (role ``customer``); ``user.customer_ref`` is its only customer."""

    def dependency(request: Request) -> WebUser:
        user = current_user(request)
        if user is None:
            raise LoginRequired()
        if user.role is not Role.CUSTOMER or user.customer_ref is None:
            raise Forbidden()
        return user

    return dependency


async def csrf_protect(request: Request) -> None:
    """Dependency of every router ``install_web`` mounts: a POST must carry the session's CSRF token."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    user = current_user(request)
    if user is None:
        raise LoginRequired()
    sent = request.headers.get("x-csrf-token")
    if sent is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            value = (await request.form()).get("csrf_token")  # starlette caches the parsed form for the route
            sent = value if isinstance(value, str) else None
    if not sent or not hmac.compare_digest(sent, user.csrf_token):
        raise Forbidden("csrf")


# --- login, logout, language -------------------------------------------------------------------------


@cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _retry_after(count: int, oldest: datetime | None, limit: int, now: datetime) -> int | None:
    if count < limit or oldest is None:
        return None
    return max(1, int((oldest + THROTTLE_WINDOW - now).total_seconds()) + 1)


def login(ctx: WebContext, name: str, password: str, ip: str, language: str) -> tuple[str, WebUser] | None:
    """A new session token and its user, or None for a wrong name/password (counted); Throttled when refused."""
    now = ctx.clock.now()
    name = name.strip()[:64]
    with ctx.svc.uow() as uow:
        since = now - THROTTLE_WINDOW
        waits = [_retry_after(*uow.web.failures(since, name=name), MAX_NAME_FAILURES, now),
                 _retry_after(*uow.web.failures(since, client_ip=ip), MAX_IP_FAILURES, now)]
        if any(w is not None for w in waits):
            raise Throttled(max(w for w in waits if w is not None))
        user = uow.api.user(name) if name else None
        digest = user["password_hash"] if user is not None else None
        ok = verify_password(digest or _dummy_hash(), password) and digest is not None
        if not ok or user is None:
            uow.web.add_failure(name, ip, now)
            uow.commit()
            return None
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        uow.web.clear_failures(name)
        uow.web.delete_expired(now)
        uow.web.add_session(token_digest(token), user["id"], csrf, language, now, now + timedelta(hours=SESSION_HOURS))
        uow.commit()
    return token, WebUser(user["name"], Role(user["role"]), user["customer_ref"], csrf, language, token_digest(token))


def logout(ctx: WebContext, user: WebUser) -> None:
    with ctx.svc.uow() as uow:
        uow.web.delete_session(user.token_hash)
        uow.commit()


def set_language(ctx: WebContext, user: WebUser, language: str) -> None:
    with ctx.svc.uow() as uow:
        uow.web.set_language(user.token_hash, language)
        uow.commit()


def login_token_ok(request: Request, sent: str | None) -> bool:
    expected = request.cookies.get(LOGIN_COOKIE)
    return bool(expected and sent and hmac.compare_digest(expected, sent))


def new_login_token() -> str:
    return hashlib.sha256(secrets.token_bytes(32)).hexdigest()
