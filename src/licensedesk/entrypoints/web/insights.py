"""The console's "what needs a person" pages (issue 7): the dashboard, the deadline calendar, its ICS feed, charts.

``/console`` is the dashboard (overdue tasks, today, the next 7 days, from ``services/agenda.today``);
``/console/calendar?month=YYYY-MM`` a month grid; ``/console/calendar.ics`` the same deadlines for
calendar clients, which cannot log in with a session: the feed also accepts an API bearer token of a
staff user as ``?token=…`` (or ``Authorization: Bearer/Basic``), see docs/web-insights.md;
``/console/charts`` renewals ahead and revenue behind, by month, as inline SVG.
"""

from __future__ import annotations

import calendar as month_calendar
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response

from licensedesk.domain.calendar import add_months
from licensedesk.entrypoints.api.errors import ApiError
from licensedesk.entrypoints.api.security import STAFF, Role, authenticate, token_digest
from licensedesk.services import agenda, insights

from . import charts, ics
from .insights_words import EN, JA
from .render import render, t
from .session import WebUser, current_user, language, require_staff, web

__all__ = ["EN", "JA", "router"]  # the menu entries are in insights_tools (mounted after console)

Staff = Annotated[WebUser, Depends(require_staff())]
DASHBOARD_ROWS = 200  # per group; the rest are counted and left to the calendar
FEED_PAST_DAYS = 31  # the ICS feed: a month back (recently overdue) …
FEED_FUTURE_DAYS = 400  # … to a year and a month ahead
REALM = 'Basic realm="licensedesk calendar", charset="UTF-8"'


def router() -> APIRouter:
    r = APIRouter(prefix="/console", include_in_schema=False)

    @r.get("", response_class=HTMLResponse)
    def dashboard(request: Request, user: Staff) -> HTMLResponse:
        ctx = web(request)
        board = agenda.today(ctx.svc, ctx.clock.now())
        return render(request, "console/agenda_dashboard.html", board=board, limit=DASHBOARD_ROWS)

    @r.get("/calendar", response_class=HTMLResponse)
    def month(request: Request, user: Staff, month: str | None = None) -> HTMLResponse:
        ctx = web(request)
        today = ctx.svc.when(ctx.clock.now()).today
        first = _month(month) if month else today.replace(day=1)
        weeks = month_calendar.Calendar(firstweekday=6).monthdatescalendar(first.year, first.month)
        items = agenda.agenda(ctx.svc, weeks[0][0], weeks[-1][-1])
        by_day: dict[date, list[agenda.Deadline]] = {}
        for d in items:
            by_day.setdefault(d.on, []).append(d)
        lang = language(request)
        holidays = {day: ctx.svc.calendar.holiday_name(day, lang) for week in weeks for day in week}
        return render(request, "console/agenda_calendar.html", first=first, weeks=weeks, by_day=by_day,
                      today=today, holidays=holidays, previous=add_months(first, -1), next=add_months(first, 1),
                      in_month=[d for d in items if d.on.month == first.month])

    @r.get("/calendar.ics")
    def feed(request: Request, token: Annotated[str | None, Query()] = None) -> Response:
        if not _feed_allowed(request, token):
            return Response("authentication required\n", status_code=401, media_type="text/plain",
                            headers={"WWW-Authenticate": REALM})
        ctx = web(request)
        now = ctx.clock.now()
        today = ctx.svc.when(now).today
        items = agenda.agenda(ctx.svc, today - timedelta(days=FEED_PAST_DAYS), today + timedelta(days=FEED_FUTURE_DAYS))
        return Response(ics.calendar(items, now), media_type="text/calendar; charset=utf-8",
                        headers={"Content-Disposition": 'inline; filename="licensedesk.ics"',
                                 "Cache-Control": "private, max-age=300"})

    @r.get("/charts", response_class=HTMLResponse)
    def charts_page(request: Request, user: Staff) -> HTMLResponse:
        ctx = web(request)
        today = ctx.svc.when(ctx.clock.now()).today
        renewals = insights.renewals_by_month(ctx.svc, today)
        revenue = insights.revenue_by_month(ctx.svc, today)
        label = [f"{m.month:%Y-%m}" for m in renewals]
        svgs = {
            "renewal_count": charts.bar_chart("chart-renewal-count", t(request, "insights.renewal_count"),
                                              t(request, "insights.renewal_count_desc"),
                                              [(k, m.count) for k, m in zip(label, renewals, strict=True)],
                                              money=False),
            "renewal_amount": charts.bar_chart("chart-renewal-amount", t(request, "insights.renewal_amount"),
                                               t(request, "insights.renewal_amount_desc"),
                                               [(k, m.amount) for k, m in zip(label, renewals, strict=True)],
                                               money=True),
            "revenue": charts.bar_chart("chart-revenue", t(request, "insights.revenue"),
                                        t(request, "insights.revenue_desc"),
                                        [(f"{m.month:%Y-%m}", m.net) for m in revenue], money=True),
        }
        return render(request, "console/insights_charts.html", svgs=svgs, renewals=renewals, revenue=revenue,
                      yen=charts.yen)

    return r


def _month(text: str) -> date:
    try:
        year, _, month = text.partition("-")
        return date(int(year), int(month), 1)
    except ValueError:
        raise HTTPException(400, f"month must look like 2026-07, got {text!r}") from None


def _feed_allowed(request: Request, token: str | None) -> bool:
    """A staff session, a staff user's API bearer token as ``?token=``, or an Authorization header."""
    user = current_user(request)
    if user is not None:
        return user.is_staff
    svc = web(request).svc
    if token:
        with svc.uow() as uow:
            found = uow.api.user_by_token(token_digest(token))
        return found is not None and Role(found["role"]) in STAFF
    header = request.headers.get("authorization")
    if not header:
        return False
    try:
        return authenticate(svc, header).role in STAFF
    except ApiError:
        return False
