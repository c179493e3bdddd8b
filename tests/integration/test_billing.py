"""Issue 4 on SQLite and PostgreSQL: payments, credit balances, voids and re-issues, bank deposits, dunning,
statements and the accounting export — each exactly once."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from licensedesk.domain.errors import DomainError
from licensedesk.services import accounting, bank, catalog, dunning, parties, scheduler, settlement
from licensedesk.services import subscriptions as subs
from licensedesk.services.context import Services

JST = ZoneInfo("Asia/Tokyo")
FIRST = "INV-2026-000001"  # 10 × 5,434 + 10 % = 59,774, due 2026-07-31


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=JST)


def _order(svc: Services, policy: str = "mca-nce", offer: str = "M365-E3", billing: str = "monthly") -> None:
    ordered = at("2026-06-18T10:00:00")
    catalog.load_sample_catalog(svc)
    scheduler.tick(svc, ordered)
    parties.register_customer(svc, ordered, ref="acme", name="株式会社アクメ", entity="corporation", country="JP",
                              name_kana="カブシキガイシャ アクメ")
    parties.register_tenant(svc, ordered, ref="t1", customer="acme", domain="acme.onmicrosoft.com", country="JP")
    subs.order(svc, ordered, ref="s1", tenant="t1", offer=offer, term="P1Y", billing=billing, quantity=10,
               policy=policy)


def _doc(svc: Services, number: str) -> dict[str, object]:
    with svc.uow() as uow:
        doc = uow.documents.get(number)
    assert doc is not None
    return doc


def _balance(svc: Services) -> int:
    with svc.uow() as uow:
        return uow.billing.credit_balance("acme")


def _refused(code: str, call: object) -> None:
    with pytest.raises(DomainError) as refused:
        call()  # type: ignore[operator]
    assert refused.value.code == code


def test_partial_payments_settle_only_when_nothing_is_open(svc: Services) -> None:
    _order(svc)
    assert subs.pay(svc, at("2026-07-01T10:00:00"), FIRST, 50000)["status"] == "issued"
    with svc.uow() as uow:
        assert uow.billing.next_dunning_day() == date(2026, 7, 28)  # still chased: 9,774 open
    assert subs.pay(svc, at("2026-07-02T10:00:00"), FIRST, 9774)["status"] == "paid"
    with svc.uow() as uow:
        assert uow.billing.next_dunning_day() is None
        assert [p["amount"] for p in uow.billing.payments_of(FIRST)] == [50000, 9774]


def test_an_overpayment_is_credit_that_can_be_refunded_but_not_beyond(svc: Services) -> None:
    _order(svc)
    done = subs.pay(svc, at("2026-07-01T10:00:00"), FIRST, 70000)
    assert (done["status"], done["paid_amount"], done["credited"]) == ("paid", 59774, 10226)
    assert _balance(svc) == 10226
    _refused("REFUND-EXCEEDS-CREDIT", lambda: settlement.refund_credit(svc, at("2026-07-02T10:00:00"), "acme", 20000))
    assert settlement.refund_credit(svc, at("2026-07-02T10:00:00"), "acme", 10226, "振込 0702") == 0
    assert _balance(svc) == 0


def test_void_is_refused_once_anything_is_paid(svc: Services) -> None:
    _order(svc)
    _refused("VOID-REASON", lambda: settlement.void(svc, at("2026-06-19T10:00:00"), FIRST, "  "))
    subs.pay(svc, at("2026-06-19T10:00:00"), FIRST, 1000)
    _refused("DOC-PAID", lambda: settlement.void(svc, at("2026-06-19T11:00:00"), FIRST, "宛名誤り"))


def test_void_then_reissue_bills_the_same_charges_exactly_once(svc: Services) -> None:
    _order(svc)
    _refused("DOC-NOT-VOID", lambda: settlement.reissue(svc, at("2026-06-19T10:00:00"), FIRST))
    settlement.void(svc, at("2026-06-19T10:00:00"), FIRST, "宛名誤り")
    _refused("PAYMENT-VOID", lambda: subs.pay(svc, at("2026-06-19T10:30:00"), FIRST))
    new = settlement.reissue(svc, at("2026-06-19T11:00:00"), FIRST)
    _refused("DOC-REISSUE", lambda: settlement.reissue(svc, at("2026-06-19T12:00:00"), FIRST))
    old, again = _doc(svc, FIRST), _doc(svc, new)
    assert (old["status"], old["void_reason"], old["total"]) == ("void", "宛名誤り", 59774)  # kept as issued
    assert (again["status"], again["replaces"], again["total"], again["due_date"]) == (
        "issued", FIRST, 59774, date(2026, 7, 31))
    assert [ln["charge_key"] for ln in again["lines"]] == [
        ln["charge_key"].split("~void:")[0] for ln in old["lines"]]  # type: ignore[union-attr]
    scheduler.tick(svc, at("2026-06-30T00:00:00"))
    with svc.uow() as uow:
        assert len(uow.documents.list()) == 2  # nothing billed twice


def test_a_credit_note_settles_its_invoices_first_and_a_net_deposit_the_rest(svc: Services) -> None:
    _order(svc)
    subs.change_quantity(svc, at("2026-06-20T09:00:00"), "s1", 12, at_renewal=False)  # + 2 × 5,071 = 11,156
    subs.cancel(svc, at("2026-06-21T11:00:00"), "s1")  # credit note −64,548: 59,774 to FIRST, 4,774 to the second
    assert _balance(svc) == 0
    net = 59774 + 11156 - 64548  # 6,382
    report = bank.import_deposits(svc, at("2026-07-10T15:00:00"), f"2026-07-10,{net},ｶ)ｱｸﾒ\n")
    assert report.matched[0]["invoices"] == ["INV-2026-000002"]
    assert [_doc(svc, n)["status"] for n in (FIRST, "INV-2026-000002")] == ["paid", "paid"]
    assert _balance(svc) == 0
    _refused("CN-ALLOCATED", lambda: settlement.void(svc, at("2026-07-11T10:00:00"), "CN-2026-000001", "誤発行"))


def test_bank_import_matches_queues_and_is_idempotent(svc: Services) -> None:
    _order(svc)
    text = ("日付,金額,振込依頼人名\n"
            "2026-07-10,59334,ｶ)ｱｸﾒ\n"  # transfer fee of 440 deducted: a person decides
            "2026-07-10,5000,ｶ)ﾐｼﾗﾅｲ\n")  # nobody we know
    first = bank.import_deposits(svc, at("2026-07-11T09:00:00"), text)
    again = bank.import_deposits(svc, at("2026-07-12T09:00:00"), text)
    assert (first.read, len(first.matched), len(first.unmatched), again.duplicates) == (2, 0, 2, 2)
    assert [(u["reason"], u["customer"]) for u in first.unmatched] == [
        ("AMOUNT-NO-MATCH", "acme"), ("PAYER-UNKNOWN", None)]
    queue = bank.deposits(svc, "unmatched")
    bank.match(svc, at("2026-07-12T10:00:00"), queue[0]["id"], [FIRST])
    assert (_doc(svc, FIRST)["status"], _doc(svc, FIRST)["paid_amount"]) == ("issued", 59334)
    _refused("DEPOSIT-RESOLVED", lambda: bank.match(svc, at("2026-07-12T10:00:00"), queue[0]["id"], [FIRST]))
    assert bank.credit_to_customer(svc, at("2026-07-12T10:00:00"), queue[1]["id"], "acme") == 5000
    assert bank.deposits(svc, "unmatched") == []


def test_a_deposit_for_an_annual_prepaid_order_starts_provisioning_like_pay(svc: Services) -> None:
    _order(svc, policy="annual-prepaid", offer="M365-BUSINESS-STANDARD", billing="annual")
    invoice = _doc(svc, FIRST)
    report = bank.import_deposits(svc, at("2026-06-26T15:00:00"), f"2026-06-26,{invoice['total']},ｶ)ｱｸﾒ\n")
    assert report.matched[0]["invoices"] == [FIRST]
    with svc.uow() as uow:
        sub = uow.subscriptions.get("s1")
    assert sub is not None and sub.status.value == "provisioning"
    assert sub.activation_due == date(2026, 7, 1)  # Mon 06-29, Tue 06-30, Wed 07-01 (ORD-FLOW)


def test_the_tick_sends_a_reminder_and_an_overdue_notice_once(svc: Services) -> None:
    _order(svc)
    scheduler.tick(svc, at("2026-08-02T00:00:00"))
    scheduler.tick(svc, at("2026-08-02T12:00:00"))
    with svc.uow() as uow:
        sent = [(n["kind"], n["subject"], n["on_date"]) for n in uow.notices.list()
                if n["kind"].startswith("payment_")]
    assert sent == [("payment_reminder", FIRST, date(2026, 7, 28)), ("payment_overdue", FIRST, date(2026, 8, 1))]


def test_statement_of_account_ages_what_is_open(svc: Services) -> None:
    _order(svc)
    scheduler.tick(svc, at("2026-09-01T00:00:00"))  # cycles 07-18 and 08-18 invoiced too
    subs.pay(svc, at("2026-09-01T10:00:00"), FIRST, 70000)  # 10,226 over
    s = dunning.statement_of_account(svc, "acme", date(2026, 10, 1))
    assert [(a.item.number, a.days_past_due, a.bucket) for a in s.items] == [
        ("INV-2026-000002", 31, "31-60"), ("INV-2026-000003", 1, "0-30")]  # due 08-31 and 09-30
    assert s.credit_balance == 10226 and s.balance_due == 2 * 59774 - 10226


def test_journal_export_books_documents_money_and_voids(svc: Services) -> None:
    _order(svc)
    subs.pay(svc, at("2026-07-01T10:00:00"), FIRST, 70000)
    settlement.refund_credit(svc, at("2026-07-02T10:00:00"), "acme", 10226)
    scheduler.tick(svc, at("2026-07-18T09:00:00"))  # INV-2026-000002 for the 07-18 cycle
    settlement.void(svc, at("2026-07-20T10:00:00"), "INV-2026-000002", "二重発行")
    rows = list(csv.reader(io.StringIO(accounting.journal_csv(
        accounting.journal(svc, date(2026, 6, 1), date(2026, 7, 31))))))
    assert rows[0] == ["date", "voucher", "debit_account", "credit_account", "counter_party", "tax_class",
                       "amount", "tax", "memo"]
    assert [r[:4] + r[5:8] for r in rows[1:]] == [
        ["2026-06-18", FIRST, "売掛金", "売上高", "課税売上10%", "59774", "5434"],
        ["2026-07-01", FIRST, "普通預金", "売掛金", "対象外", "59774", "0"],
        ["2026-07-01", FIRST, "普通預金", "売掛金", "対象外", "10226", "0"],
        ["2026-07-02", "credit:2", "売掛金", "普通預金", "対象外", "10226", "0"],
        ["2026-07-18", "INV-2026-000002", "売掛金", "売上高", "課税売上10%", "59774", "5434"],
        ["2026-07-20", "INV-2026-000002", "売上高", "売掛金", "課税売上10%", "59774", "5434"],
    ]
    assert all(r[4] == "株式会社アクメ" for r in rows[1:])
