"""Writes sent with the next statement or with COMMIT (D-WRITE-BEHIND), PostgreSQL only.

An order's last writes (its invoice's archive entry, its notice and mail, its idempotency record and audit entry)
come after its invoice number is taken, while the number's counter stays locked until commit; each was a round trip
of its own under that lock. Whatever nobody reads back is queued here instead, as complete SQL text (values bound by
psycopg's ``mogrify``, as the server would bind them), and goes out in one string: in front of the next statement the
connection executes, or with ``COMMIT``, the string ending in it. Statements still run in the order they were given,
so rows, ids and sequence values are those of the plain path; only an error of a queued statement surfaces later,
at the next statement or at commit, and ``translate`` maps it as the plain path would have (a lost race: ``Conflict``).

``install(engine)`` adds the listeners that send the queue; ``defer`` runs a statement at once on an engine without
them (SQLite, or an engine not made by ``create_engine``). A rollback drops the queue.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import DBAPIError

from . import direct
from .tables import UtcDateTime

Translate = Callable[[DBAPIError], Exception | None]

_QUEUE = "licensedesk_later"  # the DBAPI connection's info: [(sql, translate)] not sent yet
_INSTALLED: weakref.WeakSet[Engine] = weakref.WeakSet()
_RAW: Mapping[str, Any] = {"no_parameters": True}  # the values are in the text
_UTC = UtcDateTime()


def install(engine: Engine) -> None:
    """Send a connection's queue before its next statement and with its COMMIT; drop it on rollback."""

    @event.listens_for(engine, "before_execute")
    def _before(conn: Connection, *_: Any) -> None:
        send(conn)

    @event.listens_for(engine, "commit")
    def _commit(conn: Connection) -> None:
        if not conn.info.get(_QUEUE):
            return
        try:
            _send(conn, "COMMIT")  # the driver's own COMMIT then finds no transaction open and sends nothing
        except Exception:
            # a queued statement failed, so COMMIT never ran and the transaction is aborted; the commit is over for
            # SQLAlchemy, which would hand the connection back to the pool as it is: end the transaction here
            dbapi = conn.connection.dbapi_connection
            assert dbapi is not None
            dbapi.rollback()
            raise

    @event.listens_for(engine, "rollback")
    def _rollback(conn: Connection) -> None:
        conn.info.pop(_QUEUE, None)

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_conn: Any, record: Any) -> None:  # closed without commit or rollback: nothing goes later
        record.info.pop(_QUEUE, None)

    _INSTALLED.add(engine)


def bind(conn: Connection, sql: str, values: Mapping[str, Any]) -> str:
    """``sql`` (psycopg's ``%(name)s`` placeholders) with ``values`` bound in the text, as psycopg binds them; an
    instant as ``UtcDateTime`` binds it (in UTC; a naive one is refused). JSON goes as the caller's text."""
    from psycopg import ClientCursor  # PostgreSQL only: simulate and SQLite never import psycopg

    driver = conn.connection.driver_connection  # the unit of work's psycopg connection
    assert driver is not None
    instants = {k: _UTC.process_bind_param(v, conn.dialect) for k, v in values.items() if isinstance(v, datetime)}
    with ClientCursor(driver) as cursor:  # only binds: mogrify sends nothing
        return cursor.mogrify(sql, {**values, **instants} if instants else values)


def defer(conn: Connection, sql: str, translate: Translate | None = None) -> None:
    """Queue ``sql`` (complete, values bound: ``bind``) to go with the next statement or COMMIT; at once where the
    engine sends no queue. ``translate`` maps its error (None: as raised)."""
    if conn.engine not in _INSTALLED:
        _run(conn, sql, [translate])
        return
    conn.info.setdefault(_QUEUE, []).append((sql, translate))


def send(conn: Connection) -> None:
    """Send ``conn``'s queue now, if it has one (before a statement that does not go through ``Connection.execute``:
    ``direct``)."""
    if conn.info.get(_QUEUE):
        _send(conn, "")


def _send(conn: Connection, last: str) -> None:
    queued = conn.info.pop(_QUEUE)
    _run(conn, ";\n".join([sql for sql, _ in queued] + ([last] if last else [])), [t for _, t in queued], queued=True)


def _run(conn: Connection, sql: str, translators: list[Translate | None], queued: bool = False) -> None:
    try:
        if queued:  # PostgreSQL: the text as is, on the driver's connection (D-DIRECT-STATEMENTS)
            direct.run(conn, sql, None)
        else:
            conn.exec_driver_sql(sql, execution_options=_RAW)
    except DBAPIError as e:
        for translate in translators:
            mapped = translate(e) if translate is not None else None
            if mapped is not None:
                raise mapped from e
        raise


def constraint_of(e: DBAPIError) -> str | None:
    """The name of the constraint a PostgreSQL error names, if any."""
    return getattr(getattr(e.orig, "diag", None), "constraint_name", None)


def table_of(e: DBAPIError) -> str | None:
    """The table a PostgreSQL error names, if any."""
    return getattr(getattr(e.orig, "diag", None), "table_name", None)
