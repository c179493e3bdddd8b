"""D-WRITE-BEHIND (adapters/db/later.py): a queued write goes with the next statement or with COMMIT, in order,
never after a rollback or into another transaction, and its error surfaces translated, leaving the pool clean."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import DBAPIError

from licensedesk.adapters.db import later
from licensedesk.adapters.db.engine import create_engine, upgrade
from licensedesk.services.ports import Conflict

INSERT = "INSERT INTO number_series (series, next_value) VALUES (%(s)s, %(n)s)"


class Refused(Exception):
    pass


@pytest.fixture
def engine(make_postgres_database: Any) -> Iterator[Engine]:
    engine = create_engine(make_postgres_database(), pool_size=1, max_overflow=0)
    upgrade(engine)
    yield engine
    engine.dispose()


def _sent(engine: Engine) -> list[str]:
    sent: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda _c, _cur, statement, *_: sent.append(statement))
    return sent


def _series(engine: Engine) -> list[tuple[str, int]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT series, next_value FROM number_series ORDER BY series"))]


@pytest.mark.postgres
def test_queued_writes_go_in_order_before_the_next_statement_and_with_commit(engine: Engine) -> None:
    sent = _sent(engine)
    with engine.begin() as conn:
        later.defer(conn, later.bind(conn, INSERT, {"s": "A", "n": 1}))
        later.defer(conn, later.bind(conn, INSERT, {"s": "B", "n": 2}))
        assert sent == []  # nothing sent yet
        seen = conn.execute(text("SELECT count(*) FROM number_series")).scalar()  # the queue goes first
        assert seen == 2 and sent[0].startswith("INSERT") and "'A'" in sent[0] and "'B'" in sent[0]
        later.defer(conn, later.bind(conn, INSERT, {"s": "C'%s", "n": 3}))
    assert " ".join(sent[-1].split()).endswith("; COMMIT") and "'C''%s'" in sent[-1]  # one round trip with the COMMIT
    assert _series(engine) == [("A", 1), ("B", 2), ("C'%s", 3)]


@pytest.mark.postgres
def test_a_rollback_or_a_close_without_commit_sends_nothing_later(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.begin()
        later.defer(conn, later.bind(conn, INSERT, {"s": "rolled-back", "n": 1}))
        conn.rollback()
        conn.begin()
        later.defer(conn, later.bind(conn, INSERT, {"s": "abandoned", "n": 1}))
        # closed here without commit or rollback
    with engine.begin() as conn:  # the pool's one connection again
        conn.execute(text("INSERT INTO number_series (series, next_value) VALUES ('kept', 1)"))
    assert _series(engine) == [("kept", 1)]


@pytest.mark.postgres
def test_an_error_at_commit_is_translated_and_leaves_the_connection_clean(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO number_series (series, next_value) VALUES ('taken', 1)"))

    def refuse(e: Exception) -> Exception | None:
        return Refused(later.constraint_of(e)) if later.table_of(e) == "number_series" else None

    with pytest.raises(Refused, match="pk_number_series"), engine.begin() as conn:
        conn.execute(text("INSERT INTO number_series (series, next_value) VALUES ('lost', 1)"))
        later.defer(conn, later.bind(conn, INSERT, {"s": "taken", "n": 2}), refuse)
    with engine.connect() as conn:  # the same pooled connection: no aborted transaction left on it
        assert conn.execute(text("SELECT 1")).scalar() == 1
    assert _series(engine) == [("taken", 1)]  # nothing of the failed transaction


def test_without_the_listeners_a_write_runs_at_once(tmp_path: Any) -> None:
    engine = create_engine(f"sqlite+pysqlite:///{tmp_path / 'x.sqlite3'}")
    upgrade(engine)
    with engine.connect() as conn:
        conn.begin()
        later.defer(conn, "INSERT INTO number_series (series, next_value) VALUES ('now', 1)")
        assert conn.execute(text("SELECT count(*) FROM number_series")).scalar() == 1
    engine.dispose()


@pytest.mark.postgres
def test_an_instant_is_bound_in_utc_and_a_naive_one_refused(engine: Engine) -> None:
    jst = datetime(2026, 7, 1, 9, 30, tzinfo=ZoneInfo("Asia/Tokyo"))
    with engine.connect() as conn:
        assert "'2026-07-01 00:30:00+00:00'" in later.bind(conn, "SELECT %(at)s", {"at": jst})
        with pytest.raises(ValueError, match="naive"):
            later.bind(conn, "SELECT %(at)s", {"at": datetime(2026, 7, 1, 9, 30)})


def _prepared_names(conn: Any) -> set[str]:
    return {r[0] for r in conn.execute(text("SELECT name FROM pg_prepared_statements WHERE name LIKE 'licensedesk%'"))}


@pytest.mark.postgres
def test_a_prepared_write_is_prepared_once_per_connection_and_sent_as_execute(engine: Engine) -> None:
    sent = _sent(engine)
    for n, series in enumerate(("A", "B"), 1):
        with engine.begin() as conn:
            later.defer_prepared(conn, INSERT, {"s": series, "n": n})
    assert sum(s.startswith("PREPARE licensedesk_") for s in sent) == 1, sent  # the pool's one connection
    executes = [s for s in sent if s.startswith("EXECUTE licensedesk_")]
    assert len(executes) == 2 and executes[1].endswith("('B', 2);\nCOMMIT"), executes
    assert _series(engine) == [("A", 1), ("B", 2)]


@pytest.mark.postgres
def test_after_a_rollback_the_server_is_asked_what_is_still_prepared(engine: Engine) -> None:
    """psycopg deallocates every prepared statement after a rollback where it prepared statements of its own."""
    with engine.begin() as conn:
        later.defer_prepared(conn, INSERT, {"s": "A", "n": 1})
    with engine.connect() as conn:
        conn.begin()
        for _ in range(6):  # psycopg prepares a statement met five times
            conn.execute(text("SELECT count(*) FROM number_series WHERE series = :s"), {"s": "A"})
        conn.rollback()  # psycopg: DEALLOCATE ALL
        assert _prepared_names(conn) == set()
        conn.rollback()
    sent = _sent(engine)
    with engine.begin() as conn:
        later.defer_prepared(conn, INSERT, {"s": "B", "n": 2})
    assert [s[:20] for s in sent[:2]] == ["SELECT name FROM pg_", "PREPARE licensedesk_"], sent
    assert _series(engine) == [("A", 1), ("B", 2)]


@pytest.mark.postgres
def test_a_statement_dropped_unseen_is_a_conflict_and_prepared_again_next_time(engine: Engine) -> None:
    with engine.begin() as conn:
        later.defer_prepared(conn, INSERT, {"s": "A", "n": 1})
    with pytest.raises(Conflict, match="prepared"), engine.begin() as conn:
        conn.exec_driver_sql("DEALLOCATE ALL")  # nothing in this module sees it
        later.defer_prepared(conn, INSERT, {"s": "lost", "n": 2})
    with engine.begin() as conn:
        later.defer_prepared(conn, INSERT, {"s": "B", "n": 3})
    assert _series(engine) == [("A", 1), ("B", 3)]


@pytest.mark.postgres
def test_a_lost_connection_rolls_back_and_the_next_unit_of_work_gets_a_new_one(engine: Engine) -> None:
    """The rollback listener must not touch a connection the server ended (SQLAlchemy would refuse to reconnect
    inside the invalid transaction and the rollback itself would fail)."""
    admin = create_engine(str(engine.url.render_as_string(hide_password=False)))
    with engine.connect() as conn:
        conn.begin()
        later.defer(conn, later.bind(conn, INSERT, {"s": "lost", "n": 1}))
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
        with admin.begin() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(DBAPIError):
            conn.execute(text("SELECT 1"))
        assert conn.invalidated
        conn.rollback()
    admin.dispose()
    with engine.begin() as conn:
        later.defer(conn, later.bind(conn, INSERT, {"s": "kept", "n": 2}))
    assert _series(engine) == [("kept", 2)]
