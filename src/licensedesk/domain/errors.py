"""Named, coded errors (STYLE habit 8). The code of a refusal is its rule ID."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""

    code: str = "DOMAIN-ERROR"

    def __init__(self, message_en: str, message_ja: str | None = None, **details: Any) -> None:
        super().__init__(message_en)
        self.message_en = message_en
        self.message_ja = message_ja or message_en
        self.details: dict[str, Any] = dict(details)

    def message(self, lang: str = "en") -> str:
        return self.message_ja if lang == "ja" else self.message_en

    def as_dict(self, lang: str = "en") -> dict[str, Any]:
        return {"code": self.code, "message": self.message(lang), "details": self.details}


class RuleViolation(DomainError):
    """An action refused by a business rule; ``code`` is the rule ID from RULES.md."""

    def __init__(
        self,
        code: str,
        message_en: str,
        message_ja: str,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message_en, message_ja, **dict(details or {}))
        self.code = code

    def __repr__(self) -> str:
        return f"RuleViolation({self.code!r}, {self.message_en!r})"


class InvalidInput(DomainError):
    """Input that is malformed rather than forbidden (wrong term, unknown offer…)."""

    code = "INVALID-INPUT"

    def __init__(self, message_en: str, message_ja: str | None = None, *, code: str | None = None,
                 **details: Any) -> None:
        super().__init__(message_en, message_ja, **details)
        if code:
            self.code = code


class NotFound(DomainError):
    code = "NOT-FOUND"


class PolicyError(DomainError):
    """A policy file that is not valid; the message names the offending key."""

    code = "POLICY-INVALID"
