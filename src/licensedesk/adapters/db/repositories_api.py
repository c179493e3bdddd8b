"""The REST API's records on SQL: users, hashed tokens, idempotency keys, the hash-chained audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, text
from sqlalchemy.exc import IntegrityError

from licensedesk.services.ports import KeyInUse

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
        row = self.conn.execute(self._IDEMPOTENT, {"actor": actor, "key": key}).mappings().first()
        return dict(row) if row else None

    _REMEMBER = insert(api_idempotency)
    _ADD_AUDIT = insert(audit_log)
    _LOCK_AUDIT = text("SELECT pg_advisory_xact_lock(:k)")

    def remember(self, actor: str, key: str, method: str, path: str, body_hash: str, status: int,
                 response: Any, at: datetime) -> None:
        try:
            self.conn.execute(self._REMEMBER, {
                "actor": actor, "key": key, "method": method, "path": path, "body_hash": body_hash,
                "status": status, "response": response, "created_at": at})
        except IntegrityError as e:  # the (actor, key) unique constraint: a request racing with the same key won
            raise KeyInUse(f"Idempotency-Key {key!r} of {actor} was recorded by another request") from e

    def lock_audit(self) -> None:
        if self.conn.dialect.name == "postgresql":
            self.conn.execute(self._LOCK_AUDIT, {"k": AUDIT_LOCK})

    def last_audit_hash(self) -> str | None:
        return self.conn.execute(self._LAST_HASH).scalar()

    def add_audit(self, entry: dict[str, Any], prev_hash: str, digest: str) -> None:
        self.conn.execute(self._ADD_AUDIT, {**entry, "prev_hash": prev_hash, "hash": digest})

    def audit_entries(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.conn.execute(select(audit_log).order_by(audit_log.c.id)).mappings()]
