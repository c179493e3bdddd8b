"""The generated holiday table (domain/jp_holidays_table.py) says what the ``holidays`` package says, in both
languages, for every year it covers; outside it, and in other languages, the package answers."""

from __future__ import annotations

from datetime import date

import holidays

from licensedesk.domain.calendar import BusinessCalendar, holiday_name
from licensedesk.domain.jp_holidays_table import FIRST_YEAR, LAST_YEAR


def test_the_table_is_the_package_for_every_year_it_covers() -> None:
    years = range(FIRST_YEAR, LAST_YEAR + 1)
    en = holidays.country_holidays("JP", years=years)
    ja = holidays.country_holidays("JP", years=years, language="ja")
    day = date(FIRST_YEAR, 1, 1)
    checked = 0
    while day.year <= LAST_YEAR:
        assert holiday_name(day, "en") == en.get(day), day  # None on ordinary days, on both sides
        assert holiday_name(day, "ja") == (ja.get(day) or en.get(day)), day
        checked += day in en
        day = date.fromordinal(day.toordinal() + 1)
    assert checked == len(en) > 1000, "regenerate with scripts/jp_holidays.py"


def test_named_holidays_in_both_languages() -> None:
    assert holiday_name(date(2026, 11, 3), "ja") == "文化の日"
    assert holiday_name(date(2026, 11, 3), "en") == "Culture Day"
    assert holiday_name(date(2026, 5, 6), "ja") == "振替休日"  # Constitution Day fell on a Sunday
    assert holiday_name(date(2026, 11, 4)) is None


def test_years_outside_the_table_ask_the_package() -> None:
    assert holiday_name(date(LAST_YEAR + 1, 1, 1), "en") == "New Year's Day"
    assert holiday_name(date(FIRST_YEAR - 1, 11, 3), "ja") == "文化の日"
    assert not BusinessCalendar().is_business_day(date(LAST_YEAR + 5, 2, 11))  # 建国記念の日
