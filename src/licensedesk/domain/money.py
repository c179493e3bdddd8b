"""Exact money (POLICIES.md §0): integer yen, ``Fraction`` proration rounded once.

* Proration is rounded **once per unit, down**:
  ``unit_amount = floor(unit_price × billing_days / cycle_days)``, then
  ``amount = unit_amount × quantity`` (Microsoft's reconciliation formula).
  Credits are the same positive amount, negated.
* Consumption tax is computed **once per document per rate** on the sum of
  that rate's lines, rounded toward zero (qualified-invoice rule).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from fractions import Fraction
from operator import itemgetter
from typing import Any

Yen = int
"""An amount of Japanese yen. JPY has no minor unit."""

STANDARD_TAX_RATE = Fraction(10, 100)
REDUCED_TAX_RATE = Fraction(8, 100)


def prorate(unit_price: Yen, billing_days: int, cycle_days: int) -> Yen:
    """``floor(unit_price × billing_days / cycle_days)`` for a non-negative price."""
    if cycle_days <= 0:
        raise ValueError("cycle_days must be positive")
    if not 0 <= billing_days <= cycle_days:
        raise ValueError(f"billing_days {billing_days} outside 0…{cycle_days}")
    if unit_price < 0:
        raise ValueError("prorate a positive price, then negate the result for a credit")
    return math.floor(Fraction(unit_price * billing_days, cycle_days))


def scale(unit_price: Yen, factor: Fraction) -> Yen:
    """``floor(unit_price × factor)`` for a non-negative price and factor (one rounding)."""
    if unit_price < 0 or factor < 0:
        raise ValueError("scale positive amounts, then negate")
    return math.floor(unit_price * factor)


def toward_zero(value: Fraction) -> Yen:
    """Round toward zero: 5.9 → 5, −5.9 → −5."""
    return math.trunc(value)


def tax_on(net_total: Yen, rate: Fraction = STANDARD_TAX_RATE) -> Yen:
    """Consumption tax on one rate's net total of a document, rounded toward zero.

    ``trunc(net_total × rate)``, in integers: the magnitude rounded down, then the sign put back."""
    if rate < 0:
        return toward_zero(Fraction(net_total) * rate)
    tax = abs(net_total) * rate.numerator // rate.denominator
    return tax if net_total >= 0 else -tax


def tax_by_rate(lines: Iterable[tuple[Fraction, Yen]]) -> dict[Fraction, tuple[Yen, Yen]]:
    """Group ``(rate, amount)`` pairs and tax each group once: ``{rate: (net, tax)}``."""
    return {rate: (net, tax) for rate, net, tax in tax_per_rate(lines)}


def tax_per_rate(lines: Iterable[tuple[Fraction, Yen]]) -> list[tuple[Fraction, Yen, Yen]]:
    """``tax_by_rate`` as ``(rate, net, tax)`` in rate order, with no Fraction hashed (``Fraction.__hash__`` is
    slow Python, and a document has one or two rates)."""
    groups: list[list[Any]] = []  # [rate, net]
    for rate, amount in lines:
        for group in groups:
            if group[0] is rate or group[0] == rate:
                group[1] += amount
                break
        else:
            groups.append([rate, amount])
    return sorted([(rate, net, tax_on(net, rate)) for rate, net in groups], key=_RATE)


_RATE = itemgetter(0)


def format_yen(amount: Yen) -> str:
    """``¥1,234`` / ``-¥1,234`` (U+00A5)."""
    sign = "-" if amount < 0 else ""
    return f"{sign}¥{abs(amount):,}"
