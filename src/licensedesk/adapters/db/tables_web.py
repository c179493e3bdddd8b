"""Tables of the web console and portal (issue 7): server-side sessions and failed logins (throttling)."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table

from .tables import UtcDateTime, metadata

web_sessions = Table(
    "web_sessions", metadata,
    Column("id", Integer, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),  # sha256 hex of the cookie's random token
    Column("user_id", Integer, ForeignKey("api_users.id"), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("language", String(2), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
)

web_login_attempts = Table(
    "web_login_attempts", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), nullable=False),
    Column("client_ip", String(64), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Index("ix_web_login_attempts_name_at", "name", "at"),
    Index("ix_web_login_attempts_client_ip_at", "client_ip", "at"),
)
