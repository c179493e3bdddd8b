"""Ports of issue 8 (delivery): the outbox table, the mail composer and the transport."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


@dataclass(frozen=True)
class Attachment:
    filename: str  # ASCII only (old Japanese clients mis-display RFC 2231 names)
    content: bytes
    mime_type: str = "application/pdf"


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str
    message_id: str  # derived from the outbox row: a resend after a crash carries the same Message-ID
    attachments: tuple[Attachment, ...] = field(default_factory=tuple)


class Mailer(Protocol):
    """Hands a mail over (SMTP server, or a directory in development); raises on failure."""

    def send(self, mail: Mail) -> None: ...


class MailTemplates(Protocol):
    """Subject and body of a notice kind in a language (ja, en)."""

    def render(self, kind: str, language: str, context: dict[str, Any]) -> tuple[str, str]: ...


class Outbox(Protocol):
    def recipient(self, customer: str) -> str | None: ...
    def claim_due(self, now: datetime) -> dict[str, Any] | None: ...
    def mark_sent(self, message_id: int, at: datetime, mail_id: str, recipient: str) -> None: ...
    def mark_attempt_failed(self, message_id: int, error: str, retry_at: datetime | None) -> None: ...
    def retry(self, message_id: int, at: datetime) -> bool: ...
    def get(self, message_id: int) -> dict[str, Any] | None: ...
    def list(self, status: OutboxStatus | None = None, limit: int = 1000) -> list[dict[str, Any]]: ...
    def next_attempt_at(self) -> datetime | None: ...
