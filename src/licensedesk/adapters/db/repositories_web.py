"""The web's records on SQL: sessions (by token hash) and failed login attempts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from .tables_api import api_users
from .tables_web import web_login_attempts, web_sessions


class WebRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add_session(self, token_hash: str, user_id: int, csrf_token: str, language: str, created_at: datetime,
                    expires_at: datetime) -> None:
        self.conn.execute(insert(web_sessions).values(
            token_hash=token_hash, user_id=user_id, csrf_token=csrf_token, language=language,
            created_at=created_at, expires_at=expires_at))

    def session(self, token_hash: str) -> dict[str, Any] | None:
        """The session with its user's name, role and customer_ref."""
        query = select(web_sessions, api_users.c.name, api_users.c.role, api_users.c.customer_ref).join(
            api_users, api_users.c.id == web_sessions.c.user_id).where(web_sessions.c.token_hash == token_hash)
        row = self.conn.execute(query).mappings().first()
        return dict(row) if row else None

    def set_language(self, token_hash: str, language: str) -> None:
        self.conn.execute(update(web_sessions).where(web_sessions.c.token_hash == token_hash).values(
            language=language))

    def delete_session(self, token_hash: str) -> None:
        self.conn.execute(delete(web_sessions).where(web_sessions.c.token_hash == token_hash))

    def delete_expired(self, now: datetime) -> None:
        self.conn.execute(delete(web_sessions).where(web_sessions.c.expires_at <= now))

    def add_failure(self, name: str, client_ip: str, at: datetime) -> None:
        self.conn.execute(insert(web_login_attempts).values(name=name, client_ip=client_ip, at=at))

    def failures(self, since: datetime, *, name: str | None = None, client_ip: str | None = None
                 ) -> tuple[int, datetime | None]:
        """How many failures since ``since`` for that name or IP, and the oldest of them."""
        query = select(func.count(), func.min(web_login_attempts.c.at)).where(web_login_attempts.c.at > since)
        if name is not None:
            query = query.where(web_login_attempts.c.name == name)
        if client_ip is not None:
            query = query.where(web_login_attempts.c.client_ip == client_ip)
        count, oldest = self.conn.execute(query).one()
        if isinstance(oldest, str):  # SQLite aggregates lose the column type
            oldest = datetime.fromisoformat(oldest)
        return int(count), oldest

    def clear_failures(self, name: str) -> None:
        self.conn.execute(delete(web_login_attempts).where(web_login_attempts.c.name == name))
