"""The outbox (issue 8): notices queue their mail in the same transaction; a worker delivers each once.

A real SMTP server (aiosmtpd on 127.0.0.1) receives the mails; transports that fail show the backoff,
the failed state and ``retry``; two workers on PostgreSQL share 200 messages without duplicates.
"""

from __future__ import annotations

import email
import socket
import threading
import time
from datetime import date, datetime, timedelta
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from licensedesk.adapters.db.engine import create_engine, upgrade
from licensedesk.adapters.db.tables_outbox import outbox_messages
from licensedesk.adapters.mail.templates import JinjaMailTemplates
from licensedesk.adapters.mail.transports import FileMailer, SmtpMailer
from licensedesk.bootstrap import issuer, pdf_renderer, uow_factory
from licensedesk.config import Settings
from licensedesk.domain.errors import InvalidInput, NotFound
from licensedesk.domain.subscription import Notice
from licensedesk.services import catalog, parties, printing, scheduler
from licensedesk.services import outbox as ob
from licensedesk.services import subscriptions as subs
from licensedesk.services.context import Services
from licensedesk.services.ports_outbox import Mail, OutboxStatus

JST = ZoneInfo("Asia/Tokyo")
T0 = datetime(2026, 6, 18, 10, 0, tzinfo=JST)
SETTINGS = Settings(_env_file=None)


@pytest.fixture
def svc(svc: Services) -> Services:  # the migrated one of conftest.py, seeded here
    s = svc
    catalog.load_sample_catalog(s)
    scheduler.tick(s, T0)
    parties.register_customer(s, T0, ref="acme", name="株式会社アクメ", entity="corporation", country="JP",
                              contacts=[{"name": "佐藤", "email": "sato@acme.co.jp", "role": "technical"},
                                        {"name": "山田", "email": "yamada@acme.co.jp", "role": "billing"}])
    parties.register_tenant(s, T0, ref="t1", customer="acme", domain="acme.onmicrosoft.com", country="JP")
    return s


def _order(svc: Services) -> None:
    subs.order(svc, T0, ref="s1", tenant="t1", offer="M365-E3", term="P1Y", billing="monthly", quantity=10)


def _delivery(mailer: Any, **kw: Any) -> ob.Delivery:
    return ob.Delivery(mailer=mailer, templates=JinjaMailTemplates(), renderer=pdf_renderer(SETTINGS),
                       issuer=issuer(SETTINGS), mail_domain="licensedesk.example", **kw)


class Recording:
    def __init__(self, fail_first: int = 0, pause: float = 0.0) -> None:
        self.sent: list[Mail] = []
        self.fail_first, self.pause, self.calls = fail_first, pause, 0
        self.lock = threading.Lock()

    def send(self, mail: Mail) -> None:
        with self.lock:
            self.calls += 1
            if self.calls <= self.fail_first:
                raise ConnectionRefusedError(f"SMTP down (call {self.calls})")
        time.sleep(self.pause)
        with self.lock:
            self.sent.append(mail)


def _rows(svc: Services, status: OutboxStatus | None = None) -> list[dict[str, Any]]:
    return ob.messages(svc, status)


def test_a_notice_queues_its_mail_in_the_same_transaction(svc: Services) -> None:
    _order(svc)
    [row] = _rows(svc)
    assert (row["kind"], row["status"], row["attempts"]) == ("invoice_issued", "pending", 0)
    assert row["recipient"] == "yamada@acme.co.jp"  # the billing contact, not the first one
    with svc.uow() as uow:  # rolled back: neither the notice nor its message exists
        uow.notices.add(Notice("expired", "s1", date(2026, 7, 1), "LIFE-EXPIRED-30D"), "acme", T0)
    assert len(_rows(svc)) == 1
    with svc.uow() as uow:  # the same notice again is not a second message
        assert not uow.notices.add(Notice("invoice_issued", row["payload"]["subject"], date(2026, 6, 18), "ORD-FLOW"),
                                   "acme", T0)
        uow.commit()
    assert len(_rows(svc)) == 1


def test_no_contact_is_queued_as_failed_with_a_clear_error(svc: Services) -> None:
    parties.register_customer(svc, T0, ref="nomail", name="連絡先なし株式会社", entity="corporation", country="JP")
    with svc.uow() as uow:
        uow.notices.add(Notice("expired", "s9", date(2026, 7, 1), "LIFE-EXPIRED-30D"), "nomail", T0)
        uow.commit()
    [row] = _rows(svc, OutboxStatus.FAILED)
    assert row["last_error"] == "customer nomail has no billing or primary contact e-mail"
    assert ob.deliver_due(svc, _delivery(Recording()), T0).sent == []


def test_a_batch_of_notices_queues_the_same_messages_as_one_at_a_time(svc: Services) -> None:
    """On PostgreSQL a batch writes its notices and messages in one statement, the payload made by the database
    from the notice row; the messages must be the ones ``add`` queues one at a time (on SQLite both are one path)."""
    parties.register_customer(svc, T0, ref="nomail", name="連絡先なし株式会社", entity="corporation", country="JP")
    there = (Notice("renewal_reminder", "s1", date(2026, 7, 1), "TERM-RENEW-OPTOUT-30D", {"deadline": "2026-07-31"}),
             "acme")
    notices = [(Notice("renewal_reminder", "s2", date(2026, 7, 1), "TERM-RENEW-OPTOUT-30D",
                       {"deadline": "2026-07-31", "term_end": None, "seats": 3, "件名": "請求書 \"T\"\\"}), "acme"),
               (Notice("expired", "s9", date(2026, 7, 1), "LIFE-EXPIRED-30D"), "nomail"),
               (Notice("invoice_issued", "INV-2026-000009", date(2026, 7, 1), "ORD-FLOW", {"total": 5500}), "acme")]
    with svc.uow() as uow:
        uow.notices.add(*there, T0)  # recorded already: the batch leaves it and its message out
        uow.commit()
    with svc.uow() as uow:
        recorded = uow.notices.add_all([there, *notices, notices[1]], T0 + timedelta(hours=1))
        uow.commit()
    assert [(n, customer) for _, n, customer in recorded] == notices
    batch = sorted((r for r in _rows(svc) if r["notice_id"] in {i for i, _, _ in recorded}), key=lambda r: r["id"])
    assert [r["notice_id"] for r in batch] == sorted(i for i, _, _ in recorded)  # in the notices' order
    assert [r["payload"] for r in batch] == [
        {"kind": n.kind, "subject": n.subject, "on": "2026-07-01", "rule": n.rule, "details": n.details}
        for n, _ in notices]
    assert [(r["recipient"], r["status"]) for r in batch] == [
        ("yamada@acme.co.jp", "pending"), (None, "failed"), ("yamada@acme.co.jp", "pending")]
    with svc.uow() as uow:  # the same notices one at a time (on another date): the same messages
        one_by_one = [uow.notices.add_all([(Notice(n.kind, n.subject, date(2026, 8, 1), n.rule, n.details), c)],
                                          T0 + timedelta(hours=1))[0][0] for n, c in notices]
        uow.commit()
    single = {r["notice_id"]: r for r in _rows(svc)}

    def same(row: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in row.items() if k not in ("id", "notice_id")} | {"payload": {**row["payload"], "on": "-"}}
    assert [same(r) for r in batch] == [same(single[i]) for i in one_by_one]


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"


@pytest.fixture
def smtp_server() -> Any:
    controller_mod = pytest.importorskip("aiosmtpd.controller")
    inbox = Inbox()
    with socket.socket() as probe:  # a free port (aiosmtpd's readiness check cannot use port 0)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = controller_mod.Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def test_invoice_mail_over_real_smtp_japanese_subject_base64_body_pdf_attached(
        svc: Services, smtp_server: Any) -> None:
    inbox, port = smtp_server
    _order(svc)
    mailer = SmtpMailer("127.0.0.1", port, "ライセンスデスク <billing@licensedesk.example>", starttls=False)
    report = ob.deliver_due(svc, _delivery(mailer), T0)
    [row] = _rows(svc, OutboxStatus.SENT)
    assert report.sent == [row["id"]]
    [(sender, rcpts, raw)] = inbox.messages
    assert (sender, rcpts) == ("billing@licensedesk.example", ["yamada@acme.co.jp"])
    number = row["payload"]["subject"]
    assert b"=?utf-8?b?" in raw.split(b"\r\n\r\n", 1)[0].lower()  # RFC 2047 encoded words, not raw UTF-8
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    assert msg["Subject"] == f"【ご請求書】{number} のご送付"
    assert msg["Message-ID"] == row["message_id"] == f"<outbox-{row['id']}@licensedesk.example>"
    body = msg.get_body(("plain",))
    assert body is not None and body["Content-Transfer-Encoding"] == "base64"
    assert body.get_content_charset() == "utf-8"
    assert "株式会社アクメ 御中" in body.get_content()
    [pdf] = list(msg.iter_attachments())
    assert pdf.get_filename() == f"invoice_{number}.pdf" and pdf.get_filename().isascii()
    assert "filename*" not in str(pdf["Content-Disposition"])  # plain ASCII name, no RFC 2231
    assert pdf.get_content_type() == "application/pdf"
    assert pdf.get_content() == printing.render_pdf(svc, number, issuer(SETTINGS), pdf_renderer(SETTINGS))
    assert ob.deliver_due(svc, _delivery(mailer), T0 + timedelta(days=1)).sent == []  # never twice
    assert len(inbox.messages) == 1


def test_english_variant_and_every_kind_has_both_languages() -> None:
    templates = JinjaMailTemplates()
    context = {"subject": "S-1", "on": date(2026, 6, 18), "rule": "R", "customer_name": "ACME", "admin_url": "",
               "reseller": "LD"}
    for kind in [*templates.kinds(), "some_future_kind"]:
        for language in ("ja", "en"):
            subject, body = templates.render(kind, language, context)
            assert subject and "ACME" in body.splitlines()[0] and body.endswith("\n"), (kind, language)
            assert "S-1" in subject + body or kind == "credit_refunded", (kind, language)
    assert templates.render("invoice_issued", "en", {**context, "total": 12345})[0] == "Invoice S-1"
    emitted = {"activation", "activation_overdue", "cancel_window_closing", "cocp_effective", "cocp_manual_renewal",
               "cocp_rejected", "data_deletion_warning", "expired", "nonpayment", "renewal_invoice",
               "renewal_reminder", "seats_added", "vl_agreement_terminated", "vl_expired", "vl_expiry_60d",
               "vl_terminated", "credit_refunded", "delegated_admin_revoked", "document_voided",
               "relationship_request_expired", "relationship_request_sent", "store_activation",
               "store_activation_reissued", "store_login_overdue", "invoice_issued", "credit_note_issued",
               "payment_reminder", "payment_overdue"}
    assert emitted <= set(templates.kinds())


def test_retries_back_off_then_send_once(svc: Services) -> None:
    _order(svc)
    mailer = Recording(fail_first=2)
    delivery = _delivery(mailer)
    assert ob.deliver_due(svc, delivery, T0).retrying  # attempt 1 fails → due T0 + 1 min
    [row] = _rows(svc)
    assert (row["attempts"], row["next_attempt_at"]) == (1, T0 + timedelta(minutes=1))
    assert "SMTP down (call 1)" in row["last_error"]
    assert ob.deliver_due(svc, delivery, T0 + timedelta(seconds=59)).retrying == []  # not due yet
    ob.deliver_due(svc, delivery, T0 + timedelta(minutes=1))  # attempt 2 fails → + 2 min
    assert _rows(svc)[0]["next_attempt_at"] == T0 + timedelta(minutes=3)
    assert ob.deliver_due(svc, delivery, T0 + timedelta(minutes=3)).sent == [row["id"]]
    [row] = _rows(svc, OutboxStatus.SENT)
    assert row["attempts"] == 3 and row["last_error"] is None
    assert len(mailer.sent) == 1


def test_failed_after_n_attempts_then_retry_from_the_cli(svc: Services, db_url: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from licensedesk.entrypoints.cli_outbox import app

    _order(svc)
    broken = _delivery(Recording(fail_first=99), max_attempts=3)
    now = T0
    for _ in range(3):
        ob.deliver_due(svc, broken, now)
        now += timedelta(hours=1)
    [row] = _rows(svc, OutboxStatus.FAILED)
    assert row["attempts"] == 3
    assert ob.deliver_due(svc, broken, now + timedelta(days=30)).failed == []  # failed stays put
    ob.retry(svc, row["id"], now)
    with pytest.raises(InvalidInput):  # pending again, not failed
        ob.retry(svc, row["id"], now)
    with pytest.raises(NotFound):
        ob.retry(svc, row["id"] + 1000, now)

    monkeypatch.setenv("LICENSEDESK_DATABASE_URL", db_url)
    runner = CliRunner()
    with svc.uow() as uow:  # back to failed for the CLI round trip
        uow.outbox.mark_attempt_failed(row["id"], "again", None)
        uow.commit()
    listed = runner.invoke(app, ["list", "--status", "failed"])
    assert listed.exit_code == 0 and f"#{row['id']}" in listed.output and "SMTP down" not in listed.output
    assert runner.invoke(app, ["retry", str(row["id"])]).exit_code == 0
    assert runner.invoke(app, ["retry", str(row["id"])]).exit_code == 1  # pending now, not failed
    good = Recording()
    assert ob.deliver_due(svc, _delivery(good), datetime.now(JST) + timedelta(seconds=1)).sent == [row["id"]]
    assert len(good.sent) == 1


def _queue(svc: Services, count: int) -> None:
    with svc.uow() as uow:
        for i in range(count):
            uow.notices.add(Notice("renewal_reminder", f"s{i:04d}", date(2026, 7, 1), "TERM-RENEW-AUTO",
                                   {"term_end": "2026-07-31"}), "acme", T0)
        uow.commit()


@pytest.mark.postgres
def test_two_workers_on_postgresql_deliver_200_once_each(make_postgres_database: Any) -> None:
    url = make_postgres_database()
    engine = create_engine(url)
    upgrade(engine)
    svc = Services(uow=uow_factory(engine), zone=JST)
    parties.register_customer(svc, T0, ref="acme", name="株式会社アクメ", entity="corporation", country="JP",
                              contacts=[{"name": "山田", "email": "yamada@acme.co.jp", "role": "primary"}])
    _queue(svc, 200)
    mailer = Recording(pause=0.001)
    reports: list[ob.DeliveryReport] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            worker_svc = Services(uow=uow_factory(engine), zone=JST)  # own connections, shared engine
            reports.append(ob.deliver_due(worker_svc, _delivery(mailer), T0 + timedelta(minutes=1)))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=120)
    assert not errors
    ids = [m.message_id for m in mailer.sent]
    assert len(ids) == 200 and len(set(ids)) == 200  # none lost, none twice
    assert all(r.sent for r in reports), "both workers took part"
    assert sorted(reports[0].sent + reports[1].sent) == sorted(r["id"] for r in _rows(svc))
    assert {r["status"] for r in _rows(svc)} == {"sent"}


def test_sqlite_in_process_worker_and_file_transport(sqlite_url: str, tmp_path: Path) -> None:
    engine = create_engine(sqlite_url)
    upgrade(engine)
    svc = Services(uow=uow_factory(engine), zone=JST)
    parties.register_customer(svc, T0, ref="acme", name="株式会社アクメ", entity="corporation", country="JP",
                              contacts=[{"name": "山田", "email": "yamada@acme.co.jp", "role": "primary"}])
    _queue(svc, 20)
    mailer = FileMailer(tmp_path / "mail", "billing@licensedesk.example")
    report = ob.deliver_due(svc, _delivery(mailer), T0)
    assert len(report.sent) == 20
    files = sorted((tmp_path / "mail").glob("*.eml"))
    assert len(files) == 20
    msg = email.message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert msg["Subject"].startswith("【ご案内】契約番号 s")
    with engine.connect() as conn:
        assert {r.status for r in conn.execute(select(outbox_messages.c.status))} == {"sent"}


def test_development_defaults_to_the_file_transport() -> None:
    from licensedesk.bootstrap_mail import mailer

    assert isinstance(mailer(Settings(_env_file=None)), FileMailer)
    assert isinstance(mailer(Settings(_env_file=None, mail_transport="smtp")), SmtpMailer)


def test_every_notice_the_tick_decides_has_exactly_one_message(svc: Services) -> None:
    _order(svc)
    subs.cancel(svc, T0 + timedelta(hours=30), "s1")  # a credit note (credit_note_issued)
    scheduler.tick(svc, T0 + timedelta(days=120))  # dunning, expiry, deletion warnings … as the engine decides
    with svc.uow() as uow:
        notices = uow.notices.list()
    rows = _rows(svc)
    assert len(notices) >= 3
    assert sorted(r["notice_id"] for r in rows) == sorted(n["id"] for n in notices)
    mailer = Recording()
    report = ob.deliver_due(svc, _delivery(mailer), T0 + timedelta(days=121))
    assert len(report.sent) == len(rows) and not report.retrying
    assert {r["kind"] for r in rows} >= {"invoice_issued", "credit_note_issued"}
    attached = sorted(a.filename.split("_")[0] for m in mailer.sent for a in m.attachments)
    assert attached == sorted(r["kind"].split("_")[0] for r in rows if r["kind"].endswith("_issued"))
