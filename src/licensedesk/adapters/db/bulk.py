"""Many rows in one statement: the batched tick's writes, fast on PostgreSQL and unchanged on SQLite.

On PostgreSQL a batch goes as one array per column, unnested by the server:
``INSERT INTO t (a, b) SELECT * FROM unnest(%(a)s::T[], %(b)s::U[]) … RETURNING …``, each array written
here as one text literal (psycopg's own array dumpers cost a Python call per element; a ``json`` column goes
as one JSON array, unpacked with ``json_array_elements``, and a date or instant column writes each distinct
value once). That is one
statement, one round trip and one plan for the whole batch, where an ``executemany`` (even pipelined)
sends, binds and executes every row on its own; it also returns the new ids and can skip rows that
hit a unique key (``ON CONFLICT … DO NOTHING``) without reading the table first. Updates go the same
way: ``UPDATE t SET … FROM unnest(…) AS v(…) WHERE t.key = v.key``.

SQLite keeps the plain ``executemany`` (it runs in process: there is no round trip to save).

Values are converted as SQLAlchemy would bind them (TypeDecorators, JSON as text), so the stored rows
are the same either way; columns a row leaves out take their scalar Python-side default.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any, Literal

from sqlalchemy import (
    ARRAY,
    JSON,
    Boolean,
    Connection,
    Date,
    DateTime,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    TypeDecorator,
    any_,
    bindparam,
    cast,
    insert,
    literal,
)

Convert = Callable[[Any], Any]


def is_postgres(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


@cache
def insert_ignoring(table: Table, key: str | tuple[str, ...], dialect_name: str,
                    returning: tuple[str, ...] = ()) -> Any:
    """``INSERT … ON CONFLICT (key) DO NOTHING [RETURNING …]`` into ``table`` (PostgreSQL or SQLite), built once:
    its values come as parameters, so SQLAlchemy neither rebuilds the statement nor its cache key per row. A row
    left out returns nothing."""
    from sqlalchemy.dialects import sqlite

    dialect: Any = sqlite
    if dialect_name == "postgresql":
        from sqlalchemy.dialects import postgresql  # on demand: ~30 ms of every command's start-up

        dialect = postgresql
    keys = (key,) if isinstance(key, str) else key
    statement = dialect.insert(table).on_conflict_do_nothing(index_elements=[table.c[k] for k in keys])
    return statement.returning(*(table.c[k] for k in returning)) if returning else statement


@cache
def among_param(column: Any, name: str, dialect_name: str) -> Any:
    """``among`` with the list as the parameter ``name`` (its value from ``among_value``), for a statement built
    once: SQLAlchemy then neither rebuilds it nor its cache key per execution."""
    if dialect_name == "postgresql":
        return column == any_(cast(bindparam(name, type_=Text), ARRAY(Text)))
    return column.in_(bindparam(name, expanding=True))


def among_value(values: Iterable[Any], dialect_name: str) -> Any:
    """The parameter of an ``among_param``: the list as one text array on PostgreSQL, the list elsewhere."""
    return array_literal(list(values)) if dialect_name == "postgresql" else list(values)


def among(conn: Connection, column: Any, values: Iterable[Any]) -> Any:
    """``column IN (values)`` for a text column. On PostgreSQL ``column = ANY(text[])``: one parameter for the whole
    list, where an expanding IN renders, binds and parses one placeholder per value (the tick's lists have 500)."""
    if is_postgres(conn):
        return column == any_(cast(literal(array_literal(list(values)), Text), ARRAY(Text)))
    return column.in_(list(values))


@cache
def insert_into(table: Table) -> Any:
    """``INSERT INTO table``, built once (the values come as parameters): SQLAlchemy then does not work out the
    statement's cache key again on every execution."""
    return insert(table)


@cache
def _insert_values(table: Table) -> Any:
    """``INSERT INTO table … VALUES``, built once, without the ``RETURNING`` of the new id (nobody reads it)."""
    return insert(table).inline()


def insert_rows(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (all with the same keys) in one statement on PostgreSQL, one executemany elsewhere.

    One row on PostgreSQL goes as a plain ``INSERT … VALUES`` (an order's event, document line, archive entry):
    the server then parses no array literal (``array_in``) and unnests nothing, for the same stored row."""
    if not rows:
        return
    if is_postgres(conn) and len(rows) > 1:
        _unnest_insert(conn, table, rows, returning=(), conflict=None)
    elif len(rows) == 1:
        conn.execute(_insert_values(table), rows[0])
    else:
        conn.execute(insert_into(table), rows)


def insert_returning(conn: Connection, table: Table, rows: list[dict[str, Any]], returning: tuple[str, ...],
                     skip_conflicts_on: str | None = None) -> list[tuple[Any, ...]]:
    """PostgreSQL only: insert ``rows`` and return ``returning`` of each row inserted, in no promised order.

    ``skip_conflicts_on`` names a unique constraint: rows that would break it are left out, silently, and
    are not returned (they were there already, or another transaction got there first).
    """
    if not rows:
        return []
    return _unnest_insert(conn, table, rows, returning=returning, conflict=skip_conflicts_on)


def update_rows(conn: Connection, table: Table, rows: list[dict[str, Any]], where: dict[str, str]) -> int:
    """PostgreSQL only: ``UPDATE table SET <every other key of the rows> … WHERE column = row[param]`` for each
    (column, param) of ``where``, in one statement; the number of rows updated.

    The first ``where`` column also gets ``= ANY(<its array>)``: without it the planner may join the batch with a
    scan of the whole table (it did, for 10,000 subscriptions, on most chunks), where the column's index finds
    just the batch's rows, so an update costs what the batch holds, not what the table holds."""
    if not rows:
        return 0
    keys = list(rows[0])
    names = [k for k in keys if k not in where.values()]
    columns = {k: table.c[_column_of(where, k)] for k in keys}
    params, arrays = _arrays(conn, rows, keys, columns)
    alias = ", ".join(f'"{k}"' for k in keys)
    first_col, first_param = next(iter(where.items()))
    among_batch = (f'"{table.name}"."{first_col}" = ANY(%(a{keys.index(first_param)})s::'
                   f"{_sql_type(columns[first_param], conn.dialect)}[])")
    sql = (f'UPDATE "{table.name}" SET ' + ", ".join(f'"{k}" = v."{k}"' for k in names)
           + f" FROM unnest({arrays}) AS v({alias}) WHERE "
           + " AND ".join([f'"{table.name}"."{col}" = v."{param}"' for col, param in where.items()] + [among_batch]))
    return int(conn.exec_driver_sql(sql, params).rowcount)


def _column_of(where: dict[str, str], key: str) -> str:
    """The table column a row key stands for: itself, or the column a ``where`` parameter compares with."""
    for col, param in where.items():
        if param == key:
            return col
    return key


def insert_later(conn: Connection, table: Table, rows: list[dict[str, Any]], later: tuple[str, ...],
                 returning: tuple[str, ...] = (), conflict: str | None = None) -> Callable[..., list[tuple[Any, ...]]]:
    """PostgreSQL only: ``insert_returning`` in two steps. Every array but those of the ``later`` columns is built
    now; the function returned takes those columns' values (one list per column, in row order, as keywords),
    builds their arrays and runs the INSERT. For values that come late, such as document numbers taken from a
    counter that stays locked until commit: the rest of the statement is not built while the lock is held.
    With no ``later`` columns, ``insert_sql`` run at once is the same."""
    if not rows:
        return lambda **_: []
    rows = _with_defaults(table, rows, given=later)
    keys = list(rows[0])
    params, casts = _arrays(conn, rows, keys, {k: table.c[k] for k in keys})

    def run(**values: list[Any]) -> list[tuple[Any, ...]]:
        if sorted(values) != sorted(later) or any(len(v) != len(rows) for v in values.values()):
            raise ValueError(f"{table.name}: give {', '.join(later)}, one value per row")
        late, late_casts = _arrays(conn, [dict(zip(later, v, strict=True)) for v in zip(*(values[k] for k in later),
                                                                                        strict=True)],
                                   list(later), {k: table.c[k] for k in later}, first=len(keys))
        unnest = ", ".join(c for c in (casts, late_casts) if c)
        sql = _insert_text(table, (*keys, *later), unnest, returning, conflict)
        return _run_insert(conn, table, sql, {**params, **late}, returning)
    return run


def insert_sql(conn: Connection, table: Table, rows: list[dict[str, Any]], returning: tuple[str, ...] = (),
               conflict: str | None = None) -> tuple[str, dict[str, str]]:
    """PostgreSQL only: the unnest INSERT of ``rows`` (not empty) as SQL text and its parameters (``a0``, ``a1``, …),
    to embed in a larger statement such as a data-modifying ``WITH``. Values come back from it as stored, unread."""
    rows = _with_defaults(table, rows)
    keys = list(rows[0])
    params, casts = _arrays(conn, rows, keys, {k: table.c[k] for k in keys})
    return _insert_text(table, keys, casts, returning, conflict), params


def unnest_of(conn: Connection, table: Table, rows: list[dict[str, Any]], first: int) -> tuple[str, dict[str, str]]:
    """PostgreSQL only: ``unnest(…) AS alias(keys)`` arguments for ``rows`` (not empty) whose keys are columns of
    ``table``, each array written as that column is; parameters numbered from ``first``. The caller names the alias."""
    keys = list(rows[0])
    params, casts = _arrays(conn, rows, keys, {k: table.c[k] for k in keys}, first)
    return f"unnest({casts})", params


def _insert_text(table: Table, keys: Iterable[str], unnest_args: str, returning: tuple[str, ...],
                 conflict: str | None) -> str:
    """``INSERT INTO table (keys) SELECT * FROM unnest(unnest_args) [ON CONFLICT …] [RETURNING …]``."""
    columns = ", ".join(f'"{k}"' for k in keys)
    sql = f'INSERT INTO "{table.name}" ({columns}) SELECT * FROM unnest({unnest_args})'
    sql += f' ON CONFLICT ON CONSTRAINT "{conflict}" DO NOTHING' if conflict else ""
    return sql + (" RETURNING " + ", ".join(f'"{k}"' for k in returning) if returning else "")


def _unnest_insert(conn: Connection, table: Table, rows: list[dict[str, Any]], returning: tuple[str, ...],
                   conflict: str | None) -> list[tuple[Any, ...]]:
    sql, params = insert_sql(conn, table, rows, returning, conflict)
    return _run_insert(conn, table, sql, params, returning)


def _run_insert(conn: Connection, table: Table, sql: str, params: dict[str, str],
                returning: tuple[str, ...]) -> list[tuple[Any, ...]]:
    if not returning:
        conn.exec_driver_sql(sql, params)
        return []
    result = conn.exec_driver_sql(sql, params).all()
    readers = [_reader(table.c[k], conn.dialect) for k in returning]
    if all(read is _same for read in readers):
        return [tuple(r) for r in result]
    return [tuple(read(v) for read, v in zip(readers, r, strict=True)) for r in result]


def _arrays(conn: Connection, rows: list[dict[str, Any]], keys: list[str],
            columns: dict[str, Any], first: int = 0) -> tuple[dict[str, str], str]:
    """One array literal per key (values converted as SQLAlchemy binds the column) and the ``unnest`` arguments;
    the parameters are numbered from ``first``."""
    params: dict[str, str] = {}
    casts = []
    for i, k in enumerate(keys, first):
        col = columns[k]
        convert, element = _writer(col, conn.dialect), _element_of(col)
        if _plain_json(col, conn.dialect) and not (col.type.none_as_null and any(r[k] is None for r in rows)):
            # the whole column as one JSON array: one json.dumps in C for all rows, and no array-literal escaping;
            # json_array_elements hands back each element's text as json.dumps writes it alone
            params[f"a{i}"] = json.dumps([r[k] for r in rows])
            casts.append(f"ARRAY(SELECT e FROM json_array_elements(%(a{i})s::json) WITH ORDINALITY AS j(e, n) "
                         "ORDER BY n)")
            continue
        if _repeats(col):
            params[f"a{i}"] = _distinct_written([r[k] for r in rows], convert)
        else:
            values = [convert(r[k]) for r in rows] if convert else [r[k] for r in rows]
            params[f"a{i}"] = array_literal(values, element)
        casts.append(f"%(a{i})s::{_sql_type(col, conn.dialect)}[]")
    return params, ", ".join(casts)


@cache
def _plain_json(col: Any, dialect: Any) -> bool:
    """A column of PostgreSQL's ``json`` type, with no TypeDecorator of ours around it."""
    return isinstance(col.type, JSON) and _sql_type(col, dialect) == "JSON"


@cache
def _repeats(col: Any) -> bool:
    """Dates, and instants stored in UTC: a batch's values repeat (one issue date, one instant per transaction), and
    equal values are written alike (two equal aware instants in different zones convert to the same UTC value)."""
    return isinstance(col.type, Date) or (isinstance(col.type, TypeDecorator)
                                          and isinstance(col.type.impl_instance, DateTime))


def _distinct_written(values: list[Any], convert: Convert | None) -> str:
    """The array literal of a ``_repeats`` column, each distinct value converted and written once."""
    written = {v: "NULL" if v is None else (convert(v) if convert else v).isoformat() for v in set(values)}
    return "{" + ",".join([written[v] for v in values]) + "}" if values else "{}"


def array_literal(values: list[Any], element: Element = "text") -> str:
    """``values`` as a PostgreSQL array literal (``{"a","b\\"c",NULL}``), sent as one text parameter and cast by
    the server. Built with str.join over the whole column, far cheaper than psycopg's per-element array dumpers.
    ``element``: ``text`` (quoted, backslash-escaped), ``number``, ``boolean`` or ``iso`` (dates and instants)."""
    if not values:
        return "{}"
    if None in values:
        write = _WRITE[element]
        return "{" + ",".join(["NULL" if v is None else write(v) for v in values]) + "}"
    if element == "text":
        try:  # escape the whole column at once; NUL, which no PostgreSQL text holds, marks the element borders
            joined = "\0".join(values)
        except TypeError:  # not all str
            joined = "\0".join(map(str, values))
        if joined.count("\0") != len(values) - 1:
            raise ValueError("a text value holds NUL, which PostgreSQL text cannot store")
        return '{"' + joined.replace("\\", "\\\\").replace('"', '\\"').replace("\0", '","') + '"}'
    if element == "number":
        return "{" + ",".join(map(str, values)) + "}"
    if element == "iso":
        return "{" + ",".join([v.isoformat() for v in values]) + "}"
    return "{" + ",".join(["t" if v else "f" for v in values]) + "}"


Element = Literal["text", "number", "boolean", "iso"]
_WRITE: dict[str, Callable[[Any], str]] = {
    "text": lambda v: '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"',
    "number": str,
    "boolean": lambda v: "t" if v else "f",
    "iso": lambda v: str(v.isoformat()),  # ISO 8601: digits, '-', ':', '+', 'T' need no quoting
}


@cache
def _element_of(col: Any) -> Element:
    """How one (converted) value of ``col`` is written inside an array literal."""
    typ = col.type.impl_instance if isinstance(col.type, TypeDecorator) else col.type
    if isinstance(typ, String | JSON):
        return "text"
    if isinstance(typ, Boolean):
        return "boolean"
    if isinstance(typ, Integer | Numeric):
        return "number"
    if isinstance(typ, Date | DateTime):
        return "iso"
    raise TypeError(f"{col}: no array literal for {typ!r}")


def _with_defaults(table: Table, rows: list[dict[str, Any]], given: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """``rows`` with the scalar default of each column they leave out (but for the ``given`` ones)."""
    left_out = [c for c in table.c if c.name not in rows[0] and c.name not in given]
    missing = {c.name: c.default.arg for c in left_out  # type: ignore[attr-defined]
               if c.default is not None and c.default.is_scalar}
    if any(c.default is not None and not c.default.is_scalar for c in left_out):
        raise ValueError(f"{table.name}: a column left out has a computed default; give it in the rows")
    return [{**r, **missing} for r in rows] if missing else rows


@cache
def _sql_type(col: Any, dialect: Any) -> str:
    return str(col.type.compile(dialect=dialect))


@cache
def _writer(col: Any, dialect: Any) -> Convert | None:
    typ = col.type
    steps: list[Convert] = []
    if isinstance(typ, TypeDecorator):
        decorator = typ
        steps.append(lambda v: decorator.process_bind_param(v, dialect))
        typ = typ.impl_instance
    if isinstance(typ, JSON):  # as SQLAlchemy binds it: None is JSON null unless the type says SQL NULL
        steps.append((lambda v: None if v is None else json.dumps(v)) if typ.none_as_null else json.dumps)
    if not steps:
        return None
    if len(steps) == 1:
        return steps[0]
    first, second = steps
    return lambda v: second(first(v))


def _same(value: Any) -> Any:
    return value


@cache
def _reader(col: Any, dialect: Any) -> Convert:
    if isinstance(col.type, TypeDecorator):
        decorator = col.type
        return lambda v: decorator.process_result_value(v, dialect)
    return _same

