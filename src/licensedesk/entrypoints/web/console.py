"""The staff console's navigation entry and words; /console itself is the dashboard (``insights.py``)."""

from __future__ import annotations

from fastapi import APIRouter

from .words_console import EN, JA

__all__ = ["EN", "JA", "NAV_STAFF", "router"]

NAV_STAFF = [("/console", "nav.console")]


def router() -> APIRouter:
    return APIRouter(prefix="/console", include_in_schema=False)  # no pages of its own
