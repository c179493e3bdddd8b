"""EES / School agreements and enrollments (RULES.md §7, VL-*): pure domain, no database."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from licensedesk.domain.agreements import (
    Agreement,
    AgreementVersion,
    Amendment,
    Partners,
    Party,
    Region,
    Status,
    open_agreement,
)
from licensedesk.domain.enrollment import Enrollment, Option, enroll
from licensedesk.domain.errors import InvalidInput, RuleViolation
from licensedesk.domain.subscription import When

JST = ZoneInfo("Asia/Tokyo")
D = date.fromisoformat


def at(day: str, hour: int = 10) -> When:
    d = D(day)
    return When(datetime.combine(d, time(hour), tzinfo=JST), d)


def start_of(d: date) -> datetime:
    return datetime.combine(d, time(0), tzinfo=JST)


def agreement(region: str = "japan", version: str = "3.2", program: str = "ees", country: str = "JP") -> Agreement:
    return open_agreement(ref="a1", customer="uni", program=program, version=version, region=region,
                          public_customer_number="PCN-1", country=country, institution_qualifies=True)


def enrollment(effective: str = "2026-04-01", years: int = 1, region: str = "japan", on: str | None = None
               ) -> Enrollment:
    return enroll(ref="e1", agreement=agreement(region), term_years=years, effective=D(effective),
                  partners=Partners("R1", "D1"), when=at(on or effective))


@pytest.mark.parametrize(("effective", "years", "end", "notice"), [
    ("2026-04-01", 1, "2027-03-31", "2027-01-30"),
    ("2026-04-01", 3, "2029-03-31", "2029-01-30"),
    ("2028-02-29", 1, "2029-02-27", "2028-12-29"),  # add_months clamps to 02-28, minus one day
    ("2027-01-31", 1, "2028-01-30", "2027-12-01"),
    ("2026-12-31", 3, "2029-12-30", "2029-10-31"),
])
def test_end_date_and_notice_are_anchored_on_the_effective_date(effective: str, years: int, end: str,
                                                                  notice: str) -> None:
    e = enrollment(effective, years)
    assert (str(e.end_date), str(e.notice_on)) == (end, notice)
    assert e.anniversaries()[-1] == e.end_date + timedelta(days=1)
    assert e.explain_dates()["end_date"].rule == "VL-TERM"


@pytest.mark.parametrize("years", [0, 2, 4, 5])
def test_only_one_or_three_year_terms(years: int) -> None:
    with pytest.raises(RuleViolation) as refused:
        enrollment(years=years)
    assert refused.value.code == "VL-TERM"


def test_no_first_order_terminates_on_effective_plus_30_days() -> None:
    e = enrollment()
    assert e.due()[0] == (D("2026-05-01"), 0, "terminate_no_order")
    e.run_due(D("2026-04-30"), start_of)
    assert e.status is Status.ACTIVE
    e.run_due(D("2026-05-01"), start_of)
    assert (e.status, e.status_on, e.status_rule) == (Status.TERMINATED, D("2026-05-01"), "VL-TERMINATE-NO-ORDER")
    assert [n.kind for n in e.drain()[1]] == ["vl_terminated"]
    with pytest.raises(RuleViolation) as refused:
        e.record_order(at("2026-05-01"))
    assert refused.value.code == "VL-TERMINATE-NO-ORDER"


def test_a_first_order_keeps_the_enrollment() -> None:
    e = enrollment()
    e.record_order(at("2026-04-30"))
    e.run_due(D("2026-05-02"), start_of)
    assert e.status is Status.ACTIVE and e.first_order_on == D("2026-04-30")
    assert e.next_due == D("2027-01-30")  # the 60-day notice is next


def test_an_order_before_the_effective_date_is_malformed() -> None:
    e = enrollment("2026-04-01", on="2026-03-20")
    with pytest.raises(InvalidInput):
        e.record_order(at("2026-03-25"))


def test_running_once_equals_running_day_by_day() -> None:
    daily, once = enrollment(years=1), enrollment(years=1)
    for e in (daily, once):
        e.record_order(at("2026-04-02"))
    day = D("2026-04-02")
    while day <= D("2027-04-02"):
        daily.run_due(day, start_of)
        day += timedelta(days=1)
    once.run_due(D("2027-04-02"), start_of)
    assert [(ev.kind, ev.at) for ev in daily.drain()[0]] == [(ev.kind, ev.at) for ev in once.drain()[0]]
    assert (daily.status, daily.status_on, daily.outcome) == (once.status, once.status_on, once.outcome)


def test_notice_lists_the_options_and_japan_has_no_buy_out() -> None:
    e = enrollment(years=3)
    e.record_order(at("2026-04-02"))
    e.run_due(D("2029-01-30"), start_of)
    notice = e.drain()[1][0]
    assert (notice.kind, notice.on, notice.rule) == ("vl_expiry_60d", D("2029-01-30"), "VL-NOTICE-60D")
    assert notice.details["options"] == ["extend_3y", "new_enrollment", "let_expire"]
    assert notice.details["not_available"] == ["buy_out"]
    with pytest.raises(RuleViolation) as refused:
        e.choose(at("2029-02-01"), Option.BUY_OUT)
    assert refused.value.code == "VL-NOTICE-60D"


def test_choices_open_on_the_notice_date_and_extensions_stay_anchored() -> None:
    e = enrollment(years=1, region="international")
    e.record_order(at("2026-04-02"))
    with pytest.raises(RuleViolation):
        e.choose(at("2027-01-29"), Option.EXTEND_1Y)
    e.choose(at("2027-01-30"), Option.EXTEND_1Y)
    e.choose(at("2028-02-01"), Option.EXTEND_1Y)
    assert e.years == 3 and e.end_date == D("2029-03-31")  # add_months(2026-04-01, 36) − 1
    with pytest.raises(RuleViolation):
        e.choose(at("2029-02-01"), Option.EXTEND_3Y)  # not an option of a 1-year term


@pytest.mark.parametrize(("option", "outcome"), [
    (None, "let_expire"), (Option.LET_EXPIRE, "let_expire"), (Option.BUY_OUT, "buy_out")])
def test_expiry_outcome(option: Option | None, outcome: str) -> None:
    e = enrollment(years=1, region="americas")
    e.record_order(at("2026-04-02"))
    if option:
        e.choose(at("2027-03-01"), option)
    e.run_due(D("2027-04-01"), start_of)
    assert (e.status, e.status_on, e.outcome) == (Status.EXPIRED, D("2027-04-01"), outcome)


def test_breach_cure_period_is_30_days_from_the_notice() -> None:
    e = enrollment(years=3)
    e.record_order(at("2026-04-02"))
    breach = e.notify_breach(at("2026-06-01"), Party.MICROSOFT)
    assert (breach.cure_by, breach.terminates_on) == (D("2026-07-01"), D("2026-07-02"))
    with pytest.raises(InvalidInput):
        e.notify_breach(at("2026-06-02"), Party.INSTITUTION)
    e.run_due(D("2026-07-01"), start_of)
    assert e.status is Status.ACTIVE
    e.run_due(D("2026-07-02"), start_of)
    assert e.status_rule == "VL-TERMINATE-BREACH"
    with pytest.raises(RuleViolation) as refused:
        e.cure_breach(at("2026-07-02"))
    assert refused.value.code == "VL-TERMINATE-BREACH"


def test_a_cured_breach_is_cleared() -> None:
    e = enrollment(years=3)
    e.record_order(at("2026-04-02"))
    e.notify_breach(at("2026-06-01"), Party.INSTITUTION)
    e.cure_breach(at("2026-07-01"))
    e.run_due(D("2026-08-01"), start_of)
    assert e.status is Status.ACTIVE and e.breach is None


def test_agreement_versions_compare_numerically() -> None:
    assert AgreementVersion.parse("3.10") > AgreementVersion.parse("3.2") > AgreementVersion.parse("v3.1")
    assert str(AgreementVersion.parse("4")) == "4.0"
    with pytest.raises(InvalidInput):
        AgreementVersion.parse("three")


def test_only_a_qualified_educational_user_holds_an_agreement() -> None:
    with pytest.raises(RuleViolation) as refused:
        open_agreement(ref="a1", customer="acme", program="ees", version="3.2", region="japan",
                       public_customer_number="P", country="JP", institution_qualifies=False)
    assert refused.value.code == "VL-TERMINATE-QUALIFY"


@pytest.mark.parametrize(("amendment", "ends"), [
    (None, False),
    (Amendment("", "R1", True), False),
    (Amendment("TA-1", "OTHER", True), False),
    (Amendment("TA-1", "R1", False), False),
    (Amendment("TA-1", "D1", True), True),
])
def test_agreement_end_needs_a_termination_amendment(amendment: Amendment | None, ends: bool) -> None:
    a = agreement()
    if ends:
        a.end(at("2026-10-01"), amendment, {"R1", "D1"})
        assert (a.status, a.status_rule) == (Status.TERMINATED, "VL-AGREEMENT-END")
    else:
        with pytest.raises(RuleViolation) as refused:
            a.end(at("2026-10-01"), amendment, {"R1", "D1"})
        assert refused.value.code == "VL-AGREEMENT-END" and a.status is Status.ACTIVE


@pytest.mark.parametrize(("region", "country", "two"), [
    ("japan", "JP", True), ("international", "IN", True), ("international", "TW", True),
    ("international", "SG", False), ("americas", "US", False), ("americas", "JP", False)])
def test_two_signed_copies_for_japan_india_taiwan(region: str, country: str, two: bool) -> None:
    assert agreement(region=region, country=country).two_copies is two
    assert Region(region).is_international is (region != "americas")
