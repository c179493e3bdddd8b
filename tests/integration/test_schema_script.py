"""``create_schema`` (the fresh in-memory database of ``licensedesk simulate``) builds the migrated schema.

``create_schema`` runs the compiled DDL as one script instead of ``metadata.create_all``; these tests
hold it to the same result: statement for statement the SQL that ``create_all`` leaves in
``sqlite_master``, and, column for column, index for index and key for key, the schema that the
Alembic migrations build (columns compared by name: a migration appends the columns it adds).
"""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, text

from licensedesk.adapters.db.engine import create_engine, create_schema, upgrade
from licensedesk.adapters.db.schema import metadata
from licensedesk.adapters.db.schema_script import ddl_script

MEMORY = "sqlite+pysqlite:///:memory:"


def _master(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name != 'alembic_version' ORDER BY name"))]


def _structure(engine: Engine) -> dict[str, Any]:
    """Every table's columns, indexes (with their columns and uniqueness) and foreign keys, as SQLite reports them."""
    shape: dict[str, Any] = {}
    with engine.connect() as conn:
        tables = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'table' "
                                   "AND name != 'alembic_version' ORDER BY name")).scalars().all()
        for table in tables:
            # by name: a migration appends the columns it adds, create_all lists them in declaration order
            columns = {name: (kind, notnull, default, pk) for _cid, name, kind, notnull, default, pk
                       in conn.execute(text(f'PRAGMA table_info("{table}")'))}
            indexes = {}
            for _seq, name, unique, origin, partial in conn.execute(text(f'PRAGMA index_list("{table}")')):
                cols = [(seqno, col, desc, coll, key) for seqno, _cid, col, desc, coll, key
                        in conn.execute(text(f'PRAGMA index_xinfo("{name}")'))]
                # SQLite names the indexes behind UNIQUE/PRIMARY KEY constraints itself (sqlite_autoindex_…_N,
                # numbered in declaration order): key those by their columns instead
                key = name if origin == "c" else (origin, tuple(c[1] for c in cols))
                indexes[key] = (unique, origin, partial, cols)
            fks = sorted(tuple(r)[2:] for r in conn.execute(text(f'PRAGMA foreign_key_list("{table}")')))
            shape[table] = {"columns": columns, "indexes": indexes, "foreign_keys": fks}
    return shape


def test_the_script_leaves_the_same_sql_as_create_all() -> None:
    fast, reference = create_engine(MEMORY), create_engine(MEMORY)
    create_schema(fast)
    metadata.create_all(reference)
    assert len(_master(fast)) > len(metadata.tables)  # tables and their indexes
    assert _master(fast) == _master(reference)


def test_the_script_builds_the_migrated_schema() -> None:
    fast, migrated = create_engine(MEMORY), create_engine(MEMORY)
    create_schema(fast)
    upgrade(migrated)
    assert set(_structure(fast)) == set(metadata.tables)
    assert _structure(fast) == _structure(migrated)
    with fast.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []


def test_the_script_creates_every_table_and_index_once() -> None:
    script = ddl_script(create_engine(MEMORY).dialect)
    assert script.count("CREATE TABLE ") == len(metadata.tables)
    assert script.count("CREATE INDEX ") + script.count("CREATE UNIQUE INDEX ") == sum(
        len(t.indexes) for t in metadata.tables.values())


REGENERATE = (".venv/bin/python -c \"from licensedesk.adapters.db.engine import create_engine; "
              "from licensedesk.adapters.db.schema_script import schema_sqlite_source; "
              "open('src/licensedesk/adapters/db/schema_sqlite.py', 'w').write(schema_sqlite_source("
              "create_engine('sqlite://').dialect))\"")


def test_the_kept_sqlite_script_is_the_compiled_one() -> None:
    # D-SIMULATE-DDL: simulate runs the copy in schema_sqlite.py while its KEY matches; a stale copy is never used,
    # but it makes every simulate compile the DDL again
    from licensedesk.adapters.db import schema_sqlite
    from licensedesk.adapters.db.schema_script import sqlite_ddl, tables_key

    dialect = create_engine(MEMORY).dialect
    assert (tables_key(), ddl_script(dialect)) == (schema_sqlite.KEY, schema_sqlite.DDL), f"regenerate: {REGENERATE}"
    assert sqlite_ddl(dialect) is schema_sqlite.DDL


def test_a_stale_kept_script_is_not_used(monkeypatch: Any) -> None:
    from licensedesk.adapters.db import schema_sqlite
    from licensedesk.adapters.db.schema_script import sqlite_ddl

    monkeypatch.setattr(schema_sqlite, "KEY", "tables changed since")
    monkeypatch.setattr(schema_sqlite, "DDL", "CREATE TABLE stale (id INTEGER);\n")
    dialect = create_engine(MEMORY).dialect
    assert sqlite_ddl(dialect) == ddl_script(dialect)
