"""Delivering the outbox after commit (issue 8): claim, send, mark sent; back off and retry on failure.

Each message is one transaction: claim the row (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so any
number of workers share the queue; SQLite runs one in-process worker), compose and send the mail,
then mark it sent and commit. A message is never marked sent twice and never sent again once
marked. The one window left is at the SMTP boundary: when the server accepted the mail but the
commit is lost (crash, lost connection), the row is still pending and the mail goes out again —
at-least-once there. The resend carries the same ``Message-ID`` (``<outbox-{id}@domain>``), so a
duplicate is detectable by the receiving side and in our own logs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from licensedesk.domain.errors import InvalidInput, NotFound
from licensedesk.domain.invoice_sheet import Issuer, build_sheet

from .context import Services
from .ports import DocumentRenderer, UnitOfWork
from .ports_outbox import Attachment, Mail, Mailer, MailTemplates, OutboxStatus
from .printing import document_facts, get_document

ATTACHED_DOCUMENTS = {"invoice_issued": "invoice", "credit_note_issued": "credit_note"}


@dataclass(kw_only=True)
class RetrySchedule:
    """When a failed attempt is tried again: ``backoff`` × 2^attempts, at most ``backoff_cap``; never again once
    ``max_attempts`` have failed. Shared by the mail outbox (``Delivery``) and the provisioning jobs
    (services/provisioning.py ``Provisioner``)."""

    max_attempts: int = 8
    backoff: timedelta = timedelta(minutes=1)
    backoff_cap: timedelta = timedelta(hours=6)

    def retry_at(self, now: datetime, attempts_before: int) -> datetime | None:
        if attempts_before + 1 >= self.max_attempts:
            return None
        return now + min(self.backoff * (1 << min(attempts_before, 30)), self.backoff_cap)


@dataclass
class Delivery(RetrySchedule):
    """What the worker needs besides the database: transport, templates, the PDF printer, and when to retry."""

    mailer: Mailer
    templates: MailTemplates
    renderer: DocumentRenderer | None = None
    issuer: Issuer | None = None
    language: str = "ja"
    mail_domain: str = "licensedesk.invalid"
    admin_url: str = ""


@dataclass
class DeliveryReport:
    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


def message_id(outbox_id: int, domain: str) -> str:
    return f"<outbox-{outbox_id}@{domain}>"


def deliver_due(svc: Services, delivery: Delivery, now: datetime, limit: int | None = None) -> DeliveryReport:
    """Deliver every message due at ``now`` (at most ``limit``), one transaction each."""
    report = DeliveryReport()
    while limit is None or len(report.sent) + len(report.retrying) + len(report.failed) < limit:
        if not deliver_one(svc, delivery, now, report):
            break
    return report


def deliver_one(svc: Services, delivery: Delivery, now: datetime, report: DeliveryReport) -> bool:
    """Claim, send and settle one due message; False when nothing is due."""
    with svc.uow() as uow:
        row = uow.outbox.claim_due(now)
        if row is None:
            return False
        try:
            mail = compose(uow, delivery, row)
            delivery.mailer.send(mail)
        except Exception as exc:  # any failure: record it on the row, back off, never lose the message
            retry_at = delivery.retry_at(now, row["attempts"])
            uow.outbox.mark_attempt_failed(row["id"], f"{type(exc).__name__}: {exc}", retry_at)
            (report.failed if retry_at is None else report.retrying).append(row["id"])
        else:
            uow.outbox.mark_sent(row["id"], now, mail.message_id, mail.to)
            report.sent.append(row["id"])
        uow.commit()
    return True


def compose(uow: UnitOfWork, delivery: Delivery, row: dict[str, Any]) -> Mail:
    payload = row["payload"]
    recipient = row["recipient"] or uow.outbox.recipient(row["customer_ref"])
    if not recipient:
        raise LookupError(f"customer {row['customer_ref']} has no billing or primary contact e-mail")
    customer = uow.customers.get(row["customer_ref"])
    details = payload.get("details", {})
    context = {**details, "subject": payload["subject"], "on": date.fromisoformat(payload["on"]),
               "rule": payload["rule"], "customer_ref": row["customer_ref"],
               "customer_name": customer.name if customer else row["customer_ref"],
               "admin_url": details.get("admin_url") or delivery.admin_url,  # ORD-FLOW: the upstream admin centre
               "reseller": delivery.issuer.name if delivery.issuer else ""}
    language = uow.preferences.mail_language(row["customer_ref"]) or delivery.language  # per customer, ja default
    subject, body = delivery.templates.render(row["kind"], language, context)
    return Mail(to=recipient, subject=subject, body=body, message_id=message_id(row["id"], delivery.mail_domain),
                attachments=_attachments(uow, delivery, row["kind"], payload["subject"]))


def _attachments(uow: UnitOfWork, delivery: Delivery, kind: str, number: str) -> tuple[Attachment, ...]:
    prefix = ATTACHED_DOCUMENTS.get(kind)
    if prefix is None:
        return ()
    if delivery.renderer is None or delivery.issuer is None:
        raise RuntimeError(f"{kind} needs the PDF printer, which this worker was built without")
    pdf = delivery.renderer.render(build_sheet(document_facts(uow, get_document(uow, number)), delivery.issuer))
    return (Attachment(ascii_filename(f"{prefix}_{number}.pdf"), pdf),)


def ascii_filename(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


def retry(svc: Services, outbox_id: int, now: datetime) -> None:
    with svc.uow() as uow:
        row = uow.outbox.get(outbox_id)
        if row is None:
            raise NotFound(f"no outbox message {outbox_id}", f"送信メッセージ {outbox_id} はありません", id=outbox_id)
        if not uow.outbox.retry(outbox_id, now):
            raise InvalidInput(f"outbox message {outbox_id} is {row['status']}, not failed",
                               f"送信メッセージ {outbox_id} は失敗状態ではありません（{row['status']}）",
                               code="OUTBOX-NOT-FAILED", id=outbox_id)
        uow.commit()


def messages(svc: Services, status: OutboxStatus | None = None) -> list[dict[str, Any]]:
    with svc.uow() as uow:
        return uow.outbox.list(status)


def preview(svc: Services, delivery: Delivery, outbox_id: int) -> tuple[dict[str, Any], Mail | None, str | None]:
    """A message as the worker composes it, without sending: (row, mail or None, the error composing raised)."""
    with svc.uow() as uow:
        row = uow.outbox.get(outbox_id)
        if row is None:
            raise NotFound(f"no outbox message {outbox_id}", f"送信メッセージ {outbox_id} はありません", id=outbox_id)
        try:
            return row, compose(uow, delivery, row), None
        except Exception as exc:  # the same failure the worker records on the row
            return row, None, f"{type(exc).__name__}: {exc}"
