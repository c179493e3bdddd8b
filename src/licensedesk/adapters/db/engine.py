"""Engines for SQLite (the embedded default) and PostgreSQL, and schema migrations."""

from __future__ import annotations

import json
import select
import time
from importlib import resources
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine, event
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

from . import later
from .schema import metadata
from .schema_script import sqlite_ddl


def create_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with the same behaviour on both back ends (SQLite: foreign keys on, WAL, busy timeout)."""
    if url.startswith("sqlite"):
        memory = url in ("sqlite://", "sqlite:///:memory:", "sqlite+pysqlite://", "sqlite+pysqlite:///:memory:")
        options: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": 30}}
        if memory:
            options["poolclass"] = StaticPool
        engine = sa.create_engine(url, **options, **kwargs)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            if not memory:
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    engine = sa.create_engine(url, json_deserializer=_json_from_postgres, **kwargs)
    _ping_when_in_doubt(engine)
    later.install(engine)  # writes nobody reads back go with the next statement or COMMIT (D-WRITE-BEHIND)
    return engine


PING_AFTER_IDLE_SECONDS = 10.0
_RETURNED = "licensedesk_returned_at"  # the connection record's info: when it came back to the pool (monotonic)


def _ping_when_in_doubt(engine: Engine) -> None:
    """SQLAlchemy's ``pool_pre_ping``, but only when in doubt (D-DB-PING-IN-DOUBT): a connection taken from the pool
    is pinged (a ``SELECT 1`` round trip) when it has been idle for ``PING_AFTER_IDLE_SECONDS`` or more, or when its
    socket has something to read: an idle session receives nothing unless the server ended it (restart, shutdown,
    ``pg_terminate_backend``, a timeout: each sends its FATAL message and closes). A failed ping invalidates the
    pool and the checkout gets a fresh connection, as with ``pool_pre_ping``. A new connection is not pinged."""

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_conn: Any, record: ConnectionPoolEntry) -> None:
        record.info[_RETURNED] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _taken(dbapi_conn: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        returned = record.info.get(_RETURNED)
        if returned is None:  # fresh from connect(), or never returned yet
            return
        if time.monotonic() - returned < PING_AFTER_IDLE_SECONDS and not _has_input(dbapi_conn):
            return
        dialect = engine.dialect
        try:
            dialect.do_ping(dbapi_conn)
        except dialect.loaded_dbapi.Error as e:
            if dialect.is_disconnect(e, dbapi_conn, None):
                raise InvalidatePoolError() from e  # the pool reconnects this checkout and drops the others
            raise


def _has_input(dbapi_conn: Any) -> bool:
    """Whether the server sent something to this idle connection (or closed it); true when it cannot tell."""
    pgconn = getattr(dbapi_conn, "pgconn", None)  # psycopg 3
    if pgconn is None:
        return True
    try:
        poller = select.poll()
        poller.register(pgconn.socket, select.POLLIN)
        return bool(poller.poll(0))
    except Exception:  # no socket (closed): let the ping find out
        return True


_decode_json = json.JSONDecoder().decode


def _json_from_postgres(data: bytes) -> Any:
    """A ``json`` value as psycopg hands it over: UTF-8 bytes (the connection's encoding). ``json.loads`` would
    first sniff the encoding of the bytes in Python, for every value read (the tick reads one per subscription)."""
    return _decode_json(data.decode())


def alembic_config(url: str) -> Any:
    from alembic.config import Config  # imported on demand: alembic is slow to import

    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files(__package__).joinpath("migrations")))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine) -> None:
    """Bring the database to the latest migration (Alembic)."""
    from alembic import command

    with engine.begin() as conn:
        cfg = alembic_config(engine.url.render_as_string(hide_password=False))
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")  # capabilities may add independent migration branches


def create_schema(engine: Engine) -> None:
    """Create the schema directly from the table definitions (fresh in-memory databases for ``simulate``).

    The database must be empty. On SQLite the DDL that ``metadata.create_all`` would emit is run as one
    script (``schema_script.sqlite_ddl``): ``create_all`` first asks SQLite whether each of the 50 tables exists and
    runs every statement through SQLAlchemy's execution path, about 40 ms of a 1-second ``simulate``
    command. The resulting schema is the same (``tests/integration/test_schema_script.py``).
    """
    if engine.dialect.name != "sqlite":
        metadata.create_all(engine)
        return
    raw = engine.raw_connection()
    try:
        raw.driver_connection.executescript(sqlite_ddl(engine.dialect))  # type: ignore[union-attr]
    finally:
        raw.close()
