"""What a printed invoice or credit note says: qualified-invoice fields, Japanese formatting (japan.md §1, §3)."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

from licensedesk.domain.billing import DocumentKind, TaxSummary
from licensedesk.domain.invoice_sheet import (
    DocumentFacts,
    Issuer,
    LineFacts,
    OriginalInvoice,
    build_sheet,
    jp_date,
    jp_period,
)
from licensedesk.domain.money import format_yen
from licensedesk.domain.subscription import LineKind

ISSUER = Issuer("ライセンスデスク株式会社", "〒100-0005 東京都千代田区丸の内1-1-1", "T7010001008844",
                "みずほ銀行 本店 普通 1234567")


def _invoice(**overrides: object) -> DocumentFacts:
    facts = {
        "kind": DocumentKind.INVOICE, "number": "INV-2026-000001", "issue_date": date(2026, 6, 18),
        "due_date": date(2026, 7, 31), "recipient": "株式会社アクメ",
        "lines": [LineFacts("Microsoft 365 E3", LineKind.CYCLE, 10, 5434, 54340, date(2026, 6, 18),
                            date(2026, 7, 17))],
        "taxes": [TaxSummary(Fraction(1, 10), 54340, 5434)], "total": 59774,
    }
    facts.update(overrides)
    return DocumentFacts(**facts)  # type: ignore[arg-type]


def test_dates_periods_and_yen_are_written_the_japanese_way() -> None:
    assert jp_date(date(2026, 11, 22)) == "2026年11月22日"
    assert jp_date(date(2026, 1, 5)) == "2026年1月5日"  # no zero padding
    assert jp_period(date(2026, 6, 18), date(2026, 7, 17)) == "2026年6月18日～2026年7月17日"
    assert jp_period(None, None) == ""
    assert format_yen(1234) == "¥1,234" and format_yen(-1234) == "-¥1,234"


def test_an_invoice_carries_every_qualified_invoice_field() -> None:
    sheet = build_sheet(_invoice(), ISSUER)
    assert sheet.title == "請求書"
    assert sheet.recipient == "株式会社アクメ 御中"
    assert sheet.issuer.registration_number == "T7010001008844"
    assert (sheet.issue_date, sheet.due_date) == ("2026年6月18日", "2026年7月31日")
    line = sheet.lines[0]
    assert line.description == "Microsoft 365 E3（ご利用料金）"
    assert line.period == "2026年6月18日～2026年7月17日"
    assert (line.quantity, line.unit_amount, line.amount) == ("10 ライセンス", "¥5,434", "¥54,340")
    rate = sheet.rate_rows[0]
    assert (rate.label, rate.net, rate.tax_label, rate.tax) == ("10%対象", "¥54,340", "消費税（10%）", "¥5,434")
    assert sheet.total == "¥59,774" and sheet.bank == ISSUER.bank
    assert sheet.void_note is None and sheet.references == []


def test_a_credit_note_names_the_invoice_and_period_it_returns() -> None:
    facts = _invoice(
        kind=DocumentKind.CREDIT_NOTE, number="CN-2026-000001", issue_date=date(2026, 6, 21), due_date=None,
        lines=[LineFacts("Microsoft 365 E3", LineKind.CANCEL, 12, -4890, -58680, date(2026, 6, 21),
                         date(2026, 7, 17))],
        taxes=[TaxSummary(Fraction(1, 10), -58680, -5868)], total=-64548,
        originals=[OriginalInvoice("INV-2026-000001", date(2026, 6, 18), date(2026, 6, 18), date(2026, 7, 17))])
    sheet = build_sheet(facts, ISSUER)
    assert sheet.title == "適格返還請求書"
    assert sheet.due_date is None and sheet.bank is None
    assert sheet.lines[0].amount == "-¥58,680" and sheet.total == "-¥64,548"
    assert sheet.references == ["対象請求書 INV-2026-000001（発行日 2026年6月18日、取引期間 2026年6月18日～2026年7月17日）"]


def test_a_void_document_prints_with_its_reason() -> None:
    sheet = build_sheet(_invoice(void_reason="宛名誤り"), ISSUER)
    assert sheet.void_note == "この書類は無効です（取消理由: 宛名誤り）"


def test_a_reissued_document_says_which_void_one_it_replaces() -> None:
    sheet = build_sheet(_invoice(number="INV-2026-000002", replaces="INV-2026-000001"), ISSUER)
    assert sheet.references == ["本書は INV-2026-000001（無効）に代えて再発行したものです。"]
