"""What a printed invoice or credit note says (適格請求書 / 適格返還請求書), as text ready to lay out.

The qualified-invoice fields (消費税法57条の4; shared/notes/japan.md §1) are all here:
issuer name and registration number (T + 13 digits), transaction date or period,
what was supplied, the total per tax rate with the rate, the tax per rate, and the
recipient ("○○株式会社 御中"). A credit note also names the invoices (and periods)
it returns. Formatting follows japan.md §3: ``¥1,234`` / ``-¥1,234``,
``2026年11月22日``, periods ``2026年6月18日～2026年7月17日``.

Pure: the PDF adapter only places these strings on a page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from fractions import Fraction

from .billing import DocumentKind, TaxSummary
from .money import format_yen
from .subscription import LineKind

TITLES = {DocumentKind.INVOICE: "請求書", DocumentKind.CREDIT_NOTE: "適格返還請求書"}

KIND_LABELS = {
    LineKind.NEW: "新規",
    LineKind.CYCLE: "ご利用料金",
    LineKind.ADD_QUANTITY: "数量追加",
    LineKind.REMOVE_QUANTITY: "数量減少",
    LineKind.RENEW: "更新",
    LineKind.CANCEL: "解約返金",
    LineKind.EARLY_TERMINATION: "中途解約金",
    LineKind.ADJUSTMENT: "数量変更調整",
}

HONORIFIC = "御中"
UNIT = "ライセンス"


@dataclass(frozen=True)
class Issuer:
    """The reseller as it must appear on a qualified invoice."""

    name: str
    address: str
    registration_number: str  # T + 13 digits, checked by the settings
    bank: str


@dataclass(frozen=True)
class LineFacts:
    """One document line as stored, with the name of what was supplied."""

    item: str  # offer name (or the subscription ref when unknown)
    kind: LineKind
    quantity: int
    unit_amount: int
    amount: int
    period_start: date | None
    period_end: date | None


@dataclass(frozen=True)
class OriginalInvoice:
    """An invoice a credit note returns part of (適格返還請求書: the date of the original sale)."""

    number: str
    issue_date: date
    period_start: date | None
    period_end: date | None


@dataclass(frozen=True)
class DocumentFacts:
    kind: DocumentKind
    number: str
    issue_date: date
    due_date: date | None
    recipient: str
    lines: Sequence[LineFacts]
    taxes: Sequence[TaxSummary]
    total: int
    originals: Sequence[OriginalInvoice] = ()
    void_reason: str | None = None
    replaces: str | None = None  # the void document this one re-issues


@dataclass(frozen=True)
class SheetLine:
    description: str
    period: str
    quantity: str
    unit_amount: str
    amount: str


@dataclass(frozen=True)
class RateRow:
    label: str  # 10%対象
    net: str
    tax_label: str  # 消費税（10%）
    tax: str


@dataclass(frozen=True)
class Sheet:
    title: str
    number: str
    issue_date: str
    due_date: str | None
    recipient: str
    greeting: str
    issuer: Issuer
    lines: list[SheetLine]
    rate_rows: list[RateRow]
    total_label: str
    total: str
    references: list[str]
    bank: str | None
    void_note: str | None


def jp_date(d: date) -> str:
    """``2026年11月22日`` (西暦, no zero padding)."""
    return f"{d.year}年{d.month}月{d.day}日"


def jp_period(start: date | None, end: date | None) -> str:
    """``2026年6月18日～2026年7月17日``; one open end prints that end alone; none → empty."""
    if start and end:
        return f"{jp_date(start)}～{jp_date(end)}"
    if start:
        return f"{jp_date(start)}～"
    return f"～{jp_date(end)}" if end else ""


def rate_percent(rate: Fraction) -> str:
    pct = rate * 100
    return str(pct.numerator) if pct.denominator == 1 else f"{float(pct):g}"


def recipient_line(name: str) -> str:
    """The customer as addressee: ``株式会社アクメ 御中`` (never combined with 様)."""
    return f"{name.strip()} {HONORIFIC}"


def build_sheet(doc: DocumentFacts, issuer: Issuer) -> Sheet:
    invoice = doc.kind is DocumentKind.INVOICE
    return Sheet(
        title=TITLES[doc.kind],
        number=doc.number,
        issue_date=jp_date(doc.issue_date),
        due_date=jp_date(doc.due_date) if invoice and doc.due_date else None,
        recipient=recipient_line(doc.recipient),
        greeting="下記のとおりご請求申し上げます。" if invoice else "下記のとおり返還いたします。",
        issuer=issuer,
        lines=[_line(line) for line in doc.lines],
        rate_rows=[_rate_row(t) for t in doc.taxes],
        total_label="ご請求金額（税込）" if invoice else "返還金額（税込）",
        total=format_yen(doc.total),
        references=[_reference(o) for o in doc.originals]
        + ([f"本書は {doc.replaces}（無効）に代えて再発行したものです。"] if doc.replaces else []),
        bank=issuer.bank if invoice else None,
        void_note=f"この書類は無効です（取消理由: {doc.void_reason}）" if doc.void_reason else None,
    )


def _line(line: LineFacts) -> SheetLine:
    return SheetLine(
        description=f"{line.item}（{KIND_LABELS[line.kind]}）",
        period=jp_period(line.period_start, line.period_end),
        quantity=f"{line.quantity:,} {UNIT}",
        unit_amount=format_yen(line.unit_amount),
        amount=format_yen(line.amount),
    )


def _rate_row(tax: TaxSummary) -> RateRow:
    pct = rate_percent(tax.rate)
    return RateRow(f"{pct}%対象", format_yen(tax.net), f"消費税（{pct}%）", format_yen(tax.tax))


def _reference(original: OriginalInvoice) -> str:
    period = jp_period(original.period_start, original.period_end)
    sold = f"取引期間 {period}" if period else f"取引日 {jp_date(original.issue_date)}"
    return f"対象請求書 {original.number}（発行日 {jp_date(original.issue_date)}、{sold}）"
