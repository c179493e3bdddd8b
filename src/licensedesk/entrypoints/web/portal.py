"""The customer portal, /portal: a placeholder the portal's pages replace (owned by the portal work)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from .render import render
from .session import WebUser, require_customer

Customer = Annotated[WebUser, Depends(require_customer())]
NAV_CUSTOMER = [("/portal", "nav.portal")]


def router() -> APIRouter:
    r = APIRouter(prefix="/portal", include_in_schema=False)

    @r.get("", response_class=HTMLResponse)
    def index(request: Request, user: Customer) -> HTMLResponse:
        return render(request, "portal/index.html", customer_ref=user.customer_ref)

    return r
