"""The accounting journal rows (domain/journal.py, docs/accounting-export.md)."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

from licensedesk.domain.billing import DocumentKind, TaxSummary
from licensedesk.domain.journal import Account, cash_in_row, document_rows, refund_row, void_rows

TEN = Fraction(1, 10)


def test_an_invoice_is_receivable_against_sales_tax_inclusive_with_its_tax() -> None:
    [row] = document_rows(DocumentKind.INVOICE, "INV-1", date(2026, 6, 18), "株式会社アクメ",
                          [TaxSummary(TEN, 54340, 5434)])
    assert (row.debit, row.credit, row.tax_class, row.amount, row.tax) == (
        Account.RECEIVABLE, Account.SALES, "課税売上10%", 59774, 5434)


def test_a_credit_note_is_a_sales_return_against_receivable() -> None:
    [row] = document_rows(DocumentKind.CREDIT_NOTE, "CN-1", date(2026, 6, 21), "株式会社アクメ",
                          [TaxSummary(TEN, -58680, -5868)])
    assert (row.debit, row.credit, row.tax_class, row.amount, row.tax) == (
        Account.SALES_RETURNS, Account.RECEIVABLE, "課税売上返還10%", 64548, 5868)


def test_a_void_reverses_the_document_on_its_own_date() -> None:
    rows = document_rows(DocumentKind.INVOICE, "INV-1", date(2026, 6, 18), "A", [TaxSummary(TEN, 100, 10)])
    [back] = void_rows(rows, date(2026, 6, 20), "宛名誤り")
    assert (back.on, back.debit, back.credit, back.amount, back.memo) == (
        date(2026, 6, 20), Account.SALES, Account.RECEIVABLE, 110, "取消: 宛名誤り")


def test_money_in_and_out() -> None:
    cash = cash_in_row(date(2026, 7, 10), "INV-1", "A", 59774, "入金")
    refund = refund_row(date(2026, 7, 20), "credit:1", "A", 10226, "残高返金")
    assert (cash.debit, cash.credit, cash.tax_class) == (Account.BANK, Account.RECEIVABLE, "対象外")
    assert (refund.debit, refund.credit) == (Account.RECEIVABLE, Account.BANK)
    assert cash.as_list()[0] == "2026-07-10"
