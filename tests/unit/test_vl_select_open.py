"""Select Plus levels and minimums, Open Value minimums, Open product keys (PRICE-SELECT-*, PRICE-OV-*,
OPEN-ACTIVATION-START)."""

from __future__ import annotations

from datetime import date

import pytest

from licensedesk.domain.errors import InvalidInput, RuleViolation
from licensedesk.domain.select_open import (
    KeyStatus,
    LicenceKind,
    OpenLine,
    OpenProgram,
    Pool,
    check_open_order,
    open_select_plus,
    place_open_order,
    price_level,
)

D = date.fromisoformat


@pytest.mark.parametrize(("points", "level"), [
    (0, None), (499, None), (500, "A"), (3_999, "A"), (4_000, "B"), (9_999, "B"), (10_000, "C"),
    (24_999, "C"), (25_000, "D"), (1_000_000, "D")])
def test_price_level_thresholds(points: int, level: str | None) -> None:
    found, why = price_level(points)
    assert (found.value if found else None) == level and why.rule == "PRICE-SELECT-LEVEL"


def test_first_year_minimum_per_pool_unless_qualifying_enrollment() -> None:
    with pytest.raises(RuleViolation) as refused:
        open_select_plus(ref="s", customer="c", start=D("2026-04-01"), qualifying_enrollment=None,
                         pools={Pool.APPLICATIONS: 600, Pool.SERVERS: 499})
    assert refused.value.code == "PRICE-SELECT-MIN" and refused.value.details["short"] == {"servers": 499}
    with pytest.raises(RuleViolation):
        open_select_plus(ref="s", customer="c", start=D("2026-04-01"), qualifying_enrollment=None, pools={})
    waived = open_select_plus(ref="s", customer="c", start=D("2026-04-01"), qualifying_enrollment="EA-1",
                              pools={Pool.SERVERS: 10})
    assert waived.levels(1)[Pool.SERVERS][0] is None
    waived.set_points(2, {Pool.SYSTEMS: 5})  # no minimum after the first year
    with pytest.raises(InvalidInput):
        waived.set_points(0, {Pool.SYSTEMS: 5})


@pytest.mark.parametrize(("day", "year"), [
    ("2026-04-01", 1), ("2027-03-31", 1), ("2027-04-01", 2), ("2029-04-01", 4)])
def test_agreement_years_are_anchored(day: str, year: int) -> None:
    agreement = open_select_plus(ref="s", customer="c", start=D("2026-04-01"), qualifying_enrollment=None,
                                 pools={Pool.APPLICATIONS: 500})
    assert agreement.year_of(D(day)) == year


def line(kind: LicenceKind, quantity: int) -> OpenLine:
    return OpenLine("p", kind, quantity)


@pytest.mark.parametrize(("program", "lines", "first", "code"), [
    (OpenProgram.OPEN_VALUE, [line(LicenceKind.OTHER, 4)], True, "PRICE-OV-MIN"),
    (OpenProgram.OPEN_VALUE, [line(LicenceKind.USER_SL, 3), line(LicenceKind.OTHER, 2)], True, None),
    (OpenProgram.OPEN_VALUE, [line(LicenceKind.OTHER, 1)], False, None),
    (OpenProgram.OPEN_LICENSE, [line(LicenceKind.OTHER, 1)], True, None),
    (OpenProgram.OPEN_VALUE_COMPANY_WIDE, [line(LicenceKind.USER_SL, 5)], True, "PRICE-OV-ORGWIDE"),
    (OpenProgram.OPEN_VALUE_SUBSCRIPTION, [line(LicenceKind.DESKTOP_PLATFORM, 4), line(LicenceKind.USER_SL, 9)],
     True, "PRICE-OV-ORGWIDE"),
    (OpenProgram.OPEN_VALUE_SUBSCRIPTION, [line(LicenceKind.DESKTOP_PLATFORM, 3),
                                           line(LicenceKind.DESKTOP_COMPONENT, 2)], True, None),
    (OpenProgram.OPEN_VALUE_COMPANY_WIDE, [line(LicenceKind.DESKTOP_COMPONENT, 4)], True, "PRICE-OV-MIN"),
])
def test_open_value_minimums(program: OpenProgram, lines: list[OpenLine], first: bool, code: str | None) -> None:
    if code is None:
        check_open_order(program, lines, first)
    else:
        with pytest.raises(RuleViolation) as refused:
            check_open_order(program, lines, first)
        assert refused.value.code == code


def test_online_service_term_starts_at_activation_and_no_return_after() -> None:
    order, keys = place_open_order(ref="o1", customer="c", program=OpenProgram.OPEN_VALUE,
                                   lines=[line(LicenceKind.DESKTOP_PLATFORM, 5), OpenLine("EXO", LicenceKind.USER_SL, 5),
                                          OpenLine("SPO", LicenceKind.USER_SL, 5, term_months=1)],
                                   today=D("2027-01-10"), first=True)
    assert [k.ref for k in keys] == ["o1-2", "o1-3"] and order.first
    exo, spo = keys
    assert exo.term_start is None
    why = exo.activate(D("2027-01-31"))
    assert (exo.term_start, exo.term_end, why.rule) == (D("2027-01-31"), D("2028-01-30"), "OPEN-ACTIVATION-START")
    spo.activate(D("2027-01-31"))
    assert spo.term_end == D("2027-02-27")  # add_months(01-31, 1) = 02-28, − 1 day
    with pytest.raises(RuleViolation) as refused:
        exo.give_back(D("2027-02-01"))
    assert refused.value.code == "OPEN-ACTIVATION-START"
    with pytest.raises(InvalidInput):
        exo.activate(D("2027-02-01"))


def test_an_unactivated_key_can_be_returned_once() -> None:
    _, (key,) = place_open_order(ref="o1", customer="c", program=OpenProgram.OPEN_LICENSE,
                                 lines=[OpenLine("EXO", LicenceKind.USER_SL, 1)], today=D("2027-01-10"), first=True)
    key.give_back(D("2027-01-12"))
    assert key.status is KeyStatus.RETURNED
    with pytest.raises(InvalidInput):
        key.give_back(D("2027-01-13"))
