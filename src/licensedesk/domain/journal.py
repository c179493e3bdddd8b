"""The accounting journal (仕訳) of issued documents, voids, payments and refunds.

One row per journal line pair, tax-inclusive with the tax beside it (税込経理 with the tax amount,
so accounting software splits 仮受消費税 itself). See ``docs/accounting-export.md``.

* Invoice, per tax rate: 売掛金 / 売上高, tax class 課税売上10%, amount = net + tax.
* Credit note, per tax rate: 売上値引高 / 売掛金, tax class 課税売上返還10%.
* Void: the document's rows reversed (debit ↔ credit) on the void date.
* Cash received (payment, over-payment, deposit booked to a customer's credit): 普通預金 / 売掛金.
  A customer's credit balance is a negative receivable, so over-payments stay on 売掛金.
* Refund of a credit balance: 売掛金 / 普通預金.
* Using a credit balance on an invoice moves no money: no row.
* A credit note allocated to an invoice (D-CN-ALLOCATE): 売掛金 / 売掛金, tax class 対象外, memo naming both
  documents. It nets to zero in the ledger; it is there so the receivable can be reconciled (消込) per invoice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum

from .billing import DocumentKind, TaxSummary


class Account(StrEnum):
    RECEIVABLE = "売掛金"
    SALES = "売上高"
    SALES_RETURNS = "売上値引高"
    BANK = "普通預金"


NOT_TAXED = "対象外"
COLUMNS = ("date", "voucher", "debit_account", "credit_account", "counter_party", "tax_class", "amount", "tax",
           "memo")


@dataclass(frozen=True)
class JournalRow:
    on: date
    voucher: str
    debit: Account
    credit: Account
    counter_party: str
    tax_class: str
    amount: int
    tax: int
    memo: str

    def as_list(self) -> list[str | int]:
        return [self.on.isoformat(), self.voucher, self.debit.value, self.credit.value, self.counter_party,
                self.tax_class, self.amount, self.tax, self.memo]


def _pct(tax: TaxSummary) -> str:
    pct = tax.rate * 100
    return str(pct.numerator) if pct.denominator == 1 else f"{float(pct):g}"


def document_rows(kind: DocumentKind, number: str, on: date, counter_party: str,
                  taxes: Sequence[TaxSummary]) -> list[JournalRow]:
    rows = []
    for tax in taxes:
        gross = tax.net + tax.tax
        if gross >= 0 and kind is DocumentKind.INVOICE:
            rows.append(JournalRow(on, number, Account.RECEIVABLE, Account.SALES, counter_party,
                                   f"課税売上{_pct(tax)}%", gross, tax.tax, "請求書"))
        else:
            rows.append(JournalRow(on, number, Account.SALES_RETURNS, Account.RECEIVABLE, counter_party,
                                   f"課税売上返還{_pct(tax)}%", abs(gross), abs(tax.tax), "適格返還請求書"))
    return rows


def void_rows(rows: Sequence[JournalRow], on: date, reason: str) -> list[JournalRow]:
    """The reversal of a document's rows on the day it was voided."""
    return [replace(r, on=on, debit=r.credit, credit=r.debit, memo=f"取消: {reason}") for r in rows]


def cash_in_row(on: date, voucher: str, counter_party: str, amount: int, memo: str) -> JournalRow:
    return JournalRow(on, voucher, Account.BANK, Account.RECEIVABLE, counter_party, NOT_TAXED, amount, 0, memo)


def refund_row(on: date, voucher: str, counter_party: str, amount: int, memo: str) -> JournalRow:
    return JournalRow(on, voucher, Account.RECEIVABLE, Account.BANK, counter_party, NOT_TAXED, amount, 0, memo)


def allocation_row(on: date, credit_note: str, counter_party: str, amount: int, invoice: str) -> JournalRow:
    return JournalRow(on, credit_note, Account.RECEIVABLE, Account.RECEIVABLE, counter_party, NOT_TAXED, amount, 0,
                      f"返還請求書充当 {credit_note} → {invoice}")
