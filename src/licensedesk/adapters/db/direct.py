"""The API order's statements run on the psycopg connection itself, PostgreSQL only (D-DIRECT-STATEMENTS).

SQLAlchemy's way from ``Connection.execute`` to the driver and back (its execution context, parameter processing,
result metadata and row objects) costs about 0.11 ms of Python per statement on top of psycopg's own 0.05 ms
(``bench/api_order_profile.py``): with six statements an order, more than the order's whole domain work. ``rows`` runs
a Core statement the way SQLAlchemy would, minus that path: compiled once for the connection's dialect, its
parameters converted by the same type processors SQLAlchemy uses (``bind_processor``, e.g. ``UtcDateTime`` and
JSON), its result columns by their ``result_processor``, on a plain psycopg cursor of the same connection and
transaction. Errors come back as SQLAlchemy raises them (``IntegrityError`` and the rest, a lost connection
invalidated), engine listeners of ``before_cursor_execute`` and ``after_cursor_execute`` still see every statement,
and writes queued for later (``later.defer``) go first, as before any other statement.

Anywhere else (SQLite, or a connection outside a transaction) ``rows`` is ``conn.execute(...).all()``: the same
values under the same names."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from . import later

Convert = Callable[[Any], Any]
_TUPLES_OK = 2  # libpq's PGRES_TUPLES_OK: the statement returned rows


class _Plan:
    """A statement compiled for one dialect: its SQL, the parameters SQLAlchemy converts (with their conversion),
    the values of the parameters the statement holds itself (a literal such as ``status == "accepted"``), converted,
    its result's columns; its row type and result conversions once a first result has named its columns."""

    __slots__ = ("binds", "columns", "fixed", "reading", "sql")

    def __init__(self, sql: str, binds: tuple[tuple[str, Convert], ...], fixed: dict[str, Any],
                 columns: tuple[Any, ...]) -> None:
        self.sql, self.binds, self.fixed, self.columns = sql, binds, fixed, columns
        self.reading: tuple[Any, tuple[tuple[int, Convert], ...]] | None = None


def rows(conn: Connection, statement: Any, params: Mapping[str, Any]) -> Sequence[Any]:
    """``conn.execute(statement, params).all()``: rows whose values are read by column name (``row.name``) or
    position, and ``row._asdict()``. ``statement`` is built once (its compiled form is kept for good), names its
    parameters itself (``bindparam``: a bare ``insert(table)`` would be compiled for the keys of each call) and has
    no expanding (``IN``) parameters."""
    if conn.dialect.name != "postgresql" or not conn.in_transaction():
        return conn.execute(statement, params).all()
    plan = _plan(statement, conn.dialect)
    values = dict(params)
    for name, convert in plan.binds:
        if name in values:
            values[name] = convert(values[name])
    if plan.fixed:
        values = {**plan.fixed, **values}
    cursor, raw = run(conn, plan.sql, values)
    if not raw:
        return raw
    if plan.reading is None:
        plan.reading = _reading(plan.columns, conn.dialect, cursor.pgresult)
    row, converts = plan.reading
    if not converts:
        return [row._make(r) for r in raw]
    out = []
    for r in raw:
        values_read = list(r)
        for i, convert in converts:
            values_read[i] = convert(values_read[i])
        out.append(row._make(values_read))
    return out


def run(conn: Connection, sql: str, params: Mapping[str, Any] | None) -> tuple[Any, list[tuple[Any, ...]]]:
    """``sql`` (psycopg's ``%(name)s`` parameters, or None: several statements may go in one string) on ``conn``'s
    psycopg connection in its transaction: (the cursor, its rows as tuples; none when it returns none)."""
    later.send(conn)
    driver = conn.connection.driver_connection
    assert driver is not None
    cursor = driver.cursor()
    dispatch = conn.dispatch
    dispatch.before_cursor_execute(conn, cursor, sql, params, None, False)
    try:
        cursor.execute(sql, params)
        result = cursor.pgresult
        found = cursor.fetchall() if result is not None and result.status == _TUPLES_OK else []
    except conn.dialect.loaded_dbapi.Error as e:
        raise _as_sqlalchemy(conn, sql, params, e) from e
    dispatch.after_cursor_execute(conn, cursor, sql, params, None, False)
    return cursor, found


def _as_sqlalchemy(conn: Connection, sql: str, params: Any, e: Any) -> Exception:
    """``e`` as SQLAlchemy would raise it (``IntegrityError``, ``OperationalError``, …); a lost connection is
    invalidated, so the pool hands out a new one."""
    dialect = conn.dialect
    lost = dialect.is_disconnect(e, conn.connection.dbapi_connection, None)
    if lost:
        conn.invalidate(e)
    error: Exception = DBAPIError.instance(sql, params, e, dialect.loaded_dbapi.Error, connection_invalidated=lost,
                                           dialect=dialect)
    return error


@cache
def _plan(statement: Any, dialect: Any) -> _Plan:
    compiled = statement.compile(dialect=dialect)
    assert not compiled.literal_execute_params and not compiled.post_compile_params, \
        "direct.rows: a statement with expanding parameters is compiled for each call"
    binds, fixed = [], {}
    for name, bind in compiled.binds.items():
        assert bind.callable is None, f"direct.rows: parameter {name} takes its value from a function"
        convert = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if not bind.required:
            fixed[name] = bind.value if convert is None else convert(bind.value)
        if convert is not None:
            binds.append((name, convert))
    return _Plan(str(compiled), tuple(binds), fixed, tuple(getattr(statement, "exported_columns", ())))


def _reading(columns: tuple[Any, ...], dialect: Any, result: Any) -> tuple[Any, tuple[tuple[int, Convert], ...]]:
    """The row type for ``result``'s columns (libpq's names and type codes) and the conversions by position that
    SQLAlchemy applies to ``columns`` as read."""
    fields = [(result.fname(i).decode(), result.ftype(i)) for i in range(result.nfields)]
    names = [name for name, _ in fields]
    assert len(set(names)) == len(names), f"direct.rows: two result columns of one name in {names}"
    assert len(columns) == len(fields), f"direct.rows: {len(fields)} result columns, {len(columns)} expected"
    converts = []
    for i, (column, (_, code)) in enumerate(zip(columns, fields, strict=True)):
        convert = column.type.dialect_impl(dialect).result_processor(dialect, code)
        if convert is not None:
            converts.append((i, convert))
    return namedtuple("Row", names), tuple(converts)
