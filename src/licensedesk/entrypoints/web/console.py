"""The staff console's home, /console (the section pages are mounted from their own modules)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from .render import render
from .session import WebUser, require_staff
from .words_console import EN, JA

__all__ = ["EN", "JA", "NAV_STAFF", "router"]

Staff = Annotated[WebUser, Depends(require_staff())]
NAV_STAFF = [("/console", "nav.console")]


def router() -> APIRouter:
    r = APIRouter(prefix="/console", include_in_schema=False)

    @r.get("", response_class=HTMLResponse)
    def index(request: Request, user: Staff) -> HTMLResponse:
        return render(request, "console/index.html")

    return r
