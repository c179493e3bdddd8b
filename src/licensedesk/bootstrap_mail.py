"""Composition of the outbox worker (issue 8): transport, templates and PDF printer from the settings."""

from __future__ import annotations

from datetime import timedelta
from email.utils import parseaddr

from licensedesk.config import Settings
from licensedesk.services.outbox import Delivery
from licensedesk.services.ports_outbox import Mailer


def mailer(settings: Settings) -> Mailer:
    from licensedesk.adapters.mail.transports import FileMailer, SmtpMailer

    transport = settings.mail_transport or ("file" if settings.environment == "development" else "smtp")
    if transport == "file":
        return FileMailer(settings.mail_outbox_dir, settings.mail_from)
    return SmtpMailer(settings.smtp_host, settings.smtp_port, settings.mail_from, starttls=settings.smtp_starttls,
                      username=settings.smtp_username, password=settings.smtp_password,
                      timeout=settings.smtp_timeout_seconds)


def delivery(settings: Settings, transport: Mailer | None = None) -> Delivery:
    from licensedesk.adapters.mail.templates import JinjaMailTemplates
    from licensedesk.bootstrap import issuer, pdf_renderer

    domain = parseaddr(settings.mail_from)[1].rpartition("@")[2] or "licensedesk.invalid"
    return Delivery(mailer=transport or mailer(settings), templates=JinjaMailTemplates(),
                    renderer=pdf_renderer(settings), issuer=issuer(settings), language=settings.mail_language,
                    mail_domain=domain, admin_url=settings.admin_url, max_attempts=settings.outbox_max_attempts,
                    backoff=timedelta(seconds=settings.outbox_backoff_seconds),
                    backoff_cap=timedelta(seconds=settings.outbox_backoff_cap_seconds))
