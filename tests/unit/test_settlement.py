"""Payments, bank deposit files and matching (domain/settlement.py): pure rules, no database."""

from __future__ import annotations

from datetime import date

import pytest

from licensedesk.domain.errors import InvalidInput
from licensedesk.domain.settlement import (
    OpenInvoice,
    Unmatched,
    identify_payer,
    match_deposit,
    normalise_kana,
    parse_deposits,
    split_payment,
)


def test_split_payment_full_partial_and_over() -> None:
    assert split_payment(59774, 59774) == (59774, 0)
    assert split_payment(59774, 50000) == (50000, 0)
    assert split_payment(59774, 70000) == (59774, 10226)  # 10,226 becomes credit
    assert split_payment(0, 1000) == (0, 1000)  # paying a settled invoice again: all credit
    with pytest.raises(InvalidInput) as refused:
        split_payment(100, 0)
    assert refused.value.code == "PAYMENT-AMOUNT"


@pytest.mark.parametrize(("raw", "normal"), [
    ("ｶ)ｱｸﾒ", "アクメ"),
    ("ｱｸﾒ(ｶ", "アクメ"),
    ("カブシキガイシャ アクメ", "アクメ"),
    ("かぶしきがいしゃあくめ", "アクメ"),
    ("ｶ)ｷﾔﾂﾄｼｽﾃﾑ", "キヤツトシステム"),  # banks have no small kana: キャットシステム → キヤツトシステム
    ("キャットシステム", "キヤツトシステム"),
    ("ﾕ)ｻｰﾋﾞｽ", "サービス"),
    ("ﾄﾞ)ﾃｸﾉ-", "テクノー"),
])
def test_normalise_kana_keeps_what_banks_keep(raw: str, normal: str) -> None:
    assert normalise_kana(raw) == normal


def test_parse_deposits_skips_a_header_and_keys_repeated_rows_apart() -> None:
    text = "日付,金額,振込依頼人\n2026-07-10,59774,ｶ)ｱｸﾒ\n2026/07/10,\"59,774\",ｶ)ｱｸﾒ\n\n2026-07-11,1000,ﾃｽﾄ\n"
    rows = parse_deposits(text)
    assert [(r.on, r.amount, r.payer_kana, r.line) for r in rows] == [
        (date(2026, 7, 10), 59774, "ｶ)ｱｸﾒ", 2), (date(2026, 7, 10), 59774, "ｶ)ｱｸﾒ", 3),
        (date(2026, 7, 11), 1000, "ﾃｽﾄ", 5)]
    assert rows[0].key != rows[1].key  # two equal transfers on one day are two deposits
    assert parse_deposits(text)[1].key == rows[1].key  # … and importing the file again finds the same keys


@pytest.mark.parametrize(("text", "line"), [
    ("2026-07-10,59774\n", 1),
    ("2026-07-10,59774,ｱｸﾒ\n2026-13-01,1,ｱｸﾒ\n", 2),
    ("2026-07-10,-5,ｱｸﾒ\n", 1),
    ("2026-07-10,12.5,ｱｸﾒ\n", 1),
    ("2026-07-10,100, \n", 1),
])
def test_a_bad_row_names_its_line(text: str, line: int) -> None:
    with pytest.raises(InvalidInput) as bad:
        parse_deposits(text)
    assert bad.value.code == "DEPOSIT-FILE" and bad.value.details["line"] == line


def test_lines_may_end_in_a_lone_carriage_return() -> None:
    """Found by schemathesis: ``"\r0"`` raised csv.Error (a 500); a lone CR ends a line, as in old Mac files."""
    assert [(r.amount, r.line) for r in parse_deposits("2026-07-10,100,ｱｸﾒ\r2026-07-11,200,ｱｸﾒ\r")] == [(100, 1), (200, 2)]
    assert parse_deposits("\r0") == []  # a blank line, then a one-cell row taken for the header


def test_text_the_csv_module_cannot_read_is_refused_with_its_line() -> None:
    with pytest.raises(InvalidInput) as bad:  # a field over csv's size limit: csv.Error, a 500 before
        parse_deposits("2026-07-10,100,ｱｸﾒ\n2026-07-11,200," + "ｱ" * 200_000 + "\n")
    assert bad.value.code == "DEPOSIT-FILE" and bad.value.details["line"] == 2
    assert "CSV" in bad.value.message_en


def _open(number: str, due: str, amount: int) -> OpenInvoice:
    return OpenInvoice(number, "acme", date.fromisoformat(due), date.fromisoformat(due), amount)


OPEN = [_open("INV-3", "2026-09-30", 59774), _open("INV-1", "2026-07-31", 59774), _open("INV-2", "2026-08-31", 1000)]


def test_payer_is_identified_by_normalised_kana() -> None:
    kana = {"acme": "カブシキガイシャアクメ", "beta": "ベータ", "none": ""}
    assert identify_payer("ｶ)ｱｸﾒ", kana) == ["acme"]
    assert identify_payer("ｶ)ｶﾞﾝﾏ", kana) == []


def test_match_an_exact_invoice_oldest_first() -> None:
    found = match_deposit(59774, ["acme"], OPEN, credit=0)
    assert found.matched and found.invoices == ["INV-1"] and found.use_credit == 0


def test_match_the_oldest_invoices_together() -> None:
    assert match_deposit(60774, ["acme"], OPEN, credit=0).invoices == ["INV-1", "INV-2"]
    assert match_deposit(120548, ["acme"], OPEN, credit=0).invoices == ["INV-1", "INV-2", "INV-3"]


def test_match_using_the_credit_balance_when_the_customer_paid_the_net() -> None:
    found = match_deposit(59774 - 5000, ["acme"], OPEN, credit=5000)
    assert found.invoices == ["INV-1"] and found.use_credit == 5000


@pytest.mark.parametrize(("customers", "amount", "reason"), [
    ([], 59774, Unmatched.PAYER_UNKNOWN),
    (["acme", "acme2"], 59774, Unmatched.PAYER_AMBIGUOUS),
    (["acme"], 59334, Unmatched.AMOUNT_NO_MATCH),  # 440 yen transfer fee deducted: a person decides
])
def test_anything_else_waits_in_the_queue_with_its_reason(customers: list[str], amount: int,
                                                         reason: Unmatched) -> None:
    found = match_deposit(amount, customers, OPEN, credit=0)
    assert not found.matched and found.reason is reason and found.invoices == []


# ------------------------------------------------------------------ credit notes (D-CN-ALLOCATE)
def test_a_credit_note_settles_its_open_originals_oldest_first_and_keeps_the_rest() -> None:
    from licensedesk.domain.settlement import settle_originals

    assert settle_originals(64548, [("INV-1", 29774), ("INV-2", 11156)]) == [("INV-1", 29774), ("INV-2", 11156)]
    assert settle_originals(30000, [("INV-1", 29774), ("INV-2", 11156)]) == [("INV-1", 29774), ("INV-2", 226)]
    assert settle_originals(53790, [("INV-1", 0)]) == []  # a paid invoice takes nothing: all is balance


def test_an_explicit_allocation_is_bounded_by_the_note_the_balance_and_the_invoice() -> None:
    from licensedesk.domain.errors import InvalidInput
    from licensedesk.domain.settlement import allocation_amount

    assert allocation_amount(None, unallocated=57772, balance=57772, open_amount=18139) == 18139
    assert allocation_amount(None, unallocated=57772, balance=3790, open_amount=18139) == 3790
    assert allocation_amount(10000, unallocated=57772, balance=57772, open_amount=18139) == 10000
    for requested, balance in ((18140, 57772), (0, 57772), (None, 0)):
        with pytest.raises(InvalidInput) as refused:
            allocation_amount(requested, unallocated=57772, balance=balance, open_amount=18139)
        assert refused.value.code == "CN-ALLOCATE-AMOUNT"
