"""Unit tests for licensedesk.domain.calendar (POLICIES.md §0, japan.md §2).

Expected values are written out by hand from the spec, not computed with the
code under test.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from itertools import pairwise

import pytest

from licensedesk.domain.calendar import (
    Billing,
    BusinessCalendar,
    Period,
    Term,
    YearEndClosure,
    add_months,
    charge_cycles,
    cycle_containing,
    days_in_month,
    days_inclusive,
    month_end,
    months_between,
    term_end,
)

D = date.fromisoformat


def P(start: str, end: str) -> Period:
    return Period(D(start), D(end))


# ---------------------------------------------------------------------------
# Term / Billing enums
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(("term", "months"), [(Term.P1M, 1), (Term.P1Y, 12), (Term.P3Y, 36)])
def test_term_months(term: Term, months: int) -> None:
    assert term.months == months


@pytest.mark.parametrize(
    ("billing", "term", "cycle_months"),
    [
        (Billing.MONTHLY, Term.P1M, 1),
        (Billing.MONTHLY, Term.P1Y, 1),
        (Billing.MONTHLY, Term.P3Y, 1),
        (Billing.ANNUAL, Term.P1Y, 12),
        (Billing.ANNUAL, Term.P3Y, 12),
        (Billing.TRIENNIAL, Term.P3Y, 36),
        (Billing.UPFRONT, Term.P1Y, 12),
        (Billing.UPFRONT, Term.P3Y, 36),
    ],
)
def test_billing_cycle_months(billing: Billing, term: Term, cycle_months: int) -> None:
    # monthly → monthly cycles; annual → yearly cycles; upfront → one cycle for the term (§0 Charge cycles)
    assert billing.cycle_months(term) == cycle_months


# ---------------------------------------------------------------------------
# days_in_month / month_end
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("year", "month", "days"),
    [(2026, 1, 31), (2026, 2, 28), (2028, 2, 29), (2100, 2, 28), (2000, 2, 29), (2026, 4, 30), (2026, 12, 31)],
)
def test_days_in_month(year: int, month: int, days: int) -> None:
    assert days_in_month(year, month) == days


@pytest.mark.parametrize(
    ("d", "expected"),
    [
        ("2026-02-01", "2026-02-28"),
        ("2028-02-10", "2028-02-29"),
        ("2026-06-30", "2026-06-30"),
        ("2026-12-01", "2026-12-31"),
        ("2026-04-15", "2026-04-30"),
    ],
)
def test_month_end(d: str, expected: str) -> None:
    assert month_end(D(d)) == D(expected)


# ---------------------------------------------------------------------------
# add_months: clamped to the month's last day, always from the anchor
# ---------------------------------------------------------------------------

ADD_MONTHS_CASES = [
    # start days 28th–31st into a short February (non-leap)
    ("2026-01-28", 1, "2026-02-28"),
    ("2026-01-29", 1, "2026-02-28"),
    ("2026-01-30", 1, "2026-02-28"),
    ("2026-01-31", 1, "2026-02-28"),
    # … and into a leap February
    ("2028-01-28", 1, "2028-02-28"),
    ("2028-01-29", 1, "2028-02-29"),
    ("2028-01-30", 1, "2028-02-29"),
    ("2028-01-31", 1, "2028-02-29"),
    # 31st into 30-day months
    ("2026-03-31", 1, "2026-04-30"),
    ("2026-05-31", 1, "2026-06-30"),
    ("2026-08-31", 1, "2026-09-30"),
    ("2026-10-31", 1, "2026-11-30"),
    ("2026-03-30", 1, "2026-04-30"),
    ("2026-03-29", 1, "2026-04-29"),
    # anchored, never chained: Jan 31 + 2 is Mar 31, not Mar 28
    ("2026-01-31", 2, "2026-03-31"),
    ("2026-01-31", 3, "2026-04-30"),
    ("2026-01-31", 12, "2027-01-31"),
    ("2026-01-31", 13, "2027-02-28"),
    ("2026-01-31", 36, "2029-01-31"),
    # Dec → Jan and across year ends
    ("2026-12-31", 1, "2027-01-31"),
    ("2026-12-15", 1, "2027-01-15"),
    ("2026-11-30", 2, "2027-01-30"),
    ("2026-12-31", 2, "2027-02-28"),
    ("2027-12-31", 2, "2028-02-29"),
    ("2026-12-01", 12, "2027-12-01"),
    # Feb 29 anchors
    ("2028-02-29", 1, "2028-03-29"),
    ("2028-02-29", 12, "2029-02-28"),
    ("2028-02-29", 36, "2031-02-28"),
    ("2028-02-29", 48, "2032-02-29"),
    # ordinary days
    ("2026-02-28", 1, "2026-03-28"),
    ("2026-04-30", 1, "2026-05-30"),
    ("2026-06-18", 1, "2026-07-18"),
    ("2026-04-01", 12, "2027-04-01"),
    # zero and negative offsets
    ("2026-01-31", 0, "2026-01-31"),
    ("2026-03-31", -1, "2026-02-28"),
    ("2027-01-31", -2, "2026-11-30"),
    ("2027-01-15", -13, "2025-12-15"),
]


@pytest.mark.parametrize(("anchor", "months", "expected"), ADD_MONTHS_CASES)
def test_add_months(anchor: str, months: int, expected: str) -> None:
    # given an anchor date, when adding months, then the day is clamped to the target month's end
    assert add_months(D(anchor), months) == D(expected)


def test_add_months_anchored_differs_from_chained() -> None:
    # given Jan 31, when stepping month by month from the anchor, then month ends are kept
    anchor = D("2026-01-31")
    anchored = [add_months(anchor, k) for k in range(6)]
    assert anchored == [
        D(x) for x in ("2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30", "2026-05-31", "2026-06-30")
    ]
    # whereas chaining would drift to the 28th (what the spec forbids)
    chained = [anchor]
    for _ in range(5):
        chained.append(add_months(chained[-1], 1))
    assert chained[-1] == D("2026-06-28")
    assert anchored[-1] != chained[-1]


# ---------------------------------------------------------------------------
# term_end = add_months(s, n) − 1 day
# ---------------------------------------------------------------------------

TERM_END_CASES = [
    # Microsoft's published examples (POLICIES.md §0 "Term end")
    ("2021-01-31", Term.P1M, "2021-02-27"),
    ("2021-05-31", Term.P1M, "2021-06-29"),
    ("2026-04-01", Term.P1Y, "2027-03-31"),
    # P1M from the 28th–31st of January (non-leap and leap)
    ("2026-01-28", Term.P1M, "2026-02-27"),
    ("2026-01-29", Term.P1M, "2026-02-27"),
    ("2026-01-30", Term.P1M, "2026-02-27"),
    ("2026-01-31", Term.P1M, "2026-02-27"),
    ("2028-01-28", Term.P1M, "2028-02-27"),
    ("2028-01-29", Term.P1M, "2028-02-28"),
    ("2028-01-30", Term.P1M, "2028-02-28"),
    ("2028-01-31", Term.P1M, "2028-02-28"),
    # P1M from the 28th–31st of March (into 30-day April)
    ("2026-03-28", Term.P1M, "2026-04-27"),
    ("2026-03-29", Term.P1M, "2026-04-28"),
    ("2026-03-30", Term.P1M, "2026-04-29"),
    ("2026-03-31", Term.P1M, "2026-04-29"),
    # other month ends
    ("2026-02-28", Term.P1M, "2026-03-27"),
    ("2026-04-30", Term.P1M, "2026-05-29"),
    ("2026-08-31", Term.P1M, "2026-09-29"),
    ("2026-06-18", Term.P1M, "2026-07-17"),
    ("2026-03-01", Term.P1M, "2026-03-31"),
    ("2026-02-01", Term.P1M, "2026-02-28"),
    ("2028-02-01", Term.P1M, "2028-02-29"),
    # Dec → Jan
    ("2026-12-31", Term.P1M, "2027-01-30"),
    ("2026-12-01", Term.P1M, "2026-12-31"),
    ("2026-12-15", Term.P1M, "2027-01-14"),
    ("2026-12-31", Term.P1Y, "2027-12-30"),
    # P1Y
    ("2026-01-01", Term.P1Y, "2026-12-31"),
    ("2026-01-31", Term.P1Y, "2027-01-30"),
    ("2026-05-31", Term.P1Y, "2027-05-30"),
    ("2026-02-28", Term.P1Y, "2027-02-27"),
    ("2027-02-28", Term.P1Y, "2028-02-27"),
    ("2027-03-01", Term.P1Y, "2028-02-29"),
    # Feb 29: add_months(2028-02-29, 12) = 2029-02-28, so the term ends 2029-02-27
    ("2028-02-29", Term.P1Y, "2029-02-27"),
    # P3Y
    ("2026-01-31", Term.P3Y, "2029-01-30"),
    ("2026-04-01", Term.P3Y, "2029-03-31"),
    ("2025-03-01", Term.P3Y, "2028-02-29"),
    ("2028-02-29", Term.P3Y, "2031-02-27"),
]


@pytest.mark.parametrize(("start", "term", "expected"), TERM_END_CASES)
def test_term_end(start: str, term: Term, expected: str) -> None:
    # given a term of n months from s, then it ends on add_months(s, n) − 1 day
    assert term_end(D(start), term.months) == D(expected)


@pytest.mark.parametrize(("start", "term", "expected"), TERM_END_CASES)
def test_renewal_is_the_day_after_term_end(start: str, term: Term, expected: str) -> None:
    # renewal happens on term end + 1, which is add_months(s, n)
    assert term_end(D(start), term.months) + timedelta(days=1) == add_months(D(start), term.months)


# ---------------------------------------------------------------------------
# days_inclusive / Period
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "last", "days"),
    [
        ("2026-06-18", "2026-07-17", 30),  # the spec's cycle
        ("2026-06-20", "2026-07-17", 28),  # an event on 06-20 leaves 28
        ("2026-06-18", "2026-06-18", 1),
        ("2026-01-31", "2026-02-27", 28),
        ("2028-02-29", "2029-02-27", 365),
        ("2026-04-01", "2027-03-31", 365),
        ("2027-04-01", "2028-03-31", 366),
        ("2026-12-31", "2027-01-01", 2),
        ("2026-06-19", "2026-06-18", 0),  # last before first
        ("2027-01-01", "2026-01-01", 0),
    ],
)
def test_days_inclusive(first: str, last: str, days: int) -> None:
    assert days_inclusive(D(first), D(last)) == days


def test_period_days_and_remaining_from_spec_example() -> None:
    # given the cycle [2026-06-18, 2026-07-17]
    cycle = P("2026-06-18", "2026-07-17")
    # then it has 30 days, and an event on 06-20 leaves 28 billing days (06-20 … 07-17)
    assert cycle.days == 30
    assert cycle.remaining_from(D("2026-06-20")) == 28


@pytest.mark.parametrize(
    ("d", "remaining"),
    [
        ("2026-06-01", 30),  # before the period: the whole period
        ("2026-06-18", 30),  # first day
        ("2026-06-19", 29),
        ("2026-06-20", 28),
        ("2026-07-16", 2),
        ("2026-07-17", 1),  # last day counts itself
        ("2026-07-18", 0),  # past the end
        ("2027-01-01", 0),
    ],
)
def test_period_remaining_from(d: str, remaining: int) -> None:
    assert P("2026-06-18", "2026-07-17").remaining_from(D(d)) == remaining


@pytest.mark.parametrize(
    ("d", "inside"),
    [
        (D("2026-06-17"), False),
        (D("2026-06-18"), True),
        (D("2026-07-01"), True),
        (D("2026-07-17"), True),
        (D("2026-07-18"), False),
        ("2026-06-20", False),  # not a date
        (None, False),
    ],
)
def test_period_contains(d: object, inside: bool) -> None:
    assert (d in P("2026-06-18", "2026-07-17")) is inside


def test_period_single_day() -> None:
    p = P("2026-06-18", "2026-06-18")
    assert p.days == 1
    assert D("2026-06-18") in p


def test_period_refuses_end_before_start() -> None:
    with pytest.raises(ValueError):
        P("2026-06-18", "2026-06-17")


# ---------------------------------------------------------------------------
# charge_cycles: [add_months(s, k·m), add_months(s, (k+1)·m) − 1]
# ---------------------------------------------------------------------------


def test_monthly_cycles_from_jan_31_are_anchored() -> None:
    # given a P1Y term billed monthly starting 2026-01-31
    start = D("2026-01-31")
    # when listing the charge cycles up to the term end
    cycles = list(charge_cycles(start, 1, term_end(start, 12)))
    # then each cycle is [add_months(s, k), add_months(s, k+1) − 1] — no drift to the 28th
    assert cycles == [
        P("2026-01-31", "2026-02-27"),
        P("2026-02-28", "2026-03-30"),
        P("2026-03-31", "2026-04-29"),
        P("2026-04-30", "2026-05-30"),
        P("2026-05-31", "2026-06-29"),
        P("2026-06-30", "2026-07-30"),
        P("2026-07-31", "2026-08-30"),
        P("2026-08-31", "2026-09-29"),
        P("2026-09-30", "2026-10-30"),
        P("2026-10-31", "2026-11-29"),
        P("2026-11-30", "2026-12-30"),
        P("2026-12-31", "2027-01-30"),
    ]


def test_monthly_cycles_from_leap_day() -> None:
    start = D("2028-02-29")
    cycles = list(charge_cycles(start, 1, term_end(start, 12)))
    assert len(cycles) == 12
    assert cycles[0] == P("2028-02-29", "2028-03-28")
    assert cycles[1] == P("2028-03-29", "2028-04-28")
    assert cycles[2] == P("2028-04-29", "2028-05-28")


def test_monthly_cycles_from_leap_day_last_cycle() -> None:
    # given a P1Y from 2028-02-29 billed monthly: term end 2029-02-27
    start = D("2028-02-29")
    cycles = list(charge_cycles(start, 1, term_end(start, 12)))
    # then the 12th cycle starts add_months(s, 11) = 2029-01-29 and ends add_months(s, 12) − 1 = 2029-02-27
    assert cycles[-1] == P("2029-01-29", "2029-02-27")
    assert cycles[-2] == P("2028-12-29", "2029-01-28")


def test_annual_cycles_of_a_p3y_from_leap_day() -> None:
    start = D("2028-02-29")
    cycles = list(charge_cycles(start, 12, term_end(start, 36)))
    assert cycles == [
        P("2028-02-29", "2029-02-27"),
        P("2029-02-28", "2030-02-27"),
        P("2030-02-28", "2031-02-27"),
    ]


def test_upfront_p1y_is_one_cycle() -> None:
    start = D("2026-04-01")
    assert list(charge_cycles(start, Billing.UPFRONT.cycle_months(Term.P1Y), term_end(start, 12))) == [
        P("2026-04-01", "2027-03-31")
    ]


def test_triennial_p3y_is_one_cycle() -> None:
    start = D("2026-01-31")
    assert list(charge_cycles(start, Billing.TRIENNIAL.cycle_months(Term.P3Y), term_end(start, 36))) == [
        P("2026-01-31", "2029-01-30")
    ]


def test_monthly_cycles_across_dec_jan() -> None:
    start = D("2026-11-30")
    cycles = list(charge_cycles(start, 1, D("2027-03-31")))
    assert cycles[:4] == [
        P("2026-11-30", "2026-12-29"),
        P("2026-12-30", "2027-01-29"),
        P("2027-01-30", "2027-02-27"),
        P("2027-02-28", "2027-03-29"),
    ]
    # the cycle starting 2027-03-30 begins on or before `until` and is cut there
    assert cycles[4] == P("2027-03-30", "2027-03-31")
    assert len(cycles) == 5


def test_charge_cycles_cut_at_a_coterm_end() -> None:
    # given a co-termed first term from 2026-01-15 ending 2026-03-31
    cycles = list(charge_cycles(D("2026-01-15"), 1, D("2026-03-31")))
    # then the last cycle is cut at the term end
    assert cycles == [
        P("2026-01-15", "2026-02-14"),
        P("2026-02-15", "2026-03-14"),
        P("2026-03-15", "2026-03-31"),
    ]


def test_charge_cycles_until_edge_cases() -> None:
    s = D("2026-06-18")
    assert list(charge_cycles(s, 1, D("2026-06-17"))) == []
    assert list(charge_cycles(s, 1, s)) == [P("2026-06-18", "2026-06-18")]
    assert list(charge_cycles(s, 1, D("2026-07-17"))) == [P("2026-06-18", "2026-07-17")]
    assert list(charge_cycles(s, 1, D("2026-07-18"))) == [P("2026-06-18", "2026-07-17"), P("2026-07-18", "2026-07-18")]


@pytest.mark.parametrize(
    ("start", "term", "billing"),
    [
        (start, term, billing)
        for start in (
            "2026-01-28",
            "2026-01-29",
            "2026-01-30",
            "2026-01-31",
            "2028-02-29",
            "2026-12-31",
            "2026-05-31",
            "2026-06-18",
        )
        for term, billing in (
            (Term.P1M, Billing.MONTHLY),
            (Term.P1Y, Billing.MONTHLY),
            (Term.P1Y, Billing.ANNUAL),
            (Term.P3Y, Billing.MONTHLY),
            (Term.P3Y, Billing.ANNUAL),
            (Term.P3Y, Billing.TRIENNIAL),
        )
    ],
)
def test_charge_cycles_tile_the_term(start: str, term: Term, billing: Billing) -> None:
    # given a term and its billing, when listing cycles up to the term end
    s = D(start)
    m = billing.cycle_months(term)
    end = term_end(s, term.months)
    cycles = list(charge_cycles(s, m, end))
    # then they are term.months / m cycles, contiguous, anchored, covering exactly [s, end]
    assert len(cycles) == term.months // m
    assert cycles[0].start == s
    assert cycles[-1].end == end
    for k, c in enumerate(cycles):
        assert c.start == add_months(s, k * m)
        assert c.end == add_months(s, (k + 1) * m) - timedelta(days=1)
    for prev, nxt in pairwise(cycles):
        assert nxt.start == prev.end + timedelta(days=1)
    assert sum(c.days for c in cycles) == days_inclusive(s, end)


# ---------------------------------------------------------------------------
# cycle_containing
# ---------------------------------------------------------------------------

CYCLE_CONTAINING_CASES = [
    # anchor Jan 31, monthly
    ("2026-01-31", 1, "2026-01-31", ("2026-01-31", "2026-02-27")),
    ("2026-01-31", 1, "2026-02-15", ("2026-01-31", "2026-02-27")),
    ("2026-01-31", 1, "2026-02-27", ("2026-01-31", "2026-02-27")),
    ("2026-01-31", 1, "2026-02-28", ("2026-02-28", "2026-03-30")),
    ("2026-01-31", 1, "2026-03-01", ("2026-02-28", "2026-03-30")),
    ("2026-01-31", 1, "2026-03-30", ("2026-02-28", "2026-03-30")),
    ("2026-01-31", 1, "2026-03-31", ("2026-03-31", "2026-04-29")),
    ("2026-01-31", 1, "2026-04-29", ("2026-03-31", "2026-04-29")),
    ("2026-01-31", 1, "2026-04-30", ("2026-04-30", "2026-05-30")),
    ("2026-01-31", 1, "2026-05-31", ("2026-05-31", "2026-06-29")),
    ("2026-01-31", 1, "2026-06-30", ("2026-06-30", "2026-07-30")),
    ("2026-01-31", 1, "2026-12-31", ("2026-12-31", "2027-01-30")),
    ("2026-01-31", 1, "2027-01-30", ("2026-12-31", "2027-01-30")),
    ("2026-01-31", 1, "2027-01-31", ("2027-01-31", "2027-02-27")),
    # the spec's 06-18 cycle
    ("2026-06-18", 1, "2026-06-18", ("2026-06-18", "2026-07-17")),
    ("2026-06-18", 1, "2026-06-20", ("2026-06-18", "2026-07-17")),
    ("2026-06-18", 1, "2026-06-30", ("2026-06-18", "2026-07-17")),
    ("2026-06-18", 1, "2026-07-17", ("2026-06-18", "2026-07-17")),
    ("2026-06-18", 1, "2026-07-18", ("2026-07-18", "2026-08-17")),
    # day-of-month of d below the anchor's day
    ("2026-01-15", 1, "2026-03-10", ("2026-02-15", "2026-03-14")),
    ("2026-03-31", 1, "2026-05-01", ("2026-04-30", "2026-05-30")),
    # Dec → Jan anchors
    ("2026-12-31", 1, "2027-01-30", ("2026-12-31", "2027-01-30")),
    ("2026-12-31", 1, "2027-01-31", ("2027-01-31", "2027-02-27")),
    ("2026-12-31", 1, "2027-02-28", ("2027-02-28", "2027-03-30")),
    # Feb 29 anchors, monthly and yearly
    ("2028-02-29", 1, "2028-03-28", ("2028-02-29", "2028-03-28")),
    ("2028-02-29", 1, "2028-03-29", ("2028-03-29", "2028-04-28")),
    ("2028-02-29", 12, "2028-12-31", ("2028-02-29", "2029-02-27")),
    ("2028-02-29", 12, "2029-02-27", ("2028-02-29", "2029-02-27")),
    ("2028-02-29", 12, "2029-02-28", ("2029-02-28", "2030-02-27")),
    ("2028-02-29", 12, "2032-02-28", ("2031-02-28", "2032-02-28")),
    ("2028-02-29", 12, "2032-02-29", ("2032-02-29", "2033-02-27")),
    # annual and triennial cycles
    ("2026-01-31", 12, "2026-06-15", ("2026-01-31", "2027-01-30")),
    ("2026-01-31", 12, "2027-01-31", ("2027-01-31", "2028-01-30")),
    ("2026-04-01", 12, "2027-03-31", ("2026-04-01", "2027-03-31")),
    ("2026-04-01", 12, "2027-04-01", ("2027-04-01", "2028-03-31")),
    ("2026-01-31", 36, "2028-06-15", ("2026-01-31", "2029-01-30")),
    ("2026-01-31", 36, "2029-01-31", ("2029-01-31", "2032-01-30")),
]


@pytest.mark.parametrize(("anchor", "months", "d", "expected"), CYCLE_CONTAINING_CASES)
def test_cycle_containing(anchor: str, months: int, d: str, expected: tuple[str, str]) -> None:
    cycle = cycle_containing(D(anchor), months, D(d))
    assert cycle == P(*expected)
    assert D(d) in cycle


def test_cycle_containing_is_the_cycle_found_by_walking_from_the_anchor() -> None:
    rng = random.Random(29)
    for _ in range(3000):
        anchor, step = _random_anchor(rng), rng.choice([1, 1, 3, 12, 36])
        d = anchor + timedelta(days=rng.randint(0, 2000))
        k = 0
        while add_months(anchor, (k + 1) * step) <= d:  # every cycle from the first, as the definition reads
            k += 1
        assert cycle_containing(anchor, step, d) == Period(add_months(anchor, k * step),
                                                           add_months(anchor, (k + 1) * step) - timedelta(days=1))


def test_cycle_containing_refuses_date_before_anchor() -> None:
    with pytest.raises(ValueError):
        cycle_containing(D("2026-06-18"), 1, D("2026-06-17"))


def _random_anchor(rng: random.Random) -> date:
    year = rng.randint(2020, 2032)
    month = rng.randint(1, 12)
    # bias towards month ends, where clamping matters
    day = rng.choice([1, 15, 28, 29, 30, 31, rng.randint(1, 31)])
    return date(year, month, min(day, days_in_month(year, month)))


def test_cycle_containing_property_seeded() -> None:
    # property: for random anchors and dates, cycle_containing(s, m, d) contains d,
    # starts at add_months(s, k·m) for some k and ends at add_months(s, (k+1)·m) − 1
    rng = random.Random(20260618)
    for _ in range(3000):
        s = _random_anchor(rng)
        m = rng.choice([1, 1, 3, 12, 36])
        d = s + timedelta(days=rng.randint(0, 4000))
        cycle = cycle_containing(s, m, d)
        assert d in cycle, (s, m, d, cycle)
        ks = [k for k in range(0, 4000 // 28 + 2) if add_months(s, k * m) == cycle.start]
        assert ks, (s, m, d, cycle)
        k = ks[0]
        assert cycle.end == add_months(s, (k + 1) * m) - timedelta(days=1), (s, m, d, cycle)


def test_cycle_containing_agrees_with_charge_cycles_seeded() -> None:
    # property: every date of every cycle from charge_cycles is mapped back to that very cycle
    rng = random.Random(31)
    for _ in range(150):
        s = _random_anchor(rng)
        m = rng.choice([1, 12])
        for cycle in charge_cycles(s, m, add_months(s, 24) - timedelta(days=1)):
            for d in (cycle.start, cycle.end, cycle.start + timedelta(days=rng.randint(0, cycle.days - 1))):
                assert cycle_containing(s, m, d) == cycle, (s, m, d)


def test_add_months_properties_seeded() -> None:
    rng = random.Random(29)
    for _ in range(3000):
        s = _random_anchor(rng)
        n = rng.randint(-40, 40)
        r = add_months(s, n)
        # month index moves by exactly n
        assert (r.year * 12 + r.month) - (s.year * 12 + s.month) == n
        # the day is the anchor's day clamped to the target month
        assert r.day == min(s.day, days_in_month(r.year, r.month))
        # term_end + 1 is add_months
        if n > 0:
            assert term_end(s, n) + timedelta(days=1) == r


# ---------------------------------------------------------------------------
# months_between (co-termed first terms)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "whole", "rest"),
    [
        ("2026-01-31", "2027-01-30", 12, None),
        ("2026-01-31", "2026-02-27", 1, None),
        ("2026-01-31", "2026-02-26", 0, ("2026-01-31", "2026-02-26")),
        ("2026-01-31", "2026-02-28", 1, ("2026-02-28", "2026-02-28")),
        ("2026-01-31", "2026-03-15", 1, ("2026-02-28", "2026-03-15")),
        ("2026-01-31", "2026-03-30", 2, None),
        ("2026-01-15", "2026-03-31", 2, ("2026-03-15", "2026-03-31")),
        ("2026-04-10", "2026-12-31", 8, ("2026-12-10", "2026-12-31")),
        ("2026-06-18", "2026-06-18", 0, ("2026-06-18", "2026-06-18")),
        ("2026-06-18", "2026-06-17", 0, None),
        ("2026-04-01", "2027-03-31", 12, None),
        ("2028-02-29", "2029-02-27", 12, None),
        ("2028-02-29", "2029-02-28", 12, ("2029-02-28", "2029-02-28")),
        ("2026-12-31", "2027-01-30", 1, None),
        ("2026-12-31", "2027-02-15", 1, ("2027-01-31", "2027-02-15")),
        ("2026-01-01", "2028-12-31", 36, None),
    ],
)
def test_months_between(start: str, end: str, whole: int, rest: tuple[str, str] | None) -> None:
    got_whole, got_rest = months_between(D(start), D(end))
    assert got_whole == whole
    assert got_rest == (P(*rest) if rest else None)


# ---------------------------------------------------------------------------
# YearEndClosure
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12-29..01-03", YearEndClosure(12, 29, 1, 3)),
        ("  12-29..01-03  ", YearEndClosure(12, 29, 1, 3)),
        ("12-28..01-04", YearEndClosure(12, 28, 1, 4)),
        ("08-13..08-16", YearEndClosure(8, 13, 8, 16)),
        ("12-31..12-31", YearEndClosure(12, 31, 12, 31)),
        ("02-29..03-01", YearEndClosure(2, 29, 3, 1)),
        ("", None),
        ("   ", None),
        ("none", None),
        ("None", None),
        ("NONE", None),
        ("off", None),
        (" Off ", None),
    ],
)
def test_year_end_closure_parse(text: str, expected: YearEndClosure | None) -> None:
    assert YearEndClosure.parse(text) == expected


def test_year_end_closure_default_is_dec_29_to_jan_3() -> None:
    assert YearEndClosure() == YearEndClosure(12, 29, 1, 3)
    assert YearEndClosure.parse("12-29..01-03") == YearEndClosure()


@pytest.mark.parametrize(
    "text",
    [
        "12-29",
        "12/29..01/03",
        "13-01..01-03",
        "12-32..01-03",
        "02-30..03-01",
        "abc",
        "12-29..01-03..01-05",
        "12-29-1..01-03",
        "..",
        "12..01",
        "yes",
    ],
)
def test_year_end_closure_parse_refuses_malformed(text: str) -> None:
    with pytest.raises(ValueError, match=r"12-29\.\.01-03"):
        YearEndClosure.parse(text)


@pytest.mark.parametrize(
    ("d", "closed"),
    [
        ("2026-12-27", False),
        ("2026-12-28", False),
        ("2026-12-29", True),
        ("2026-12-30", True),
        ("2026-12-31", True),
        ("2027-01-01", True),
        ("2027-01-02", True),
        ("2027-01-03", True),
        ("2027-01-04", False),
        ("2026-06-15", False),
        ("2026-01-03", True),
        ("2026-01-04", False),
    ],
)
def test_default_year_end_closure_contains(d: str, closed: bool) -> None:
    assert (D(d) in YearEndClosure()) is closed


@pytest.mark.parametrize(
    ("d", "closed"),
    [
        ("2026-08-12", False),
        ("2026-08-13", True),
        ("2026-08-16", True),
        ("2026-08-17", False),
        ("2026-12-30", False),
        ("2027-01-01", False),
    ],
)
def test_non_wrapping_closure_contains(d: str, closed: bool) -> None:
    assert (D(d) in YearEndClosure(8, 13, 8, 16)) is closed


def test_closure_contains_non_dates_is_false() -> None:
    assert "2026-12-30" not in YearEndClosure()
    assert None not in YearEndClosure()
    assert datetime(2026, 12, 30, 9, 0) in YearEndClosure()  # a datetime is a date


# ---------------------------------------------------------------------------
# BusinessCalendar (japan.md §2)
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cal() -> BusinessCalendar:
    return BusinessCalendar()


@pytest.mark.parametrize(
    ("d", "business", "why"),
    [
        ("2026-05-06", False, "substitute holiday for 05-03 (Sun)"),
        ("2026-09-22", False, "citizens' holiday between two holidays"),
        ("2026-09-21", False, "Respect for the Aged Day"),
        ("2026-09-23", False, "Autumnal Equinox Day"),
        ("2026-05-04", False, "Greenery Day"),
        ("2026-05-05", False, "Children's Day"),
        ("2026-11-23", False, "Labour Thanksgiving Day"),
        ("2026-04-29", False, "Showa Day"),
        ("2027-01-01", False, "New Year's Day"),
        ("2026-12-29", False, "year-end closure (Tue)"),
        ("2026-12-30", False, "year-end closure (Wed)"),
        ("2026-12-31", False, "year-end closure (Thu)"),
        ("2027-01-04", True, "first Monday after the closure"),
        ("2026-12-28", True, "Monday before the closure"),
        ("2026-06-20", False, "Saturday"),
        ("2026-06-21", False, "Sunday"),
        ("2026-06-22", True, "Monday"),
        ("2026-06-19", True, "Friday"),
        ("2026-05-07", True, "Thursday after Golden Week"),
        ("2026-05-01", True, "Friday in Golden Week, not a holiday"),
        ("2026-09-24", True, "Thursday after Silver Week"),
        ("2026-11-24", True, "Tuesday after a Monday holiday"),
    ],
)
def test_is_business_day(cal: BusinessCalendar, d: str, business: bool, why: str) -> None:
    assert cal.is_business_day(D(d)) is business, why


@pytest.mark.parametrize("d", ["2026-05-06", "2026-09-22", "2026-05-03", "2027-01-01", "2026-11-23"])
def test_holiday_name_for_holidays(cal: BusinessCalendar, d: str) -> None:
    name = cal.holiday_name(D(d))
    assert isinstance(name, str)
    assert name


@pytest.mark.parametrize("d", ["2026-06-22", "2026-12-29", "2026-06-20"])
def test_holiday_name_for_non_holidays(cal: BusinessCalendar, d: str) -> None:
    # closures and weekends are not public holidays
    assert cal.holiday_name(D(d)) is None


@pytest.mark.parametrize(
    ("d", "n", "expected"),
    [
        # japan.md §2 "Verified here"
        ("2026-12-25", 3, "2027-01-05"),
        ("2026-09-18", 3, "2026-09-28"),
        ("2026-11-20", 1, "2026-11-24"),
        # counting starts on the next business day (初日不算入)
        ("2026-06-22", 1, "2026-06-23"),
        ("2026-06-19", 1, "2026-06-22"),  # Friday → Monday
        ("2026-06-20", 1, "2026-06-22"),  # from a Saturday
        ("2026-06-21", 1, "2026-06-22"),  # from a Sunday
        ("2026-06-19", 5, "2026-06-26"),
        ("2026-06-22", 0, "2026-06-22"),  # zero business days: the same date
        ("2026-06-20", 0, "2026-06-20"),
        # Golden Week 2026: 04-29 Wed, 05-02..05-06 closed
        ("2026-04-28", 1, "2026-04-30"),
        ("2026-04-30", 1, "2026-05-01"),
        ("2026-04-30", 2, "2026-05-07"),
        ("2026-05-01", 1, "2026-05-07"),
        ("2026-05-06", 1, "2026-05-07"),
        # Silver Week 2026: 09-19 Sat … 09-23 Wed
        ("2026-09-18", 1, "2026-09-24"),
        # year end
        ("2026-12-28", 1, "2027-01-04"),
        ("2026-12-24", 3, "2027-01-04"),
        ("2026-12-31", 1, "2027-01-04"),
    ],
)
def test_add_business_days(cal: BusinessCalendar, d: str, n: int, expected: str) -> None:
    assert cal.add_business_days(D(d), n) == D(expected)


def test_add_business_days_refuses_negative(cal: BusinessCalendar) -> None:
    with pytest.raises(ValueError):
        cal.add_business_days(D("2026-06-22"), -1)


def test_closure_disabled_makes_dec_29_a_business_day() -> None:
    # given a calendar without the year-end closure
    cal = BusinessCalendar(closure=None)
    # then 2026-12-29 (a Tuesday) is a business day, but New Year's Day and weekends still are not
    assert D("2026-12-29").weekday() == 1
    assert cal.is_business_day(D("2026-12-29"))
    assert cal.is_business_day(D("2026-12-31"))
    assert not cal.is_business_day(D("2027-01-01"))
    assert not cal.is_business_day(D("2027-01-02"))
    assert cal.add_business_days(D("2026-12-25"), 3) == D("2026-12-30")


def test_custom_closure_and_extra_closed_days() -> None:
    # given a closure parsed from configuration plus an extra summer closure day
    cal = BusinessCalendar(closure=YearEndClosure.parse("12-28..01-04"), extra_closed=[D("2026-08-13")])
    # then the wider closure and the extra day are not business days
    assert not cal.is_business_day(D("2026-12-28"))
    assert not cal.is_business_day(D("2027-01-04"))
    assert cal.is_business_day(D("2027-01-05"))
    assert not cal.is_business_day(D("2026-08-13"))
    assert cal.is_business_day(D("2026-08-12"))
    assert cal.add_business_days(D("2026-08-12"), 1) == D("2026-08-14")


def test_weekends_are_never_business_days_seeded() -> None:
    cal = BusinessCalendar(closure=None)
    rng = random.Random(7)
    for _ in range(500):
        d = D("2020-01-01") + timedelta(days=rng.randint(0, 365 * 12))
        if d.weekday() >= 5:
            assert not cal.is_business_day(d), d


def test_add_business_days_lands_on_a_business_day_seeded(cal: BusinessCalendar) -> None:
    rng = random.Random(3)
    for _ in range(300):
        d = D("2025-01-01") + timedelta(days=rng.randint(0, 365 * 4))
        n = rng.randint(1, 10)
        r = cal.add_business_days(d, n)
        assert r > d
        assert cal.is_business_day(r)
        between = [d + timedelta(days=i) for i in range(1, (r - d).days + 1)]
        assert sum(cal.is_business_day(x) for x in between) == n


def test_holiday_names_in_japanese_and_english(cal: BusinessCalendar) -> None:
    # the staff console's calendar shows holidays in the reader's language
    assert cal.holiday_name(D("2026-11-03"), "ja") == "文化の日"
    assert cal.holiday_name(D("2026-11-23"), "ja") == "勤労感謝の日"
    assert cal.holiday_name(D("2026-11-03")) == "Culture Day"
    assert cal.holiday_name(D("2026-11-04"), "ja") is None
