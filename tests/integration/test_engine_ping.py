"""The PostgreSQL pool pings a connection only when in doubt, and still recovers one the server ended
(D-DB-PING-IN-DOUBT)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text

from licensedesk.adapters.db import engine as engine_module
from licensedesk.adapters.db.engine import create_engine

pytestmark = pytest.mark.postgres


@pytest.fixture
def pinged(make_postgres_database: Callable[[], str], monkeypatch: pytest.MonkeyPatch
           ) -> Iterator[tuple[Engine, list[Any]]]:
    """A PostgreSQL engine of one connection, and the connections it has pinged."""
    created = create_engine(make_postgres_database(), pool_size=1, max_overflow=0)
    pings: list[Any] = []
    real = created.dialect.do_ping

    def counted(dbapi_conn: Any) -> bool:
        pings.append(dbapi_conn)
        return real(dbapi_conn)

    monkeypatch.setattr(created.dialect, "do_ping", counted)
    yield created, pings
    created.dispose()


def _backend(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(engine: Engine, pid: int) -> None:
    """End the session ``pid`` from another connection, as a restart or an administrator would, and wait until
    it is gone."""
    admin = create_engine(engine.url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar_one()
            for _ in range(100):
                if not conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :p"), {"p": pid}).scalar():
                    return
                time.sleep(0.02)
    finally:
        admin.dispose()
    raise AssertionError(f"session {pid} still there")


def test_a_connection_just_returned_is_not_pinged(pinged: tuple[Engine, list[Any]]) -> None:
    engine, pings = pinged
    first = _backend(engine)
    assert _backend(engine) == first
    assert pings == []


def test_a_connection_idle_for_the_threshold_is_pinged(pinged: tuple[Engine, list[Any]],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    engine, pings = pinged
    first = _backend(engine)
    monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_SECONDS", 0.0)
    assert _backend(engine) == first
    assert len(pings) == 1


def test_a_connection_the_server_ended_is_replaced_at_checkout(pinged: tuple[Engine, list[Any]]) -> None:
    engine, pings = pinged
    first = _backend(engine)
    _terminate(engine, first)
    second = _backend(engine)  # pinged (its socket had the server's FATAL and EOF), found dead, reconnected
    assert second != first
    assert len(pings) == 1
    assert _backend(engine) == second  # the new connection serves on, unpinged
    assert len(pings) == 1
