"""Issue #4 on SQLite and PostgreSQL: credit notes settled one by one (D-CN-ALLOCATE).

A credit note first settles what is open on its original invoices; the rest is refundable credit that a
person can allocate to another open invoice of the same customer. Each allocation is on the credit
balance, on the invoice's payments, in the statement of account and in the journal (as 売掛金 / 売掛金).
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from licensedesk.domain.errors import DomainError
from licensedesk.services import accounting, catalog, credit_notes, dunning, parties, scheduler, settlement
from licensedesk.services import subscriptions as subs
from licensedesk.services.context import Services

JST = ZoneInfo("Asia/Tokyo")
INV1, INV2, CN1 = "INV-2026-000001", "INV-2026-000002", "CN-2026-000001"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=JST)


@pytest.fixture
def svc(svc: Services) -> Services:  # the migrated one of conftest.py, seeded here
    service = svc
    ordered = at("2026-06-18T10:00:00")
    catalog.load_sample_catalog(service)
    scheduler.tick(service, ordered)
    for ref, name in (("acme", "株式会社アクメ"), ("beta", "ベータ商事株式会社")):
        parties.register_customer(service, ordered, ref=ref, name=name, entity="corporation", country="JP")
        parties.register_tenant(service, ordered, ref=f"t-{ref}", customer=ref, domain=f"{ref}.onmicrosoft.com",
                                country="JP")
    # INV-2026-000001: 10 × 5,434 = 54,340 + 5,434 = 59,774 (acme, s1)
    subs.order(service, ordered, ref="s1", tenant="t-acme", offer="M365-E3", term="P1Y", billing="monthly",
               quantity=10, policy="mca-nce")
    return service


def _doc(svc: Services, number: str) -> dict[str, object]:
    with svc.uow() as uow:
        doc = uow.documents.get(number)
    assert doc is not None
    return doc


def _balance(svc: Services, customer: str = "acme") -> int:
    with svc.uow() as uow:
        return uow.billing.credit_balance(customer)


def _journal(svc: Services) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(accounting.journal_csv(accounting.journal(svc, date(2026, 6, 1),
                                                                                 date(2026, 6, 30))))))
    return [r[:4] + r[5:7] + [r[8]] for r in rows[1:]]


def test_a_credit_note_settles_its_open_invoice_and_the_rest_is_refundable(svc: Services) -> None:
    subs.pay(svc, at("2026-06-20T10:00:00"), INV1, 30000)  # 29,774 left open
    subs.cancel(svc, at("2026-06-21T11:00:00"), "s1")  # 10 × floor(5,434 × 27 / 30) = 48,900 + 4,890 = 53,790
    assert _doc(svc, CN1)["total"] == -53790
    invoice = _doc(svc, INV1)
    assert (invoice["status"], invoice["paid_amount"]) == ("paid", 59774)
    assert _balance(svc) == 53790 - 29774 == 24016
    with svc.uow() as uow:
        assert [(p["amount"], p["reference"]) for p in uow.billing.payments_of(INV1)] == [
            (30000, None), (29774, f"credit-note:{CN1}")]
        assert uow.billing.next_dunning_day() is None  # nothing left to chase
    statement = dunning.statement_of_account(svc, "acme", date(2026, 6, 30))
    assert statement.items == [] and statement.credit_balance == 24016 and statement.balance_due == -24016
    assert [(a.on, a.credit_note, a.invoice, a.amount) for a in statement.allocations] == [
        (date(2026, 6, 21), CN1, INV1, 29774)]
    assert settlement.refund_credit(svc, at("2026-06-22T10:00:00"), "acme", 24016) == 0
    assert _journal(svc) == [
        ["2026-06-18", INV1, "売掛金", "売上高", "課税売上10%", "59774", "請求書"],
        ["2026-06-20", INV1, "普通預金", "売掛金", "対象外", "30000", "入金"],
        ["2026-06-21", CN1, "売上値引高", "売掛金", "課税売上返還10%", "53790", "適格返還請求書"],
        ["2026-06-21", CN1, "売掛金", "売掛金", "対象外", "29774", f"返還請求書充当 {CN1} → {INV1}"],
        ["2026-06-22", "credit:3", "売掛金", "普通預金", "対象外", "24016", "残高返金"],
    ]


def test_a_credit_note_is_allocated_explicitly_to_another_open_invoice(svc: Services) -> None:
    subs.pay(svc, at("2026-06-18T11:00:00"), INV1)
    # INV-2026-000002: 5 × 3,298 = 16,490 + 1,649 = 18,139 (acme, s2); INV-2026-000003 is beta's
    subs.order(svc, at("2026-06-18T12:00:00"), ref="s2", tenant="t-acme", offer="O365-E3", term="P1Y",
               billing="monthly", quantity=5, policy="mca-nce")
    subs.order(svc, at("2026-06-18T12:00:00"), ref="s3", tenant="t-beta", offer="O365-E3", term="P1Y",
               billing="monthly", quantity=1, policy="mca-nce")
    subs.cancel(svc, at("2026-06-21T11:00:00"), "s1")  # −53,790, INV1 already paid → all credit
    assert _balance(svc) == 53790
    now = at("2026-06-22T10:00:00")
    for code, invoice, amount in (("CN-ALLOCATE-CUSTOMER", "INV-2026-000003", None),
                                  ("CN-ALLOCATE-AMOUNT", INV2, 18140),
                                  ("CN-ALLOCATE-TARGET", INV1, None),
                                  ("CN-ALLOCATE-SOURCE", INV2, None)):
        with pytest.raises(DomainError) as refused:
            credit_notes.apply(svc, now, INV1 if code == "CN-ALLOCATE-SOURCE" else CN1, invoice, amount)
        assert refused.value.code == code
    done = credit_notes.apply(svc, now, CN1, INV2, 10000)
    assert (done["allocated"], done["unallocated"], done["status"]) == (10000, 43790, "issued")
    done = credit_notes.apply(svc, now, CN1, INV2)  # the rest of what is open: 8,139
    assert (done["allocated"], done["unallocated"], done["status"]) == (8139, 35651, "paid")
    assert _balance(svc) == 35651
    with svc.uow() as uow:
        assert [(a.credit_note, a.invoice, a.amount) for a in credit_notes.allocations(uow, svc, "acme")] == [
            (CN1, INV2, 10000), (CN1, INV2, 8139)]
    rows = [r for r in _journal(svc) if r[1] == CN1]
    assert rows == [
        ["2026-06-21", CN1, "売上値引高", "売掛金", "課税売上返還10%", "53790", "適格返還請求書"],
        ["2026-06-22", CN1, "売掛金", "売掛金", "対象外", "10000", f"返還請求書充当 {CN1} → {INV2}"],
        ["2026-06-22", CN1, "売掛金", "売掛金", "対象外", "8139", f"返還請求書充当 {CN1} → {INV2}"],
    ]
    assert not [r for r in _journal(svc) if r[1] == INV2 and r[2] == "普通預金"]  # no cash was received


def test_an_allocation_never_exceeds_the_balance_left_after_a_refund(svc: Services) -> None:
    subs.pay(svc, at("2026-06-18T11:00:00"), INV1)
    subs.order(svc, at("2026-06-18T12:00:00"), ref="s2", tenant="t-acme", offer="O365-E3", term="P1Y",
               billing="monthly", quantity=5, policy="mca-nce")  # INV2 18,139
    subs.cancel(svc, at("2026-06-21T11:00:00"), "s1")  # 53,790 credit
    settlement.refund_credit(svc, at("2026-06-21T12:00:00"), "acme", 50000)  # 3,790 left
    done = credit_notes.apply(svc, at("2026-06-22T10:00:00"), CN1, INV2)
    assert (done["allocated"], done["paid_amount"]) == (3790, 3790)
    assert _balance(svc) == 0
