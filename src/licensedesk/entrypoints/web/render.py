"""Pages: the Jinja environment, ``render(request, template, **ctx)`` and ``redirect_with_flash``.

Every page gets ``lang``, ``t`` (i18n), ``user`` (the signed-in ``WebUser`` or None), ``csrf_token``,
``flashes`` (messages set by the previous redirect), ``settings`` and ``path``. Flash messages travel
in a short-lived cookie signed with the secret key (``ld_flash``), read and cleared by the next page.
Filters: ``yen`` (1,234 円 / ¥1,234), ``dt`` (an instant in the reseller's time zone).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context

from .i18n import translate
from .session import current_user, language, web

FLASH_COOKIE = "ld_flash"


@pass_context
def _t(context: Context, key: str, **fields: Any) -> str:
    return translate(context.get("lang", "ja"), key, **fields)


@pass_context
def _yen(context: Context, amount: int | None) -> str:
    if amount is None:
        return "—"
    return translate(context.get("lang", "ja"), "common.yen", amount=f"{amount:,}")


@pass_context
def _dt(context: Context, instant: datetime | None) -> str:
    if instant is None:
        return "—"
    zone = context["settings"].zone
    return instant.astimezone(zone).strftime("%Y-%m-%d %H:%M")


@cache
def environment() -> Environment:
    path = str(resources.files("licensedesk.entrypoints.web").joinpath("templates"))
    env = Environment(loader=FileSystemLoader(path), autoescape=select_autoescape(["html", "xml"]))
    env.globals["t"] = _t
    env.filters["yen"] = _yen
    env.filters["dt"] = _dt
    return env


def _sign(secret: str, payload: bytes) -> str:
    return hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()[:32]


def _flashes(request: Request) -> list[dict[str, str]]:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw or "." not in raw:
        return []
    data, _, signature = raw.rpartition(".")
    try:
        payload = base64.urlsafe_b64decode(data.encode())
    except ValueError:
        return []
    if not hmac.compare_digest(signature, _sign(web(request).settings.secret_key, payload)):
        return []
    try:
        items = json.loads(payload)
    except ValueError:
        return []
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def render(request: Request, template: str, status_code: int = 200, headers: dict[str, str] | None = None,
           **ctx: Any) -> HTMLResponse:
    """The page ``template`` with the shared context plus ``ctx``; clears the flash cookie it showed."""
    user = current_user(request)
    flashes = _flashes(request)
    ctx_web = web(request)
    context = {"request": request, "lang": language(request), "user": user, "settings": ctx_web.settings,
               "nav_staff": ctx_web.nav_staff, "nav_customer": ctx_web.nav_customer,
               "csrf_token": user.csrf_token if user else "", "flashes": flashes, "path": request.url.path, **ctx}
    html = environment().get_template(template).render(context)
    response = HTMLResponse(html, status_code=status_code, headers=headers)
    if flashes:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def redirect_with_flash(request: Request, url: str, message: str, kind: str = "ok") -> RedirectResponse:
    """303 to ``url`` showing ``message`` once there (``kind``: ok, error, info). Translate before calling."""
    payload = json.dumps([{"kind": kind, "message": message}], ensure_ascii=False).encode()
    value = base64.urlsafe_b64encode(payload).decode() + "." + _sign(web(request).settings.secret_key, payload)
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(FLASH_COOKIE, value, max_age=60, path="/", httponly=True, samesite="lax",
                        secure=web(request).settings.environment != "development")
    return response


def t(request: Request, key: str, **fields: Any) -> str:
    """Translate in the request's language (for flash messages built in routes)."""
    return translate(language(request), key, **fields)


def login_url(request: Request) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/login?next=" + quote(target, safe="")
