"""電子帳簿保存法 archive (issue #4) on SQLite and PostgreSQL: every issued document is archived once, immutably,
searchable by 取引年月日, 取引金額 and 取引先 (combined), and any tampering or missing file is reported."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from licensedesk.adapters.archive.files import DirectoryArchive
from licensedesk.adapters.db.engine import create_engine, upgrade
from licensedesk.adapters.db.tables_archive import archive_queue, archived_documents
from licensedesk.adapters.pdf.invoice import PdfRenderer
from licensedesk.bootstrap import uow_factory
from licensedesk.config import Settings
from licensedesk.domain.invoice_sheet import Issuer, Sheet
from licensedesk.services import archive, catalog, parties, scheduler
from licensedesk.services import subscriptions as subs
from licensedesk.services.context import Services
from licensedesk.services.ports_archive import ArchiveQuery

JST = ZoneInfo("Asia/Tokyo")
ISSUER = Issuer("ライセンスデスク株式会社", "東京都千代田区丸の内1-1-1", "T7010001008844", "みずほ銀行 本店 普通 1234567")
RENDERER = PdfRenderer(Settings().pdf_font_path)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=JST)


@pytest.fixture
def engine(db_url: str) -> object:
    engine = create_engine(db_url)
    upgrade(engine)
    return engine


@pytest.fixture
def svc(engine: object) -> Services:
    service = Services(uow=uow_factory(engine), zone=JST)  # type: ignore[arg-type]
    ordered = at("2026-06-18T10:00:00")
    catalog.load_sample_catalog(service)
    scheduler.tick(service, ordered)
    for ref, name in (("acme", "株式会社アクメ"), ("beta", "ベータ商事株式会社")):
        parties.register_customer(service, ordered, ref=ref, name=name, entity="corporation", country="JP")
        parties.register_tenant(service, ordered, ref=f"t-{ref}", customer=ref, domain=f"{ref}.onmicrosoft.com",
                                country="JP")
    # INV-2026-000001 acme 59,774 (06-18); INV-2026-000002 beta 3,627 (06-18); CN-2026-000001 acme −53,790 (06-21)
    subs.order(service, ordered, ref="s1", tenant="t-acme", offer="M365-E3", term="P1Y", billing="monthly",
               quantity=10, policy="mca-nce")
    subs.order(service, ordered, ref="s2", tenant="t-beta", offer="O365-E3", term="P1Y", billing="monthly",
               quantity=1, policy="mca-nce")
    subs.cancel(service, at("2026-06-21T11:00:00"), "s1")
    return service


def _numbers(rows: list[dict[str, object]]) -> list[object]:
    return [r["document_number"] for r in rows]


def test_issued_documents_are_queued_archived_once_and_searchable(svc: Services, tmp_path: Path) -> None:
    files = DirectoryArchive(tmp_path)
    assert [d["number"] for d in archive.unarchived(svc)] == ["INV-2026-000001", "INV-2026-000002", "CN-2026-000001"]
    assert all(d["queued_at"] is not None for d in archive.unarchived(svc))  # queued in the issuing transaction
    done = archive.run(svc, at("2026-06-21T12:00:00"), files, RENDERER, ISSUER)
    assert done.archived == ["INV-2026-000001", "INV-2026-000002", "CN-2026-000001"] and done.failed == {}
    assert archive.unarchived(svc) == []
    assert archive.run(svc, at("2026-06-21T12:05:00"), files, RENDERER, ISSUER).archived == []  # nothing twice

    rows = archive.search(svc, ArchiveQuery())
    first = rows[0]
    pdf = (tmp_path / "2026/06/INV-2026-000001.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and archive.sha256(pdf) == first["pdf_sha256"]
    data = json.loads((tmp_path / "2026/06/INV-2026-000001.json").read_text(encoding="utf-8"))
    assert (data["total"], data["counterparty"], data["issuer"]["registration_number"]) == (
        59774, "株式会社アクメ", "T7010001008844")
    assert (first["amount"], first["counterparty"], first["issue_date"]) == (59774, "株式会社アクメ", date(2026, 6, 18))
    assert first["retain_until"] == date(2037, 6, 18)  # D-ARCHIVE-RETENTION: issue date + 11 years

    by = lambda **kw: _numbers(archive.search(svc, ArchiveQuery(**kw)))  # noqa: E731
    assert by(first=date(2026, 6, 19)) == ["CN-2026-000001"]
    assert by(last=date(2026, 6, 18)) == ["INV-2026-000001", "INV-2026-000002"]
    assert by(min_amount=50000) == ["INV-2026-000001", "CN-2026-000001"]  # a credit note's amount is 53,790
    assert by(max_amount=10000) == ["INV-2026-000002"]
    assert by(counterparty="アクメ") == ["INV-2026-000001", "CN-2026-000001"]
    assert by(counterparty="beta") == ["INV-2026-000002"]  # the customer ref also works
    assert by(first=date(2026, 6, 18), last=date(2026, 6, 18), min_amount=50000, counterparty="アクメ") == [
        "INV-2026-000001"]
    assert by(counterparty="100%_") == []  # LIKE wildcards are taken literally
    assert archive.verify(svc, files) == (3, [])


def test_verify_reports_an_altered_file_a_missing_file_and_an_edited_row(svc: Services, engine: object,
                                                                         tmp_path: Path) -> None:
    files = DirectoryArchive(tmp_path)
    archive.run(svc, at("2026-06-21T12:00:00"), files, RENDERER, ISSUER)
    pdf = tmp_path / "2026/06/INV-2026-000001.pdf"
    pdf.chmod(0o644)
    pdf.write_bytes(pdf.read_bytes() + b"%")
    (tmp_path / "2026/06/INV-2026-000002.json").unlink()
    with engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(update(archived_documents).where(archived_documents.c.document_number == "CN-2026-000001")
                     .values(amount=1))
    checked, problems = archive.verify(svc, files)
    assert checked == 3
    assert [(p.number, p.what) for p in problems] == [
        ("INV-2026-000001", "pdf-mismatch"), ("INV-2026-000002", "missing-data"), ("CN-2026-000001", "chain-broken")]


def test_files_are_read_only_once_written(svc: Services, tmp_path: Path) -> None:
    archive.run(svc, at("2026-06-21T12:00:00"), DirectoryArchive(tmp_path), RENDERER, ISSUER)
    assert (tmp_path / "2026/06/CN-2026-000001.pdf").stat().st_mode & 0o222 == 0


class Broken:
    def render(self, sheet: Sheet) -> bytes:
        raise RuntimeError("font missing")


def test_a_failure_stays_queued_with_its_error_and_is_listed_until_a_later_run_archives_it(
        svc: Services, tmp_path: Path) -> None:
    files = DirectoryArchive(tmp_path)
    done = archive.run(svc, at("2026-06-21T12:00:00"), files, Broken(), ISSUER)
    assert done.archived == [] and set(done.failed) == {"INV-2026-000001", "INV-2026-000002", "CN-2026-000001"}
    missing = archive.unarchived(svc)
    assert [(d["attempts"], d["last_error"]) for d in missing] == [(1, "RuntimeError: font missing")] * 3
    assert len(archive.run(svc, at("2026-06-21T13:00:00"), files, RENDERER, ISSUER).archived) == 3
    assert archive.unarchived(svc) == []


def test_documents_never_queued_are_found_and_archived(svc: Services, engine: object, tmp_path: Path) -> None:
    with engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(archive_queue.delete())  # e.g. issued before the archive existed
    assert [d["queued_at"] for d in archive.unarchived(svc)] == [None, None, None]
    assert len(archive.run(svc, at("2026-06-21T12:00:00"), DirectoryArchive(tmp_path), RENDERER, ISSUER).archived) == 3


def test_the_archive_keeps_the_document_as_issued_even_when_voided_before_archiving(svc: Services,
                                                                                   tmp_path: Path) -> None:
    from licensedesk.services import settlement

    settlement.void(svc, at("2026-06-19T10:00:00"), "INV-2026-000002", "宛名誤り")
    files = DirectoryArchive(tmp_path)
    archive.run(svc, at("2026-06-21T12:00:00"), files, RENDERER, ISSUER)
    with svc.uow() as uow:
        from licensedesk.domain.invoice_sheet import build_sheet
        from licensedesk.services.printing import document_facts, get_document

        doc = get_document(uow, "INV-2026-000002")
        as_issued = RENDERER.render(build_sheet(document_facts(uow, {**doc, "status": "issued"}), ISSUER))
        with_mark = RENDERER.render(build_sheet(document_facts(uow, doc), ISSUER))
    assert files.read("2026/06/INV-2026-000002.pdf") == as_issued != with_mark


def test_two_archivers_claim_different_documents(svc: Services, db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("row locks (SKIP LOCKED) are a PostgreSQL matter; SQLite has one writer")
    with svc.uow() as first, svc.uow() as second:
        a = first.archive.claim(set())
        b = second.archive.claim(set())  # does not wait for the first: skips its locked row
        assert (a, b) == ("INV-2026-000001", "INV-2026-000002")
