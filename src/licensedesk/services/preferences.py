"""Per-customer settings: the language of the customer's e-mail (ja by default; en when the customer chose it)."""

from __future__ import annotations

from datetime import datetime

from licensedesk.domain.errors import InvalidInput

from . import lookups
from .context import Services

MAIL_LANGUAGES = ("ja", "en")


def set_mail_language(svc: Services, now: datetime, customer: str, language: str) -> None:
    if language not in MAIL_LANGUAGES:
        raise InvalidInput(f"mail language must be ja or en, got {language!r}",
                           f"メールの言語は ja または en です（{language!r}）", code="MAIL-LANGUAGE", language=language)
    with svc.uow() as uow:
        lookups.customer(uow, customer)
        uow.preferences.set_mail_language(customer, language, now)
        uow.commit()


def mail_language(svc: Services, customer: str, default: str = "ja") -> str:
    with svc.uow() as uow:
        return uow.preferences.mail_language(customer) or default
