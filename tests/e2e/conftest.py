"""Fixtures of the web tests (helpers in web_support.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from web_support import WebApp, make_web_app


@pytest.fixture
def web_app(db_url: str) -> Iterator[WebApp]:
    """The app over the demo data, on SQLite and PostgreSQL."""
    yield make_web_app(db_url)


@pytest.fixture
def web_app_sqlite(sqlite_url: str) -> Iterator[WebApp]:
    """The app over the demo data, SQLite only (for the many page-by-role tests)."""
    yield make_web_app(sqlite_url)
