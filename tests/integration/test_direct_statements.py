"""D-DIRECT-STATEMENTS (adapters/db/direct.py): a Core statement run on the psycopg connection itself gives what
``Connection.execute`` gives (values converted both ways by the columns' types, literals the statement holds, names),
in the same transaction, after the queued writes, seen by engine listeners, and fails with SQLAlchemy's errors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, bindparam, event, insert, select, text
from sqlalchemy.exc import IntegrityError

from licensedesk.adapters.db import direct, later
from licensedesk.adapters.db.engine import create_engine, upgrade
from licensedesk.adapters.db.tables_api import api_idempotency

TOKYO = ZoneInfo("Asia/Tokyo")
_ADD = (insert(api_idempotency).values({c.name: bindparam(c.name) for c in api_idempotency.c if c.name != "id"})
        .returning(api_idempotency.c.id, api_idempotency.c.created_at))
_READ = (select(api_idempotency, (api_idempotency.c.method == "POST").label("posted"))
         .where(api_idempotency.c.actor == bindparam("actor")).order_by(api_idempotency.c.id))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = create_engine(db_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def _record(key: str, response: Any) -> dict[str, Any]:
    return {"actor": "ops", "key": key, "method": "POST", "path": "/api/v1/x", "body_hash": "h", "status": 201,
            "response": response, "created_at": datetime(2026, 11, 24, 9, 30, tzinfo=TOKYO)}


def test_rows_are_those_execute_gives(engine: Engine) -> None:
    with engine.begin() as conn:
        (added,) = direct.rows(conn, _ADD, _record("k1", {"ref": "s1", "note": "日本語 %s"}))
        assert added.created_at == datetime(2026, 11, 24, 0, 30, tzinfo=UTC)  # UtcDateTime bound and read back
        conn.execute(_ADD, _record("k2", [1, None]))
        got = direct.rows(conn, _READ, {"actor": "ops"})
        expected = conn.execute(_READ, {"actor": "ops"}).all()
    assert [r._asdict() for r in got] == [r._asdict() for r in expected]
    first = got[0]
    assert (first.id, first.response, first.posted) == (added.id, {"ref": "s1", "note": "日本語 %s"}, True)
    assert first.created_at.tzinfo is not None and got[1][0] == expected[1].id  # by name and by position


def test_an_integrity_error_is_sqlalchemys(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.begin()
        direct.rows(conn, _ADD, _record("same", None))
        with pytest.raises(IntegrityError):
            direct.rows(conn, _ADD, _record("same", None))
        conn.rollback()
    with engine.begin() as conn:  # the connection is clean for the next transaction, and nothing was kept
        assert direct.rows(conn, _READ, {"actor": "ops"}) == []


@pytest.mark.postgres
def test_queued_writes_go_first_and_listeners_see_the_statement(make_postgres_database: Any) -> None:
    engine = create_engine(make_postgres_database())
    upgrade(engine)
    sent: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda _c, _cur, statement, *_: sent.append(statement))
    with engine.begin() as conn:
        later.defer(conn, later.bind(conn, "INSERT INTO number_series (series, next_value) VALUES ('Q', 7)", {}))
        cursor, found = direct.run(conn, "SELECT next_value FROM number_series WHERE series = %(s)s", {"s": "Q"})
        assert found == [(7,)] and cursor is not None
        assert sent[0].startswith("INSERT INTO number_series") and sent[1].startswith("SELECT next_value")
        assert direct.run(conn, "UPDATE number_series SET next_value = 8", None)[1] == []  # no rows: none read
    with engine.connect() as conn:
        assert conn.execute(text("SELECT next_value FROM number_series")).scalar() == 8
    engine.dispose()


def test_outside_a_transaction_it_is_execute(engine: Engine) -> None:
    with engine.connect() as conn:
        assert not conn.in_transaction()
        assert direct.rows(conn, _READ, {"actor": "nobody"}) == []
