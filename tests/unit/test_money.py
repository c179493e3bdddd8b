"""Unit tests for licensedesk.domain.money (POLICIES.md §0 Money / Tax, japan.md §1 Tax rounding)."""

from __future__ import annotations

import math
import random
from fractions import Fraction

import pytest

from licensedesk.domain.money import (
    REDUCED_TAX_RATE,
    STANDARD_TAX_RATE,
    format_yen,
    prorate,
    scale,
    tax_by_rate,
    tax_on,
    toward_zero,
)

TEN = Fraction(10, 100)
EIGHT = Fraction(8, 100)


def test_tax_rates() -> None:
    # given the module constants, then they are exact fractions: 10 % standard, 8 % reduced
    standard, reduced = STANDARD_TAX_RATE, REDUCED_TAX_RATE
    assert standard == Fraction(1, 10)
    assert reduced == Fraction(2, 25)


# ---------------------------------------------------------------------------
# prorate = floor(unit_price × billing_days / cycle_days)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("price", "days", "cycle", "expected"),
    [
        # the spec's cycle [06-18, 07-17] (30 days), event on 06-20 → 28 days
        (5434, 28, 30, 5071),  # 5071.73… → 5071
        # floors, never rounds half-up
        (100, 2, 3, 66),  # 66.67 → 66 (rounding would give 67)
        (200, 2, 3, 133),  # 133.33 → 133
        (100, 1, 3, 33),
        (999, 29, 30, 965),  # 965.7 → 965
        (1, 29, 30, 0),  # 0.97 → 0
        (1, 30, 30, 1),
        (1234, 15, 31, 597),  # 597.09… → 597
        (1234, 16, 31, 636),  # 636.90… → 636
        (2750, 14, 28, 1375),  # exact half: no rounding issue
        (2750, 1, 28, 98),  # 98.21 → 98
        (35000, 183, 365, 17547),  # 17547.94… → 17547
        (35000, 184, 366, 17595),  # 17595.62… → 17595
        # zero days
        (5434, 0, 30, 0),
        (0, 15, 30, 0),
        # full cycle returns the price
        (5434, 30, 30, 5434),
        (5434, 31, 31, 5434),
        (5434, 28, 28, 5434),
        (1, 1, 1, 1),
        (312000, 365, 365, 312000),
    ],
)
def test_prorate(price: int, days: int, cycle: int, expected: int) -> None:
    assert prorate(price, days, cycle) == expected


def test_prorate_returns_int() -> None:
    result = prorate(5434, 28, 30)
    assert type(result) is int


def test_prorate_credit_is_negated_positive_amount() -> None:
    # credits: compute the positive amount, then negate (not floor of the negative, which would be −5072)
    assert -prorate(5434, 28, 30) == -5071


def test_prorate_floors_per_unit_then_multiplies_by_quantity() -> None:
    # given 3 seats at 5434 over 28 of 30 days, the amount is floor per unit × quantity
    unit_amount = prorate(5434, 28, 30)
    assert unit_amount * 3 == 15213
    # which differs from flooring the whole line once (floor(16302 × 28/30) = 15215)
    assert prorate(5434 * 3, 28, 30) == 15215


@pytest.mark.parametrize(
    ("price", "days", "cycle"),
    [
        (5434, 28, 0),  # empty cycle
        (5434, 0, 0),
        (5434, 1, -30),
        (5434, 31, 30),  # more billing days than the cycle has
        (5434, -1, 30),  # negative days
        (-5434, 28, 30),  # negative price: prorate the positive amount, then negate
        (-1, 0, 30),
    ],
)
def test_prorate_refuses_bad_input(price: int, days: int, cycle: int) -> None:
    with pytest.raises(ValueError):
        prorate(price, days, cycle)


@pytest.mark.parametrize(("price", "days", "cycle"), [(5434.0, 28, 30), (5434, 28.0, 30), (5434, 28, 30.0)])
def test_prorate_refuses_floats(price: float, days: float, cycle: float) -> None:
    # money is integer JPY and exact: floats must not slip through
    with pytest.raises((TypeError, ValueError)):
        prorate(price, days, cycle)  # type: ignore[arg-type]


def test_prorate_matches_integer_floor_division_seeded() -> None:
    rng = random.Random(5434)
    for _ in range(5000):
        cycle = rng.randint(1, 1096)
        days = rng.randint(0, cycle)
        price = rng.randint(0, 10_000_000)
        got = prorate(price, days, cycle)
        assert got == price * days // cycle
        assert got <= Fraction(price * days, cycle) < got + 1


# ---------------------------------------------------------------------------
# scale / toward_zero
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("price", "factor", "expected"),
    [
        (12000, Fraction(11, 12), 11000),
        (1000, Fraction(1, 3), 333),
        (1000, Fraction(2, 3), 666),
        (1000, Fraction(0), 0),
        (1000, Fraction(1), 1000),
    ],
)
def test_scale_floors_once(price: int, factor: Fraction, expected: int) -> None:
    assert scale(price, factor) == expected


@pytest.mark.parametrize(("price", "factor"), [(-1, Fraction(1, 2)), (100, Fraction(-1, 2))])
def test_scale_refuses_negative(price: int, factor: Fraction) -> None:
    with pytest.raises(ValueError):
        scale(price, factor)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Fraction(59, 10), 5),
        (Fraction(-59, 10), -5),
        (Fraction(1, 10), 0),
        (Fraction(-1, 10), 0),
        (Fraction(5), 5),
        (Fraction(-5), -5),
        (Fraction(0), 0),
    ],
)
def test_toward_zero(value: Fraction, expected: int) -> None:
    assert toward_zero(value) == expected


# ---------------------------------------------------------------------------
# tax_on: once per document per rate, toward zero
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("net", "expected"),
    [
        (58680, 5868),
        (5071, 507),  # 507.1 → 507
        (5079, 507),  # 507.9 → 507 (not rounded up)
        (19, 1),
        (9, 0),
        (1, 0),
        (0, 0),
        (312000, 31200),
        # credit notes: toward zero, so the magnitude matches the invoice's tax
        (-58680, -5868),
        (-1, 0),
        (-9, 0),
        (-19, -1),  # −1.9 → −1 (floor would give −2)
        (-5079, -507),
        (-5071, -507),
    ],
)
def test_tax_on_standard_rate(net: int, expected: int) -> None:
    assert tax_on(net) == expected


def test_tax_on_credit_mirrors_invoice_seeded() -> None:
    rng = random.Random(10)
    for _ in range(2000):
        net = rng.randint(0, 10_000_000)
        assert tax_on(-net) == -tax_on(net)
        assert tax_on(net) == net // 10


def test_tax_on_in_integers_is_the_exact_product_truncated() -> None:
    rng = random.Random(11)
    for rate in (STANDARD_TAX_RATE, REDUCED_TAX_RATE, Fraction(1, 3), Fraction(0), Fraction(-1, 10)):
        for _ in range(500):
            net = rng.randint(-10_000_000, 10_000_000)
            assert tax_on(net, rate) == math.trunc(Fraction(net) * rate)


@pytest.mark.parametrize(
    ("net", "expected"),
    [(1000, 80), (1012, 80), (1013, 81), (-1013, -81), (-1012, -80), (12, 0), (-12, 0)],
)
def test_tax_on_reduced_rate(net: int, expected: int) -> None:
    assert tax_on(net, REDUCED_TAX_RATE) == expected


def test_tax_on_returns_int() -> None:
    assert type(tax_on(-58680)) is int


# ---------------------------------------------------------------------------
# tax_by_rate: group per rate, round once per rate
# ---------------------------------------------------------------------------


def test_tax_by_rate_rounds_once_per_document_not_per_line() -> None:
    # given two lines of ¥105 at 10 %
    lines = [(TEN, 105), (TEN, 105)]
    # when taxed per document
    result = tax_by_rate(lines)
    # then tax is floor(210 × 10 %) = 21, whereas per-line rounding would give 10 + 10 = 20
    assert result == {TEN: (210, 21)}
    assert sum(tax_on(amount, rate) for rate, amount in lines) == 20


def test_tax_by_rate_groups_per_rate() -> None:
    # given lines at 10 % and 8 %, interleaved
    lines = [(TEN, 105), (EIGHT, 120), (TEN, 105), (EIGHT, 120), (TEN, 5071)]
    # then each rate is summed and taxed once
    assert tax_by_rate(lines) == {
        TEN: (5281, 528),  # 528.1 → 528 (per line: 10 + 10 + 507 = 527)
        EIGHT: (240, 19),  # 19.2 → 19 (per line: 9 + 9 = 18)
    }


def test_tax_by_rate_credit_note() -> None:
    # a credit note computes its own tax the same way: on the (negative) sum, toward zero
    assert tax_by_rate([(TEN, -5071), (TEN, -5071), (TEN, -19)]) == {TEN: (-10161, -1016)}
    assert tax_by_rate([(TEN, -58680)]) == {TEN: (-58680, -5868)}
    assert tax_by_rate([(TEN, -1)]) == {TEN: (-1, 0)}


def test_tax_by_rate_mixed_signs_net_within_a_rate() -> None:
    # a combined invoice/credit document: the net per rate is taxed once
    assert tax_by_rate([(TEN, 1000), (TEN, -15)]) == {TEN: (985, 98)}
    assert tax_by_rate([(TEN, 100), (TEN, -100)]) == {TEN: (0, 0)}


def test_tax_by_rate_empty() -> None:
    assert tax_by_rate([]) == {}


def test_tax_by_rate_accepts_any_iterable() -> None:
    assert tax_by_rate(iter([(TEN, 58680)])) == {TEN: (58680, 5868)}


def test_tax_by_rate_equal_rates_spelled_differently_are_one_group() -> None:
    # Fraction(10, 100) and Fraction(1, 10) are the same rate
    assert tax_by_rate([(Fraction(10, 100), 105), (Fraction(1, 10), 105)]) == {TEN: (210, 21)}


# ---------------------------------------------------------------------------
# format_yen
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (0, "¥0"),
        (1, "¥1"),
        (999, "¥999"),
        (1000, "¥1,000"),
        (1234, "¥1,234"),
        (312000, "¥312,000"),
        (1234567, "¥1,234,567"),
        (-1, "-¥1"),
        (-1000, "-¥1,000"),
        (-58680, "-¥58,680"),
        (-1234567, "-¥1,234,567"),
    ],
)
def test_format_yen(amount: int, text: str) -> None:
    assert format_yen(amount) == text


def test_format_yen_uses_u00a5() -> None:
    assert format_yen(1)[0] == "\u00a5"
    assert "\\" not in format_yen(1) and "\uffe5" not in format_yen(1)
