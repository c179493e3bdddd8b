"""Partner Center license-based price list → reseller price list (domain/pricelist.py)."""

from __future__ import annotations

from datetime import date
from fractions import Fraction
from pathlib import Path

import pytest

from licensedesk.domain.calendar import Billing, Term
from licensedesk.domain.errors import InvalidInput
from licensedesk.domain.pricelist import (
    ERROR_CODE,
    MAX_REPORTED_ERRORS,
    PriceList,
    PricingRule,
    parse_price_list,
)

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "pricelist_sample.csv"

HEADER = (
    "ProductTitle,ProductId,SkuId,SkuTitle,Publisher,SkuDescription,UnitOfMeasure,TermDuration,BillingPlan,"
    "Market,Currency,UnitPrice,PricingTierRangeMin,PricingTierRangeMax,EffectiveStartDate,EffectiveEndDate,"
    "Tags,ERP Price,Segment"
)
E3_ANNUAL = (
    "Microsoft 365 E3,CFQ7TTC0LFLZ,0002,Microsoft 365 E3,Microsoft Corporation,Microsoft 365 E3,1 License,"
    "P1Y,Annual,JP,JPY,62112,0,,2026-11-01,2026-11-30,License,69012,Commercial"
)
E3_MONTHLY = (
    "Microsoft 365 E3,CFQ7TTC0LFLZ,0002,Microsoft 365 E3,Microsoft Corporation,Microsoft 365 E3,1 License,"
    "P1Y,Monthly,JP,JPY,5434,0,,2026-11-01,2026-11-30,License,6038,Commercial"
)
BASIC_P1M = (
    "Microsoft 365 Business Basic,CFQ7TTC0LH18,0001,Microsoft 365 Business Basic,Microsoft Corporation,"
    "Microsoft 365 Business Basic,1 License,P1M,Monthly,JP,JPY,823.20,0,,2026-11-01,2026-11-30,License,914.67,"
    "Commercial"
)
E3_US = (
    "Microsoft 365 E3,CFQ7TTC0LFLZ,0002,Microsoft 365 E3,Microsoft Corporation,Microsoft 365 E3,1 License,"
    "P1Y,Annual,US,USD,432.00,0,,2026-11-01,2026-11-30,License,432.00,Commercial"
)
COLUMNS = HEADER.split(",")


def csv_text(*rows: str, header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


def with_value(row: str, column: str, value: str) -> str:
    """``row`` with one column (by its name in HEADER) replaced."""
    fields = row.split(",")
    fields[COLUMNS.index(column)] = value
    return ",".join(fields)


def rejected(text: str, rule: PricingRule | None = None) -> InvalidInput:
    with pytest.raises(InvalidInput) as info:
        parse_price_list(text, rule or PricingRule.erp())
    assert info.value.code == ERROR_CODE
    return info.value


# --- happy paths -----------------------------------------------------------------------------------------


def test_erp_rule_takes_the_erp_price_and_keeps_the_exact_cost() -> None:
    result = parse_price_list(csv_text(E3_ANNUAL, E3_MONTHLY, BASIC_P1M), PricingRule.erp())

    assert isinstance(result, PriceList)
    annual, monthly, basic = result.entries
    assert annual.offer_id == "CFQ7TTC0LFLZ:0002"
    assert (annual.product_id, annual.sku_id, annual.name) == ("CFQ7TTC0LFLZ", "0002", "Microsoft 365 E3")
    assert (annual.term, annual.billing) == (Term.P1Y, Billing.ANNUAL)
    assert (annual.unit_price, annual.cost, annual.erp) == (69012, Fraction(62112), Fraction(69012))
    assert (annual.effective_start, annual.effective_end) == (date(2026, 11, 1), date(2026, 11, 30))
    assert annual.segment == "Commercial"
    assert (monthly.term, monthly.billing, monthly.unit_price) == (Term.P1Y, Billing.MONTHLY, 6038)
    assert (basic.term, basic.unit_price, basic.cost) == (Term.P1M, 914, Fraction("823.20"))
    assert [e.line for e in result.entries] == [2, 3, 4]
    assert (result.skipped_market, result.skipped_unsupported) == (0, 0)


def test_cost_plus_rule_adds_the_margin_to_the_unit_price_and_floors_once() -> None:
    result = parse_price_list(csv_text(E3_MONTHLY, BASIC_P1M), PricingRule.cost_plus(15))

    monthly, basic = result.entries
    assert monthly.unit_price == 6249  # 5434 × 1.15 = 6249.1
    assert basic.unit_price == 946  # 823.20 × 1.15 = 946.68
    assert monthly.erp == Fraction(6038)


def test_decimals_are_exact_and_rounded_down_once_after_the_rule() -> None:
    row = with_value(with_value(E3_MONTHLY, "UnitPrice", "1234.56"), "ERP Price", "1399.99")

    cost_plus = parse_price_list(csv_text(row), PricingRule.cost_plus(Fraction(25, 2))).entries[0]
    erp = parse_price_list(csv_text(row), PricingRule.erp()).entries[0]

    assert cost_plus.cost == Fraction(123456, 100)
    assert cost_plus.unit_price == 1388  # 1234.56 × 1.125 = 1388.88 → 1388, not 1389
    assert erp.unit_price == 1399
    assert erp.erp == Fraction(139999, 100)


def test_margin_on_a_price_that_lands_on_a_whole_yen_is_not_shaved() -> None:
    row = with_value(E3_MONTHLY, "UnitPrice", "1000")

    assert parse_price_list(csv_text(row), PricingRule.cost_plus(10)).entries[0].unit_price == 1100


def test_the_sample_file_keeps_jp_jpy_rows_and_counts_the_rest() -> None:
    result = parse_price_list(SAMPLE.read_text(encoding="utf-8"), PricingRule.cost_plus(10))

    assert len(result.entries) == 8
    assert (result.skipped_market, result.skipped_unsupported) == (3, 1)
    assert {(e.term, e.billing) for e in result.entries if e.offer_id == "CFQ7TTC0LFLZ:0002"} == {
        (Term.P1Y, Billing.ANNUAL), (Term.P1Y, Billing.MONTHLY), (Term.P1M, Billing.MONTHLY),
        (Term.P3Y, Billing.TRIENNIAL),
    }


# --- filtering -------------------------------------------------------------------------------------------


def test_other_markets_and_currencies_are_skipped_and_counted() -> None:
    jp_in_usd = with_value(E3_ANNUAL, "Currency", "USD")
    text = csv_text(E3_US, E3_ANNUAL, jp_in_usd, E3_MONTHLY)

    result = parse_price_list(text, PricingRule.erp())

    assert [e.line for e in result.entries] == [3, 5]
    assert result.skipped_market == 2


def test_a_bad_row_of_another_market_is_skipped_not_refused() -> None:
    broken_us = with_value(E3_US, "UnitPrice", "n/a")

    result = parse_price_list(csv_text(broken_us, E3_ANNUAL), PricingRule.erp())

    assert (len(result.entries), result.skipped_market) == (1, 1)


def test_one_time_and_none_billing_plans_are_skipped_as_unsupported() -> None:
    perpetual = with_value(with_value(E3_ANNUAL, "BillingPlan", "OneTime"), "TermDuration", "")
    trial = with_value(E3_ANNUAL, "BillingPlan", "None")

    result = parse_price_list(csv_text(perpetual, trial, E3_MONTHLY), PricingRule.erp())

    assert [e.line for e in result.entries] == [4]
    assert (result.skipped_market, result.skipped_unsupported) == (0, 2)


# --- reading the text ------------------------------------------------------------------------------------


def test_a_utf8_bom_before_the_header_is_ignored() -> None:
    result = parse_price_list("\ufeff" + csv_text(E3_ANNUAL), PricingRule.erp())

    assert result.entries[0].product_id == "CFQ7TTC0LFLZ"


def test_headers_match_ignoring_case_spaces_and_order() -> None:
    header = (
        "erpprice, PRODUCTTITLE ,Product Id,skuid,Sku Title,term duration,billingplan,MARKET,currency,"
        "Unit Price,effectivestartdate,Effective End Date,SEGMENT,SomeNewColumn"
    )
    row = "6038,Microsoft 365 E3,CFQ7TTC0LFLZ,0002,Microsoft 365 E3,P1Y,monthly,jp,jpy,5434,2026-11-01,2026-11-30,,x"

    entry = parse_price_list(csv_text(row, header=header), PricingRule.erp()).entries[0]

    assert (entry.offer_id, entry.billing, entry.unit_price) == ("CFQ7TTC0LFLZ:0002", Billing.MONTHLY, 6038)
    assert entry.segment == "Commercial"


def test_segment_column_is_optional_and_erp_is_only_needed_by_the_erp_rule() -> None:
    header = HEADER.replace(",ERP Price,Segment", "")
    row = E3_ANNUAL.removesuffix(",69012,Commercial")

    entry = parse_price_list(csv_text(row, header=header), PricingRule.cost_plus(0)).entries[0]

    assert (entry.unit_price, entry.erp, entry.segment) == (62112, None, "Commercial")
    error = rejected(csv_text(row, header=header), PricingRule.erp())
    assert error.details["errors"] == [
        {"line": 1, "column": "ERP Price", "reason": "missing column", "reason_ja": "列がありません"}
    ]


def test_dates_in_iso_with_time_and_in_month_day_year() -> None:
    iso_time = with_value(with_value(E3_ANNUAL, "EffectiveStartDate", "2026-11-01T00:00:00Z"),
                          "EffectiveEndDate", "2026-11-30T23:59:59.9999999Z")
    us = with_value(with_value(E3_MONTHLY, "EffectiveStartDate", "11/1/2026"),
                    "EffectiveEndDate", "12/31/9999 12:00:00 AM")

    first, second = parse_price_list(csv_text(iso_time, us), PricingRule.erp()).entries

    assert (first.effective_start, first.effective_end) == (date(2026, 11, 1), date(2026, 11, 30))
    assert (second.effective_start, second.effective_end) == (date(2026, 11, 1), date(9999, 12, 31))


def test_line_numbers_are_physical_lines_with_crlf_blank_lines_and_quoted_newlines() -> None:
    multiline = with_value(E3_MONTHLY, "SkuDescription", '"Microsoft 365 E3\r\nper user"')
    text = "\r\n".join([HEADER, E3_ANNUAL, "", multiline, BASIC_P1M, ""])

    result = parse_price_list(text, PricingRule.erp())

    assert [e.line for e in result.entries] == [2, 4, 6]


def test_name_is_the_sku_title_when_it_names_the_product_else_both() -> None:
    no_teams = with_value(E3_ANNUAL, "SkuTitle", "Microsoft 365 E3 (no Teams)")
    other = with_value(with_value(E3_MONTHLY, "SkuTitle", "Audio Conferencing add-on"), "SkuId", "0003")
    empty = with_value(BASIC_P1M, "SkuTitle", "")

    names = [e.name for e in parse_price_list(csv_text(no_teams, other, empty), PricingRule.erp()).entries]

    assert names == [
        "Microsoft 365 E3 (no Teams)",
        "Microsoft 365 E3 – Audio Conferencing add-on",
        "Microsoft 365 Business Basic",
    ]


# --- refusals --------------------------------------------------------------------------------------------


def test_a_missing_required_column_is_named_before_any_row_is_read() -> None:
    header = HEADER.replace("UnitPrice,", "")
    rows = [E3_ANNUAL.replace(",62112,", ","), "garbage,,,"]

    error = rejected(csv_text(*rows, header=header))

    assert "UnitPrice" in error.message_en and "UnitPrice" in error.message_ja
    assert [e["column"] for e in error.details["errors"]] == ["UnitPrice"]


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("SkuId", "", "missing value"),
        ("ProductTitle", "", "missing value"),
        ("Market", "", "missing value"),
        ("TermDuration", "P2Y", "unknown term: 'P2Y'"),
        ("TermDuration", "", "missing value"),
        ("BillingPlan", "Weekly", "unknown billing plan: 'Weekly'"),
        ("BillingPlan", "Triennial", "Triennial billing is not offered for P1Y"),
        ("UnitPrice", "abc", "not a number: 'abc'"),
        ("UnitPrice", "1e3", "not a number: '1e3'"),
        ("UnitPrice", "-5434", "negative price: -5434"),
        ("ERP Price", "", "missing value"),
        ("ERP Price", "six thousand", "not a number: 'six thousand'"),
        ("EffectiveStartDate", "2026-13-01", "not a date: '2026-13-01'"),
        ("EffectiveEndDate", "2026-10-31", "ends (2026-10-31) before it starts (2026-11-01)"),
    ],
)
def test_each_kind_of_bad_row_is_reported_with_its_line_and_column(column: str, value: str, reason: str) -> None:
    bad = with_value(E3_MONTHLY, column, value)

    error = rejected(csv_text(E3_ANNUAL, bad))

    assert error.details["errors"][0] == {
        "line": 3, "column": column, "reason": reason, "reason_ja": error.details["errors"][0]["reason_ja"],
    }
    assert "line 3" in error.message_en and "3 行目" in error.message_ja


def test_a_row_with_more_fields_than_the_header_is_refused_whatever_its_market() -> None:
    shifted = E3_US.replace(",432.00,0,", ",4,32.00,0,")  # an unquoted thousands separator shifts the columns

    error = rejected(csv_text(E3_ANNUAL, shifted))

    assert error.details["errors"][0]["line"] == 3
    assert error.details["errors"][0]["reason"] == "20 fields but the header has 19"


def test_one_bad_row_among_good_ones_rejects_the_whole_file() -> None:
    bad = with_value(BASIC_P1M, "UnitPrice", "8,23")

    error = rejected(csv_text(E3_ANNUAL, E3_MONTHLY, bad, E3_US), PricingRule.cost_plus(10))

    assert [e["line"] for e in error.details["errors"]] == [4]
    assert "nothing imported" in error.message_en


def test_every_bad_value_of_every_row_is_listed_in_file_order() -> None:
    first = with_value(with_value(E3_ANNUAL, "TermDuration", "P5Y"), "UnitPrice", "x")
    second = with_value(E3_MONTHLY, "EffectiveStartDate", "tomorrow")

    error = rejected(csv_text(first, BASIC_P1M, second))

    assert [(e["line"], e["column"]) for e in error.details["errors"]] == [
        (2, "TermDuration"), (2, "UnitPrice"), (4, "EffectiveStartDate"),
    ]
    assert "line 2, TermDuration" in error.message_en and "3 errors in total" in error.message_en


def test_at_most_fifty_errors_are_listed_but_all_are_counted() -> None:
    bad = with_value(E3_ANNUAL, "UnitPrice", "?")

    error = rejected(csv_text(*[bad] * 60))

    assert len(error.details["errors"]) == MAX_REPORTED_ERRORS
    assert "60 errors in total" in error.message_en


def test_a_duplicate_offer_term_billing_segment_and_start_is_refused_at_the_second_line() -> None:
    again = with_value(E3_ANNUAL, "UnitPrice", "60000")

    error = rejected(csv_text(E3_ANNUAL, E3_MONTHLY, again))

    (problem,) = error.details["errors"]
    assert (problem["line"], problem["column"]) == (4, "(row)")
    assert problem["reason"].startswith("duplicate of line 2")


def test_same_offer_in_another_segment_or_from_another_date_is_not_a_duplicate() -> None:
    education = with_value(E3_ANNUAL, "Segment", "Education")
    next_month = with_value(with_value(E3_ANNUAL, "EffectiveStartDate", "2026-12-01"),
                            "EffectiveEndDate", "2026-12-31")

    result = parse_price_list(csv_text(E3_ANNUAL, education, next_month), PricingRule.erp())

    assert [e.segment for e in result.entries] == ["Commercial", "Education", "Commercial"]


@pytest.mark.parametrize(
    "text",
    ["", "\ufeff", "\n\n", csv_text(), csv_text(E3_US)],
    ids=["empty", "bom-only", "blank-lines", "header-only", "no-jp-rows"],
)
def test_a_file_without_kept_rows_is_refused(text: str) -> None:
    error = rejected(text)

    assert len(error.details["errors"]) == 1


# --- the pricing rule ------------------------------------------------------------------------------------


def test_a_negative_margin_or_an_erp_rule_with_a_margin_is_refused() -> None:
    with pytest.raises(InvalidInput):
        PricingRule.cost_plus(-5)
    with pytest.raises(InvalidInput):
        PricingRule(PricingRule.erp().kind, Fraction(10))
