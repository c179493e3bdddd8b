"""Document numbers under concurrency: a per-series counter locked FOR UPDATE is gapless and unique."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from licensedesk.adapters.db.engine import create_engine, upgrade
from licensedesk.bootstrap import uow_factory
from licensedesk.domain.billing import DocumentDraft, document_number, draft_document
from licensedesk.domain.explain import because
from licensedesk.domain.subscription import ChargeLine, LineKind
from licensedesk.presets import preset
from licensedesk.services import documents, parties
from licensedesk.services.context import Services

JST = ZoneInfo("Asia/Tokyo")
N = 50


@pytest.mark.postgres
def test_fifty_documents_issued_at_once_are_numbered_gapless_and_unique(make_postgres_database: object) -> None:
    url = make_postgres_database()  # type: ignore[operator]
    engine = create_engine(url, pool_size=N, max_overflow=0)
    upgrade(engine)
    svc = Services(uow=uow_factory(engine), zone=JST)
    now = datetime(2026, 7, 1, 9, tzinfo=JST)
    parties.register_customer(svc, now, ref="acme", name="株式会社アクメ", entity="corporation", country="JP")
    policy = preset("mca-nce")

    def issue(i: int) -> str:
        line = ChargeLine(f"s{i}", LineKind.CYCLE, 1, 1000 + i, date(2026, 7, 1), date(2026, 7, 31), f"k{i}",
                          because("PRICE-ONE", "test"))
        with svc.uow() as uow:  # each thread its own unit of work, all racing for the first number too
            number = documents.issue(uow, "acme", date(2026, 7, 1), [line], policy, now)
            uow.commit()
        assert number is not None
        return number

    with ThreadPoolExecutor(max_workers=N) as pool:
        numbers = list(pool.map(issue, range(N)))
    assert sorted(numbers) == [f"INV-2026-{n:06d}" for n in range(1, N + 1)]
    with svc.uow() as uow:
        assert len(uow.documents.list()) == N
    engine.dispose()


def _draft(i: int, subscription: str) -> DocumentDraft:
    why = because("PRICE-ONE", f"{i} × 1,000", f"{i} × 1,000円", seats=i)
    lines = [ChargeLine(subscription, LineKind.CYCLE, i + n, 1000, date(2026, 7, 1), date(2026, 7, 31), f"k{n}", why)
             for n in range(3)]
    return draft_document("acme", date(2026, 7, 1), lines, preset("mca-nce"))


_ROWS = ("SELECT d.kind, d.customer_ref, d.issue_date, d.due_date, d.status, d.subtotal, d.tax, d.total, d.paid_amount, "
         "CAST(d.taxes AS TEXT), d.issued_at, d.dunning_on, l.line_no, l.kind, l.quantity, l.unit_amount, "
         "l.amount, l.period_start, l.period_end, l.rule, l.charge_key, CAST(l.explanation AS TEXT) "
         "FROM documents d JOIN document_lines l ON l.document_id = d.id WHERE d.number = :n ORDER BY l.id")


def test_one_document_numbered_as_it_is_written_stores_what_add_all_stores(db_url: str) -> None:
    """D-DOC-NUMBERED-CTE: ``add_one`` (on PostgreSQL one statement, the number made by the server) stores the rows
    ``add_all`` stores, numbers as ``document_number`` writes them (past six digits too), a new series from 1."""
    engine = create_engine(db_url)
    upgrade(engine)
    svc = Services(uow=uow_factory(engine), zone=JST)
    now = datetime(2026, 7, 1, 9, tzinfo=JST)
    parties.register_customer(svc, now, ref="acme", name="株式会社アクメ", entity="corporation", country="JP")
    with svc.uow() as uow:
        one = uow.documents.add_one(_draft(1, "s1"), date(2026, 8, 20), now, "INV-2026")  # the series' first number
        both = uow.documents.add_all([(_draft(1, "s2"), date(2026, 8, 20))], now,
                                     lambda: [document_number("INV-2026", uow.documents.take_numbers("INV-2026", 1))])
        uow.documents.take_numbers("INV-2026", 999_996)  # next: 999,999
        late = [uow.documents.add_one(_draft(2, s), None, now, "INV-2026") for s in ("s3", "s4")]
        uow.commit()
    assert [one, *both, *late] == ["INV-2026-000001", "INV-2026-000002", "INV-2026-999999", "INV-2026-1000000"]
    assert late == [document_number("INV-2026", n) for n in (999_999, 1_000_000)]
    with engine.connect() as conn:
        rows = {n: conn.execute(text(_ROWS), {"n": n}).all() for n in (one, *both, *late)}
    assert rows[one] == rows[both[0]] and len(rows[one]) == 3
    assert rows[late[0]] == rows[late[1]] and rows[late[0]] != rows[one]
    engine.dispose()
