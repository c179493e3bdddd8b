"""Calendar arithmetic for contract dates (POLICIES.md §0).

Every date here is a calendar date in the reseller's time zone. Month
arithmetic is always anchored: period *n* is ``add_months(anchor, n)``,
never the previous period plus one month, so a term started on the 31st
keeps landing on month ends instead of drifting (STYLE habit 6).
"""

from __future__ import annotations

import calendar as _stdcal
import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from .jp_holidays_table import FIRST_YEAR, LAST_YEAR, TABLE

ONE_DAY = timedelta(days=1)


class Term(StrEnum):
    """Commitment length of a subscription (ISO 8601 durations as Partner Center spells them)."""

    P1M = "P1M"
    P1Y = "P1Y"
    P3Y = "P3Y"

    @property
    def months(self) -> int:
        return _TERM_MONTHS[self]


class Billing(StrEnum):
    """How often a subscription is charged within its term."""

    MONTHLY = "monthly"
    ANNUAL = "annual"
    TRIENNIAL = "triennial"
    UPFRONT = "upfront"
    ONE_TIME = "one_time"  # a perpetual licence: paid once, no term (ORD-PERPETUAL)

    def cycle_months(self, term: Term) -> int:
        """Length of one charge cycle in months; upfront (and triennial) pay the whole term."""
        return _CYCLE_MONTHS[self, term]


_TERM_MONTHS = {Term.P1M: 1, Term.P1Y: 12, Term.P3Y: 36}
# Worked out once per pair: the tick asks for every subscription, several times.
_CYCLE_MONTHS = {(billing, term): 1 if billing is Billing.MONTHLY else
                 min(12, _TERM_MONTHS[term]) if billing is Billing.ANNUAL else _TERM_MONTHS[term]
                 for billing in Billing for term in Term}


_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def days_in_month(year: int, month: int) -> int:
    # A table, not calendar.monthrange (which also works out the weekday): the tick calls this ~40 times a row.
    return 29 if month == 2 and _stdcal.isleap(year) else _DAYS[month - 1]


def month_end(d: date) -> date:
    """The last day of ``d``'s month."""
    return d.replace(day=days_in_month(d.year, d.month))


def add_months(anchor: date, months: int) -> date:
    """``anchor`` plus ``months`` calendar months, the day clamped to the month's last day.

    Always call it from the original anchor: ``add_months(s, k)``, not
    ``add_months(add_months(s, k - 1), 1)``.
    """
    year, month0 = divmod(anchor.year * 12 + (anchor.month - 1) + months, 12)
    day = anchor.day
    if day > 28:  # every month has the 28th
        day = min(day, days_in_month(year, month0 + 1))
    return date(year, month0 + 1, day)


def term_end(start: date, months: int) -> date:
    """Last day of a term of ``months`` months that starts on ``start`` (inclusive)."""
    return add_months(start, months) - ONE_DAY


def days_inclusive(first: date, last: date) -> int:
    """Number of days from ``first`` to ``last``, both counted (06-18…07-17 is 30)."""
    if last < first:
        return 0
    return (last - first).days + 1


@dataclass(frozen=True, order=True)
class Period:
    """A closed range of calendar dates ``[start, end]``."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"period ends before it starts: {self.start} > {self.end}")

    @property
    def days(self) -> int:
        return days_inclusive(self.start, self.end)

    def __contains__(self, d: object) -> bool:
        return isinstance(d, date) and self.start <= d <= self.end

    def remaining_from(self, d: date) -> int:
        """Billing days left in this period counting ``d`` itself (0 when ``d`` is past the end)."""
        return days_inclusive(max(d, self.start), self.end)


def charge_cycles(start: date, cycle_months: int, until: date) -> Iterator[Period]:
    """Charge cycles ``[add_months(s, k·m), add_months(s, (k+1)·m) − 1]`` that start on or before ``until``.

    The last cycle is cut at ``until`` when ``until`` is a term end that falls
    inside it (a co-termed first term).
    """
    k = 0
    while True:
        cycle_start = add_months(start, k * cycle_months)
        if cycle_start > until:
            return
        cycle_end = min(add_months(start, (k + 1) * cycle_months) - ONE_DAY, until)
        yield Period(cycle_start, cycle_end)
        k += 1


def cycle_containing(start: date, cycle_months: int, d: date) -> Period:
    """The charge cycle (anchored on ``start``) that contains ``d``; ``d`` must not precede ``start``."""
    if d < start:
        raise ValueError(f"{d} precedes the anchor {start}")
    months = (d.year - start.year) * 12 + (d.month - start.month)
    k = max(0, months // cycle_months)  # cycle k starts in d's month or before it; at most one off
    begin = add_months(start, k * cycle_months)
    while begin > d:
        k -= 1
        begin = add_months(start, k * cycle_months)
    after = add_months(start, (k + 1) * cycle_months)  # each start computed once (the tick asks per charge)
    while after <= d:
        k += 1
        begin, after = after, add_months(start, (k + 1) * cycle_months)
    return Period(begin, after - ONE_DAY)


def months_between(start: date, end_inclusive: date) -> tuple[int, Period | None]:
    """Whole months from ``start`` that fit in ``[start, end_inclusive]``, and the partial rest (if any).

    Used for co-termed first terms: the charge is whole monthly cycles plus
    the last partial cycle prorated by days.
    """
    whole = 0
    while add_months(start, whole + 1) - ONE_DAY <= end_inclusive:
        whole += 1
    rest_start = add_months(start, whole)
    if rest_start > end_inclusive:
        return whole, None
    return whole, Period(rest_start, end_inclusive)


@dataclass(frozen=True)
class YearEndClosure:
    """Company closure around the new year, e.g. Dec 29 – Jan 3 (both inclusive)."""

    first_month: int = 12
    first_day: int = 29
    last_month: int = 1
    last_day: int = 3

    def __contains__(self, d: object) -> bool:
        if not isinstance(d, date):
            return False
        key = (d.month, d.day)
        first = (self.first_month, self.first_day)
        last = (self.last_month, self.last_day)
        if first <= last:
            return first <= key <= last
        return key >= first or key <= last

    @classmethod
    def parse(cls, text: str) -> YearEndClosure | None:
        """``"12-29..01-03"`` → closure; ``""`` or ``"none"`` → no closure."""
        text = text.strip()
        if text.lower() in ("", "none", "off"):
            return None
        try:
            first, last = text.split("..")
            fm, fd = (int(x) for x in first.split("-"))
            lm, ld = (int(x) for x in last.split("-"))
            date(2024, fm, fd)
            date(2024, lm, ld)
        except ValueError as exc:
            raise ValueError(f"year-end closure must look like '12-29..01-03', got {text!r}") from exc
        return cls(fm, fd, lm, ld)


@functools.cache
def _holiday_table() -> dict[date, tuple[str, str]]:
    """The generated table (jp_holidays_table.py): date → (English name, Japanese name), parsed on first use."""
    table = {}
    for line in TABLE.splitlines():
        day, en, ja = line.split("|")
        table[date.fromisoformat(day)] = (en, ja)
    return table


@functools.cache
def _package(language: str | None = None) -> Any:
    """The ``holidays`` package's Japan (slow to import: only for years outside the table, or other languages)."""
    import holidays

    return holidays.country_holidays("JP") if language is None else holidays.country_holidays("JP", language=language)


def holiday_name(d: date, language: str = "en") -> str | None:
    """Japan's public holiday on ``d`` in ``language`` ("ja": 文化の日, "en": Culture Day), or None.

    Years FIRST_YEAR…LAST_YEAR come from the generated table (the ``holidays`` package's own answers,
    tests/unit/test_jp_holidays.py); other years and languages are asked of the package.
    """
    if FIRST_YEAR <= d.year <= LAST_YEAR:
        names = _holiday_table().get(d)
        if names is None:
            return None
        if language in ("en", "ja"):
            return names[0] if language == "en" else names[1]
        return str(_package(language).get(d) or names[0])
    found = _package().get(d)
    if found is None:
        return None
    return str(found) if language == "en" else str(_package(language).get(d) or found)


class BusinessCalendar:
    """Japanese business days: no weekends, no public holidays, no year-end closure.

    Public holidays (incl. substitute and citizens' holidays) are those of the
    ``holidays`` package (``holiday_name``). ``extra_closed`` adds company-specific days.
    """

    def __init__(
        self,
        closure: YearEndClosure | None = YearEndClosure(),
        extra_closed: Iterable[date] = (),
    ) -> None:
        self._closure = closure
        self._extra = frozenset(extra_closed)

    def holiday_name(self, d: date, language: str = "en") -> str | None:
        """The public holiday's name in ``language`` ("ja": 文化の日, "en": Culture Day), or None."""
        return holiday_name(d, language)

    def is_business_day(self, d: date) -> bool:
        if d.weekday() >= 5 or d in self._extra:
            return False
        if self._closure is not None and d in self._closure:
            return False
        return holiday_name(d) is None

    def add_business_days(self, d: date, n: int) -> date:
        """The ``n``-th business day after ``d`` (counting starts the next business day; 初日不算入)."""
        if n < 0:
            raise ValueError("n must be >= 0")
        while n:
            d += ONE_DAY
            if self.is_business_day(d):
                n -= 1
        return d
