"""Shared fixtures: database URLs for SQLite and PostgreSQL.

PostgreSQL comes from ``LICENSEDESK_TEST_POSTGRES_URL`` (an admin URL; every
test gets its own freshly created database). When the server is unreachable
the PostgreSQL tests are skipped, or fail when ``LICENSEDESK_REQUIRE_POSTGRES``
or ``CI`` is set.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

DEFAULT_TEST_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in {"", "0", "false", "no"}


def _admin_engine(url: str, **kwargs: Any) -> Engine:
    return create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 3}, **kwargs)


def _connection_error(url: str) -> str | None:
    engine = _admin_engine(url)
    try:
        with engine.connect():
            return None
    except SQLAlchemyError as exc:
        return f"{exc.__class__.__name__}: {str(exc).splitlines()[0]}"
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    """URL of a PostgreSQL server where tests may create and drop databases."""
    url = os.environ.get("LICENSEDESK_TEST_POSTGRES_URL") or DEFAULT_TEST_POSTGRES_URL
    error = _connection_error(url)
    if error is None:
        return url
    reason = f"PostgreSQL is unreachable at {make_url(url).render_as_string(hide_password=True)}: {error}"
    if _flag("LICENSEDESK_REQUIRE_POSTGRES") or _flag("CI"):
        pytest.fail(f"{reason} (required because LICENSEDESK_REQUIRE_POSTGRES or CI is set)", pytrace=False)
    pytest.skip(f"{reason} (set LICENSEDESK_TEST_POSTGRES_URL or start the server)")


@pytest.fixture
def make_postgres_database(postgres_admin_url: str) -> Iterator[Callable[[], str]]:
    """A factory: each call creates an empty database and returns its URL; all are dropped afterwards."""
    admin = _admin_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    created: list[str] = []

    def make() -> str:
        name = f"ld_test_{uuid.uuid4().hex[:12]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        created.append(name)
        return make_url(postgres_admin_url).set(database=name).render_as_string(hide_password=False)

    yield make
    try:
        with admin.connect() as conn:
            for name in created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """URL of a SQLite file in the test's temporary directory."""
    return f"sqlite+pysqlite:///{tmp_path / 'licensedesk.sqlite3'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """Runs the test once on SQLite and once on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("make_postgres_database")())
