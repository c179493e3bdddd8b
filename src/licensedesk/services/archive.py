"""電子帳簿保存法: every issued invoice and credit note archived immutably, searchable, verifiable (issue #4).

Issuing a document queues it (``archive_queue``, same transaction); ``run`` — called by the server's
scheduler loop after each tick's commits, and by ``licensedesk archive run`` — renders the PDF as
issued (no void mark), writes it and the document's canonical JSON to the archive directory, and
inserts one insert-only row with their SHA-256, the law's search keys (取引年月日, 取引金額, 取引先),
the retention date and a hash chain link (D-ARCHIVE-*). ``unarchived`` lists what is not archived
yet, so a document is never left out silently; ``verify`` recomputes every hash.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from licensedesk.domain.calendar import add_months
from licensedesk.domain.invoice_sheet import Issuer, build_sheet

from .context import Services
from .ports import DocumentRenderer, UnitOfWork
from .ports_archive import ArchiveFiles, ArchiveQuery
from .printing import document_facts, get_document

RETENTION_YEARS = 11  # D-ARCHIVE-RETENTION: ≥ 10 years after the tax return of any fiscal year the issue falls in
GENESIS = "0" * 64
INDEX_COLUMNS = ("document_number", "kind", "issue_date", "amount", "counterparty", "customer_ref", "pdf_path",
                 "pdf_sha256", "data_path", "data_sha256", "chain_sha256", "retain_until", "archived_at")


@dataclass
class ArchiveRun:
    archived: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # number → error (left queued, retried next run)


@dataclass(frozen=True)
class Problem:
    number: str
    what: str  # missing-file, pdf-mismatch, data-mismatch, chain-broken


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def chain_link(prev: str, record: dict[str, Any]) -> str:
    facts = [prev, record["document_number"], record["kind"], record["customer_ref"], record["counterparty"],
             record["issue_date"].isoformat(), str(record["amount"]), record["pdf_path"], record["pdf_sha256"],
             record["data_path"], record["data_sha256"], record["retain_until"].isoformat()]
    return sha256("\x1f".join(facts).encode("utf-8"))


def retain_until(issue_date: date) -> date:
    return add_months(issue_date, 12 * RETENTION_YEARS)


def run(svc: Services, now: datetime, files: ArchiveFiles, renderer: DocumentRenderer, issuer: Issuer,
        limit: int = 500) -> ArchiveRun:
    """Archive queued documents, one transaction each (a failure stays queued with its error)."""
    report = ArchiveRun()
    with svc.uow() as uow:
        uow.archive.enqueue_missing(now)
        uow.commit()
    while len(report.archived) + len(report.failed) < limit:
        with svc.uow() as uow:
            number = uow.archive.claim(set(report.failed))
            if number is None:
                break
            try:
                if uow.archive.get(number) is None:
                    _archive(uow, number, now, files, renderer, issuer)
                uow.archive.dequeue(number)
                uow.commit()
                report.archived.append(number)
                continue
            except Exception as exc:  # recorded on the queue row; the next run retries
                uow.rollback()
                report.failed[number] = f"{type(exc).__name__}: {exc}"
        with svc.uow() as uow:
            uow.archive.attempt_failed(number, report.failed[number])
            uow.commit()
    return report


def _archive(uow: UnitOfWork, number: str, now: datetime, files: ArchiveFiles, renderer: DocumentRenderer,
             issuer: Issuer) -> None:
    doc = get_document(uow, number)
    facts = document_facts(uow, {**doc, "status": "issued"})  # as issued and sent: no void mark
    pdf = renderer.render(build_sheet(facts, issuer))
    data = canonical_data(doc, facts.recipient, issuer)
    folder = f"{doc['issue_date']:%Y/%m}"
    record: dict[str, Any] = {
        "document_number": number, "kind": doc["kind"], "customer_ref": doc["customer_ref"],
        "counterparty": facts.recipient, "issue_date": doc["issue_date"], "amount": abs(doc["total"]),
        "pdf_path": f"{folder}/{number}.pdf", "pdf_sha256": sha256(pdf),
        "data_path": f"{folder}/{number}.json", "data_sha256": sha256(data),
        "retain_until": retain_until(doc["issue_date"]), "archived_at": now,
    }
    files.write(record["pdf_path"], pdf)
    files.write(record["data_path"], data)
    uow.archive.lock_chain()
    prev = uow.archive.last_chain() or GENESIS
    uow.archive.add({**record, "prev_chain": prev, "chain_sha256": chain_link(prev, record)})


def canonical_data(doc: dict[str, Any], counterparty: str, issuer: Issuer) -> bytes:
    """The document as issued, as canonical JSON (sorted keys, UTF-8): what its hash is computed over."""
    lines = [{k: line[k] for k in ("line_no", "subscription_ref", "kind", "quantity", "unit_amount", "amount",
                                   "period_start", "period_end", "rule", "charge_key")} for line in doc["lines"]]
    data = {"number": doc["number"], "kind": doc["kind"], "customer_ref": doc["customer_ref"],
            "counterparty": counterparty, "issue_date": doc["issue_date"], "due_date": doc["due_date"],
            "subtotal": doc["subtotal"], "tax": doc["tax"], "total": doc["total"], "taxes": doc["taxes"],
            "replaces": doc.get("replaces"), "lines": lines,
            "issuer": {"name": issuer.name, "registration_number": issuer.registration_number}}
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8")


def unarchived(svc: Services) -> list[dict[str, Any]]:
    with svc.uow() as uow:
        return uow.archive.unarchived()


def search(svc: Services, query: ArchiveQuery) -> list[dict[str, Any]]:
    with svc.uow() as uow:
        return uow.archive.search(query)


def verify(svc: Services, files: ArchiveFiles) -> tuple[int, list[Problem]]:
    """Recompute every file's SHA-256 and the hash chain; returns (rows checked, problems)."""
    with svc.uow() as uow:
        rows = uow.archive.all()
    problems, prev = [], GENESIS
    for row in rows:
        number = row["document_number"]
        if row["prev_chain"] != prev or chain_link(prev, row) != row["chain_sha256"]:
            problems.append(Problem(number, "chain-broken"))
        prev = row["chain_sha256"]
        for kind in ("pdf", "data"):
            content = files.read(row[f"{kind}_path"])
            if content is None:
                problems.append(Problem(number, f"missing-{kind}"))
            elif sha256(content) != row[f"{kind}_sha256"]:
                problems.append(Problem(number, f"{kind}-mismatch"))
    return len(rows), problems


def index_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(INDEX_COLUMNS)
    for row in rows:
        writer.writerow([row[c].isoformat() if isinstance(row[c], date | datetime) else row[c]
                         for c in INDEX_COLUMNS])
    return out.getvalue()
