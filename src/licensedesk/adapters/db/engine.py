"""Engines for SQLite (the embedded default) and PostgreSQL, and schema migrations."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine, event
from sqlalchemy.pool import StaticPool

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
    return sa.create_engine(url, pool_pre_ping=True, json_deserializer=_json_from_postgres, **kwargs)


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
