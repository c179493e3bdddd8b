"""Tables of the REST API (issue 7): users and their roles, machine tokens, idempotency keys, the audit log."""

from __future__ import annotations

from sqlalchemy import JSON, Column, ForeignKey, Integer, String, Table, Text, UniqueConstraint

from .tables import UtcDateTime, metadata

api_users = Table(
    "api_users", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("customer_ref", String(64), nullable=True),  # set for role ``customer``: its only customer
    Column("password_hash", Text, nullable=True),  # argon2id; NULL: token-only (machines)
    Column("created_at", UtcDateTime, nullable=False),
)

api_tokens = Table(
    "api_tokens", metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("api_users.id"), nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True),  # sha256 hex of a 256-bit random token
    Column("created_at", UtcDateTime, nullable=False),
)

api_idempotency = Table(
    "api_idempotency", metadata,
    Column("id", Integer, primary_key=True),
    Column("actor", String(64), nullable=False),
    Column("key", String(255), nullable=False),
    Column("method", String(8), nullable=False),
    Column("path", String(512), nullable=False),
    Column("body_hash", String(64), nullable=False),
    Column("status", Integer, nullable=False),
    Column("response", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("actor", "key", name="uq_api_idempotency_actor_key"),
)

audit_log = Table(
    "audit_log", metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(128), nullable=False),
    Column("before", JSON, nullable=True),
    Column("after", JSON, nullable=True),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)
