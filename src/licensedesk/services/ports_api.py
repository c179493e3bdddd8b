"""The port of the REST API's own records: users, tokens, idempotency keys and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple, Protocol


class Remembered(NamedTuple):
    """An answer to keep under its Idempotency-Key (``ApiStore.remember``'s arguments)."""
    actor: str
    key: str
    method: str
    path: str
    body_hash: str
    status: int
    response: Any
    at: datetime


class AuditTexts(NamedTuple):
    """``json.dumps`` of an audit entry's ``before`` and ``after`` and of the remembered answer (None: nothing
    remembered)."""
    before: str
    after: str
    response: str | None


class ApiStore(Protocol):
    def add_user(self, name: str, role: str, customer: str | None, password_hash: str | None,
                 at: datetime) -> int: ...
    def user(self, name: str) -> dict[str, Any] | None: ...
    def user_by_token(self, token_hash: str) -> dict[str, Any] | None: ...
    def add_token(self, user_id: int, token_hash: str, at: datetime) -> None: ...
    def idempotent(self, actor: str, key: str) -> dict[str, Any] | None: ...
    def remember(self, actor: str, key: str, method: str, path: str, body_hash: str, status: int,
                 response: Any, at: datetime) -> None: ...  # ports.KeyInUse when another request got there first
    def append_audit(self, entry: dict[str, Any], canonical: str, genesis: str,
                     remember: Remembered | None, texts: AuditTexts) -> None: ...
    # ``remember`` first (if given), then under the chain's lock ``entry`` linked to the last one: prev_hash = the
    # last entry's hash (``genesis`` for the first), hash = hex sha256 of prev_hash + ``canonical`` (UTF-8);
    # ``texts``: the JSON the caller wrote of them, which the store uses rather than write it again
    def audit_entries(self) -> list[dict[str, Any]]: ...
