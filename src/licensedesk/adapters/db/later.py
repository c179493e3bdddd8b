"""Writes sent with the next statement or with COMMIT (D-WRITE-BEHIND), PostgreSQL only.

An order's last writes (its invoice's archive entry, its notice and mail, its idempotency record and audit entry)
come after its invoice number is taken, while the number's counter stays locked until commit; each was a round trip
of its own under that lock. Whatever nobody reads back is queued here instead, as complete SQL text (values bound by
psycopg's ``mogrify``, as the server would bind them), and goes out in one string: in front of the next statement the
connection executes, or with ``COMMIT``, the string ending in it. Statements still run in the order they were given,
so rows, ids and sequence values are those of the plain path; only an error of a queued statement surfaces later,
at the next statement or at commit, and ``translate`` maps it as the plain path would have (a lost race: ``Conflict``).

``defer_prepared`` queues ``EXECUTE`` of a statement prepared once per connection instead of the statement's text, so
PostgreSQL neither parses nor plans it again (D-LATER-PREPARED); the invoice numbered at commit goes so
(``issue_later``, D-ORDER-NUMBER-AT-COMMIT).

``install(engine)`` adds the listeners that send the queue; ``defer`` runs a statement at once on an engine without
them (SQLite, or an engine not made by ``create_engine``). A rollback drops the queue.
"""

from __future__ import annotations

import hashlib
import re
import weakref
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import DBAPIError, IntegrityError

from licensedesk.services.ports import Conflict

from . import direct
from .tables import UtcDateTime

Translate = Callable[[DBAPIError], Exception | None]

_QUEUE = "licensedesk_later"  # the DBAPI connection's info: [(sql, translate)] not sent yet
_INSTALLED: weakref.WeakSet[Engine] = weakref.WeakSet()
_RAW: Mapping[str, Any] = {"no_parameters": True}  # the values are in the text
_UTC = UtcDateTime()
# The statements ``defer_prepared`` knows a connection has prepared (its psycopg connection → their names); none
# known: the server is asked. psycopg itself sends DEALLOCATE ALL after a rollback (of a transaction or to a savepoint)
# on a connection where it prepared statements of its own, which takes these too: then the connection is in doubt.
_PREPARED: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()
_PREFIX = "licensedesk_"
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")
_NOT_PREPARED = "26000"  # invalid_sql_statement_name: dropped by something this module did not see (DDL, a pooler)
_IDLE = 0  # libpq's PQTRANS_IDLE: no transaction open, so a rollback sends nothing


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
            _PREPARED.pop(dbapi, None)
            raise

    @event.listens_for(engine, "rollback")
    def _rollback(conn: Connection) -> None:
        if conn.invalidated:  # the connection is lost: its pool record's info is cleared before it is used again
            return
        conn.info.pop(_QUEUE, None)
        _rolling_back(conn.connection.dbapi_connection)

    @event.listens_for(engine, "rollback_savepoint")
    def _to_savepoint(conn: Connection, *_: Any) -> None:
        if not conn.invalidated:
            _PREPARED.pop(conn.connection.dbapi_connection, None)

    @event.listens_for(engine, "reset")
    def _reset(dbapi_conn: Any, *_: Any) -> None:  # the pool rolls back a connection handed back in a transaction
        _rolling_back(dbapi_conn)

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


def defer_prepared(conn: Connection, sql: str, values: Mapping[str, Any], translate: Translate | None = None) -> None:
    """``defer`` of ``sql`` (psycopg's ``%(name)s`` parameters) with ``values``, as ``EXECUTE`` of a statement
    prepared on this connection the first time it meets ``sql`` (``PREPARE``, a round trip of its own then, not under
    any lock the queue's statements take): PostgreSQL parses and plans a text statement every time, and the order's
    last statements were most of its parsing and planning (D-LATER-PREPARED)."""
    if conn.engine not in _INSTALLED:
        defer(conn, bind(conn, sql, values), translate)
        return
    name, keys = _prepared(conn, sql)
    defer(conn, bind(conn, f"EXECUTE {name}({', '.join(f'%({k})s' for k in keys)})", values), translate)


def _prepared(conn: Connection, sql: str) -> tuple[str, tuple[str, ...]]:
    """The name ``sql`` is prepared under on ``conn``'s connection (preparing it now if need be) and its parameters'
    names in ``$n`` order."""
    name, text, keys = _numbered(sql)
    dbapi = conn.connection.dbapi_connection
    names = _PREPARED.get(dbapi)
    if names is None:  # in doubt: ask the server (once after a rollback, or on a new connection)
        _, rows = direct.run(conn, f"SELECT name FROM pg_prepared_statements WHERE starts_with(name, '{_PREFIX}')",
                             None)
        names = _PREPARED[dbapi] = {row[0] for row in rows}
    if name not in names:
        direct.run(conn, f"PREPARE {name} AS {text}", None)
        names.add(name)
    return name, keys


@cache
def _numbered(sql: str) -> tuple[str, str, tuple[str, ...]]:
    """``sql`` with ``$n`` parameters: (the name it is prepared under, named after its text; the text; the names of
    its parameters in ``$n`` order)."""
    keys: list[str] = []

    def number(m: re.Match[str]) -> str:
        if m.group(1) not in keys:
            keys.append(m.group(1))
        return f"${keys.index(m.group(1)) + 1}"

    text = _PLACEHOLDER.sub(number, sql)
    assert "%" not in text, f"later.defer_prepared: a % that is not a parameter in {sql!r}"
    return _PREFIX + hashlib.sha256(text.encode()).hexdigest()[:24], text, tuple(keys)


def _rolling_back(dbapi: Any) -> None:
    """A rollback is about to be sent on ``dbapi`` if a transaction is open: psycopg may deallocate all then."""
    if dbapi is not None and dbapi.info.transaction_status != _IDLE:
        _PREPARED.pop(dbapi, None)


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
        if getattr(e.orig, "sqlstate", None) == _NOT_PREPARED:  # asked for and prepared again at the next try
            _PREPARED.pop(conn.connection.dbapi_connection, None)
            raise Conflict("the connection's prepared statements were dropped; nothing was done, try again") from e
        for translate in translators:
            mapped = translate(e) if translate is not None else None
            if mapped is not None:
                raise mapped from e
        raise


def lost_race_on(*tables: str) -> Translate:
    """A translator: a unique key of one of ``tables`` hit means another transaction wrote that row first
    (``Conflict``); any other error is left as it is."""

    def translate(e: DBAPIError) -> Exception | None:
        if isinstance(e, IntegrityError) and table_of(e) in tables:
            return Conflict(str(e.orig))
        return None

    return translate


def constraint_of(e: DBAPIError) -> str | None:
    """The name of the constraint a PostgreSQL error names, if any."""
    return getattr(getattr(e.orig, "diag", None), "constraint_name", None)


def table_of(e: DBAPIError) -> str | None:
    """The table a PostgreSQL error names, if any."""
    return getattr(getattr(e.orig, "diag", None), "table_name", None)
