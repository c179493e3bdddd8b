"""The REST API's records on SQL: users, hashed tokens, idempotency keys, the hash-chained audit log."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from functools import partial
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from licensedesk.services.ports import KeyInUse
from licensedesk.services.ports_api import AuditTexts, Remembered

from . import direct, later
from .tables_api import api_idempotency, api_tokens, api_users, audit_log

AUDIT_LOCK = 740_007  # PostgreSQL advisory lock: one audit append at a time keeps the chain linear


class ApiRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add_user(self, name: str, role: str, customer: str | None, password_hash: str | None,
                 at: datetime) -> int:
        result = self.conn.execute(insert(api_users).values(name=name, role=role, customer_ref=customer,
                                                            password_hash=password_hash, created_at=at))
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])

    def user(self, name: str) -> dict[str, Any] | None:
        row = self.conn.execute(select(api_users).where(api_users.c.name == name)).mappings().first()
        return dict(row) if row else None

    def user_by_token(self, token_hash: str) -> dict[str, Any] | None:
        query = select(api_users).join(api_tokens, api_tokens.c.user_id == api_users.c.id).where(
            api_tokens.c.token_hash == token_hash)
        row = self.conn.execute(query).mappings().first()
        return dict(row) if row else None

    def add_token(self, user_id: int, token_hash: str, at: datetime) -> None:
        self.conn.execute(insert(api_tokens).values(user_id=user_id, token_hash=token_hash, created_at=at))

    _IDEMPOTENT = select(api_idempotency).where(api_idempotency.c.actor == bindparam("actor"),
                                                 api_idempotency.c.key == bindparam("key"))
    _LAST_HASH = select(audit_log.c.hash).order_by(audit_log.c.id.desc()).limit(1)

    def idempotent(self, actor: str, key: str) -> dict[str, Any] | None:
        found = direct.rows(self.conn, self._IDEMPOTENT, {"actor": actor, "key": key})
        return found[0]._asdict() if found else None

    _REMEMBER = insert(api_idempotency)
    _ADD_AUDIT = insert(audit_log)

    def remember(self, actor: str, key: str, method: str, path: str, body_hash: str, status: int,
                 response: Any, at: datetime) -> None:
        try:
            self.conn.execute(self._REMEMBER, {
                "actor": actor, "key": key, "method": method, "path": path, "body_hash": body_hash,
                "status": status, "response": response, "created_at": at})
        except IntegrityError as e:  # the (actor, key) unique constraint: a request racing with the same key won
            raise KeyInUse(f"Idempotency-Key {key!r} of {actor} was recorded by another request") from e

    def append_audit(self, entry: dict[str, Any], canonical: str, genesis: str,
                     remember: Remembered | None, texts: AuditTexts) -> None:
        if self.conn.dialect.name == "postgresql":
            self._append_in_one_round_trip(entry, canonical, genesis, remember, texts)
            return
        if remember is not None:
            self.remember(*remember)
        # SQLite: one writer at a time, so the last hash cannot change before the insert
        prev = self.conn.execute(self._LAST_HASH).scalar() or genesis
        digest = hashlib.sha256((prev + canonical).encode()).hexdigest()
        self.conn.execute(self._ADD_AUDIT, {**entry, "prev_hash": prev, "hash": digest})

    # PostgreSQL: the idempotency record, the chain's lock and the entry hashed by the server (same formula as
    # the SQLite branch and ``audit.digest``), sent in one string (D-API-AUDIT-ONE-TRIP), the two INSERTs as
    # statements prepared once per connection (D-LATER-PREPARED). Each statement of a multi-statement string takes
    # its own snapshot (READ COMMITTED), so the INSERT sees the last entry committed by whoever held the lock
    # before. JSON goes as ``json.dumps`` text, as SQLAlchemy's JSON type binds it.
    _REMEMBER_PG = ("INSERT INTO api_idempotency (actor, key, method, path, body_hash, status, response, created_at) "
                    "VALUES (%(actor)s, %(key)s, %(method)s, %(path)s, %(body_hash)s, %(status)s, %(response)s::json, "
                    "%(at)s)")
    _LOCK_PG = f"SELECT pg_advisory_xact_lock({AUDIT_LOCK})"
    _APPEND_PG = ("INSERT INTO audit_log (at, actor, action, target, before, after, prev_hash, hash) "
                  "SELECT %(a_at)s::timestamptz, %(a_actor)s, %(a_action)s, %(a_target)s, %(a_before)s::json, "
                  "%(a_after)s::json, "
                  "last.hash, encode(sha256(convert_to(last.hash || %(a_canonical)s, 'UTF8')), 'hex') "
                  "FROM (SELECT coalesce((SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1), %(a_genesis)s)"
                  " AS hash) AS last")

    def _append_in_one_round_trip(self, entry: dict[str, Any], canonical: str, genesis: str,
                                  remember: Remembered | None, texts: AuditTexts) -> None:
        # last before the commit (``mutate``): sent with COMMIT, one round trip for all (D-WRITE-BEHIND)
        if remember is not None:
            later.defer_prepared(self.conn, self._REMEMBER_PG, {
                **remember._asdict(), "response": texts.response, "at": remember.at.astimezone(UTC)},
                partial(_key_in_use, remember))
        later.defer(self.conn, self._LOCK_PG)
        later.defer_prepared(self.conn, self._APPEND_PG, {
            "a_at": entry["at"].astimezone(UTC), "a_actor": entry["actor"], "a_action": entry["action"],
            "a_target": entry["target"], "a_before": texts.before, "a_after": texts.after, "a_canonical": canonical,
            "a_genesis": genesis})

    def audit_entries(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.conn.execute(select(audit_log).order_by(audit_log.c.id)).mappings()]


def _key_in_use(remember: Remembered | None, e: Exception) -> KeyInUse | None:
    """The idempotency record's unique key met: a request racing with the same key recorded it first."""
    if remember is not None and isinstance(e, IntegrityError) and later.constraint_of(e) == _KEY_CONSTRAINT:
        return KeyInUse(f"Idempotency-Key {remember.key!r} of {remember.actor} was recorded by another request")
    return None


_KEY_CONSTRAINT = "uq_api_idempotency_actor_key"
