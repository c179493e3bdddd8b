"""Settling invoices: splitting payments, reading bank deposits and matching them to invoices.

* A payment settles at most what is open on an invoice; the rest is an over-payment that
  becomes the customer's credit balance (D-OVERPAY-CREDIT). An invoice is ``paid`` only
  when nothing is open.
* Bank deposits (振込入金明細) arrive as ``date, amount, payer`` rows; the payer is the
  transfer name in half-width kana as banks send it (``ｶ)ｱｸﾒ``). A deposit is matched
  automatically only when the payer's kana identifies exactly one customer **and** the
  amount equals one open invoice, or the oldest open invoices together, possibly after
  using the customer's credit balance (D-DEPOSIT-MATCH). Anything else waits in the
  unmatched queue for a person, with the reason.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from .errors import InvalidInput


class DepositStatus(StrEnum):
    UNMATCHED = "unmatched"  # waiting for a person
    MATCHED = "matched"  # applied to invoices (any rest is credit)
    CREDITED = "credited"  # booked to a customer's credit balance without an invoice
    RETURNED = "returned"  # sent back to the payer (not ours to keep)


class Unmatched(StrEnum):
    """Why a deposit waits in the queue."""

    PAYER_UNKNOWN = "PAYER-UNKNOWN"
    PAYER_AMBIGUOUS = "PAYER-AMBIGUOUS"
    AMOUNT_NO_MATCH = "AMOUNT-NO-MATCH"


def split_payment(open_amount: int, amount: int) -> tuple[int, int]:
    """``(applied, over-payment)`` of ``amount`` against what is still open on an invoice."""
    if amount <= 0:
        raise InvalidInput(f"payment amount must be positive (got {amount})", f"入金額は正の数です（{amount}）",
                           code="PAYMENT-AMOUNT", amount=amount)
    applied = min(max(open_amount, 0), amount)
    return applied, amount - applied


# ------------------------------------------------------------------ kana names
_SMALL = str.maketrans("ァィゥェォッャュョヮヵヶ", "アイウエオツヤユヨワカケ")
_FORMS = "トクヒ|シヤ|ザイ|ガク|イ|カ|ユ|ド|メ|シ|ソ|ギヨ|ノウ"  # 全銀 abbreviations: (カ) 株式会社, (ユ) 有限会社…
_ABBREVIATION = re.compile(rf"\((?:{_FORMS})\)?|(?:{_FORMS})\)")
_WORDS = re.compile("カブシキガイシヤ|カブシキカイシヤ|ユウゲンガイシヤ|ゴウドウガイシヤ|ゴウメイガイシヤ|ゴウシガイシヤ")
_NOISE = re.compile(r"[\s・.,、。()\"']")


def normalise_kana(name: str) -> str:
    """A payer or customer kana name reduced to what banks reliably keep.

    Half-width → full-width (NFKC), hiragana → katakana, small kana → large (bank character sets
    have none), hyphen → ー, legal-form abbreviations ``ｶ)`` / ``(ｶ`` and words (カブシキガイシャ…)
    removed, spaces and punctuation removed. ``ｶ)ｱｸﾒ`` and ``カブシキガイシャ アクメ`` both give ``アクメ``.
    """
    text = unicodedata.normalize("NFKC", name)
    text = "".join(chr(ord(ch) + 0x60) if "ぁ" <= ch <= "ゖ" else ch for ch in text)
    text = text.translate(_SMALL).replace("-", "ー").replace("ｰ", "ー")
    text = _ABBREVIATION.sub("", text)
    text = _WORDS.sub("", text)
    return _NOISE.sub("", text)


# ------------------------------------------------------------------ deposits file
@dataclass(frozen=True)
class Deposit:
    on: date
    amount: int
    payer_kana: str
    line: int  # line in the file, for messages
    key: str  # import key: the same row imported twice is the same deposit


def parse_deposits(text: str) -> list[Deposit]:
    """Rows ``date,amount,payer`` (a header row is skipped); a bad row names its line, nothing is read."""
    reader = csv.reader(io.StringIO(text, newline=""))  # as the csv module asks: it reads \r, \n and \r\n itself
    try:
        rows = [(n, row) for n, row in enumerate(reader, start=1) if any(c.strip() for c in row)]
    except csv.Error as e:  # e.g. a field over the csv module's size limit (131,072 characters)
        raise _bad(reader.line_num, f"not readable as CSV: {e}", f"CSV として読めません: {e}") from None
    if rows and not _looks_like_date(rows[0][1][0]):
        rows = rows[1:]
    seen: Counter[tuple[date, int, str]] = Counter()
    out = []
    for n, row in rows:
        on, amount, payer = _row(n, row)
        seen[(on, amount, normalise_kana(payer))] += 1
        occurrence = seen[(on, amount, normalise_kana(payer))]
        out.append(Deposit(on, amount, payer, n, f"{on.isoformat()}|{amount}|{normalise_kana(payer)}|{occurrence}"))
    return out


def _looks_like_date(cell: str) -> bool:
    return bool(re.fullmatch(r"\s*\d{4}[-/]\d{1,2}[-/]\d{1,2}\s*", cell))


def _row(n: int, row: Sequence[str]) -> tuple[date, int, str]:
    if len(row) < 3:
        raise _bad(n, "expected date, amount, payer", "日付・金額・振込依頼人名の3列が必要です")
    try:
        year, month, day = (int(part) for part in row[0].strip().replace("/", "-").split("-"))
        on = date(year, month, day)
    except ValueError:
        raise _bad(n, f"not a date: {row[0]!r}", f"日付ではありません: {row[0]!r}") from None
    digits = row[1].strip().replace(",", "").replace("¥", "").replace("￥", "").replace("円", "")
    if not digits.isdigit() or int(digits) <= 0:
        raise _bad(n, f"amount must be a positive whole number of yen: {row[1]!r}",
                   f"金額は正の整数（円）です: {row[1]!r}")
    payer = row[2].strip()
    if not payer:
        raise _bad(n, "the payer name is empty", "振込依頼人名が空です")
    return on, int(digits), payer


def _bad(line: int, en: str, ja: str) -> InvalidInput:
    return InvalidInput(f"line {line}: {en}", f"{line}行目: {ja}", code="DEPOSIT-FILE", line=line)


# ------------------------------------------------------------------ matching
@dataclass(frozen=True)
class OpenInvoice:
    number: str
    customer: str
    due_date: date | None
    issue_date: date
    open_amount: int


@dataclass(frozen=True)
class Match:
    customer: str | None
    invoices: list[str] = field(default_factory=list)
    use_credit: int = 0  # credit balance applied first, so that the deposit settles the invoices
    reason: Unmatched | None = None

    @property
    def matched(self) -> bool:
        return self.reason is None


def identify_payer(payer_kana: str, customers_kana: Mapping[str, str]) -> list[str]:
    """Customers whose normalised kana name equals the payer's."""
    payer = normalise_kana(payer_kana)
    return sorted(ref for ref, kana in customers_kana.items() if kana and normalise_kana(kana) == payer)


def match_deposit(amount: int, customers: list[str], open_invoices: Sequence[OpenInvoice], credit: int) -> Match:
    """One customer and an amount that settles one open invoice or the oldest ones (see module doc)."""
    if not customers:
        return Match(None, reason=Unmatched.PAYER_UNKNOWN)
    if len(customers) > 1:
        return Match(None, reason=Unmatched.PAYER_AMBIGUOUS)
    customer = customers[0]
    ordered = sorted(open_invoices, key=lambda i: (i.due_date or i.issue_date, i.issue_date, i.number))
    for use_credit in (0, credit) if credit > 0 else (0,):
        target = amount + use_credit
        single = [i for i in ordered if i.open_amount == target]
        if single:
            return Match(customer, [single[0].number], use_credit)
        total = 0
        for k, invoice in enumerate(ordered):
            total += invoice.open_amount
            if total == target:
                return Match(customer, [i.number for i in ordered[:k + 1]], use_credit)
    return Match(customer, reason=Unmatched.AMOUNT_NO_MATCH)


# ------------------------------------------------------------------ credit notes (D-CN-ALLOCATE)
@dataclass(frozen=True)
class CreditAllocation:
    """Part of a credit note (適格返還請求書) applied to one invoice's open amount."""

    on: date
    credit_note: str
    invoice: str
    amount: int


def settle_originals(credit: int, open_amounts: Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
    """``(invoice, amount)`` a new credit note of ``credit`` yen settles on the invoices it returns part of.

    The invoices are taken in the order given (oldest first), each up to what is still open on it; what
    is left stays on the customer's credit balance, refundable (D-CN-ALLOCATE). A paid invoice takes
    nothing, so the whole credit note becomes balance.
    """
    settled, left = [], max(credit, 0)
    for number, open_amount in open_amounts:
        take = min(left, max(open_amount, 0))
        if take > 0:
            settled.append((number, take))
            left -= take
    return settled


def allocation_amount(requested: int | None, unallocated: int, balance: int, open_amount: int) -> int:
    """How much an explicit allocation applies: ``requested``, or by default all it can.

    It can never exceed what is left of the credit note, the customer's credit balance (a refund may
    have paid part of it out already) or what is open on the invoice.
    """
    limit = min(unallocated, balance, open_amount)
    use = limit if requested is None else requested
    if use <= 0 or use > limit:
        raise InvalidInput(
            f"cannot allocate {use:,} yen: {unallocated:,} left on the credit note, {balance:,} credit balance, "
            f"{open_amount:,} open on the invoice", f"{use:,} 円は充当できません（返還請求書の残 {unallocated:,} 円、"
            f"残高 {balance:,} 円、請求書の未入金 {open_amount:,} 円）",
            code="CN-ALLOCATE-AMOUNT", amount=use, unallocated=unallocated, balance=balance, open=open_amount)
    return use
