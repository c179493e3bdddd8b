"""The ``calendar_month`` billing model (preset ``monthly-prorated``, POLICIES.md §2, seed 000).

Domain only: subscriptions are placed through ``ordering.place_order`` and the
tick is ``subscription.run_due``. Expected amounts are worked out by hand in
the comments, not computed with the code under test.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from licensedesk.domain import monthly
from licensedesk.domain import subscription as subs
from licensedesk.domain.calendar import Billing, Term
from licensedesk.domain.catalog import Offer, PriceRow
from licensedesk.domain.errors import InvalidInput, RuleViolation
from licensedesk.domain.models import for_policy
from licensedesk.domain.ordering import OrderRequest, place_order
from licensedesk.domain.parties import Customer, Entity, Tenant
from licensedesk.domain.subscription import ChargeLine, LineKind, Status, Subscription, When
from licensedesk.presets import preset

D = date.fromisoformat
JST = ZoneInfo("Asia/Tokyo")
PRICE = 5434
POLICY = preset("monthly-prorated")
OFFER = Offer("M365-E3", "Microsoft 365 E3", prices=[PriceRow(Term.P1Y, Billing.MONTHLY, PRICE)])


@dataclass
class Prices:
    """A PriceBook: the catalog price from a date on (``changes``), else ``PRICE``."""

    changes: dict[date, int] = field(default_factory=dict)

    def unit_price(self, offer: str, term: Term, billing: Billing, on: date) -> int:
        valid = [price for since, price in sorted(self.changes.items()) if since <= on]
        return valid[-1] if valid else PRICE


def at(day: str, hour: int = 10) -> When:
    return When(datetime.combine(D(day), time(hour), tzinfo=JST), D(day))


def start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=JST)


def order(day: str = "2026-06-18", quantity: int = 10, auto_renew: bool | None = None) -> Subscription:
    customer = Customer("acme", "株式会社アクメ", Entity.CORPORATION, "JP")
    tenant = Tenant("t1", "acme", "acme.onmicrosoft.com", "JP")
    req = OrderRequest("s1", OFFER, Term.P1Y, Billing.MONTHLY, quantity, auto_renew)
    return place_order(POLICY, customer, tenant, req, at(day), PRICE)


def tick(sub: Subscription, day: str, prices: Prices | None = None) -> list[ChargeLine]:
    """Run everything due up to ``day`` and hand back the lines charged on the way."""
    sub.drain()
    subs.run_due(sub, D(day), start_of, prices or Prices())
    return sub.drain()[1]


def only(lines: list[ChargeLine], kind: LineKind) -> list[ChargeLine]:
    return [line for line in lines if line.kind is kind]


# --------------------------------------------------------------------- order
def test_the_preset_is_served_by_the_monthly_module() -> None:
    assert for_policy(POLICY) is monthly


def test_order_mid_month_bills_the_rest_of_the_month_by_day() -> None:
    # given/when an order on 2026-06-18 for 10 seats
    sub = order()
    # then the term is one year, the price locked for 12 months
    assert sub.status is Status.ACTIVE
    assert (sub.term_start, sub.term_end) == (D("2026-06-18"), D("2027-06-17"))
    assert sub.price_locked_until == D("2027-06-17")
    assert sub.processed_through == D("2026-06-18")
    # and one "new" line: 06-18 … 06-30 = 13 of 30 days, floor(5,434 × 13 / 30) = 2,354
    [line] = sub.charges
    assert (line.kind, line.quantity, line.unit_amount, line.amount) == (LineKind.NEW, 10, 2354, 23540)
    assert (line.period_start, line.period_end, line.key) == (D("2026-06-18"), D("2026-06-30"), "new:2026-06-18")
    assert line.why.rule == "BILL-PRORATE-DAILY"
    assert "floor(5,434 × 13 / 30) = 2,354" in line.why.formula_en
    assert "÷" in line.why.formula_ja


def test_order_on_the_first_bills_that_month_once() -> None:
    sub = order("2026-07-01", quantity=5)
    [line] = sub.charges
    assert (line.unit_amount, line.period_end) == (PRICE, D("2026-07-31"))
    assert line.why.rule == "PRICE-LOCK-12M"
    # the first monthly item is August, not July again
    assert subs.next_due(sub) == (D("2026-08-01"), ["month"])


def test_calendar_month_cannot_be_aligned() -> None:
    customer = Customer("acme", "株式会社アクメ", Entity.CORPORATION, "JP")
    tenant = Tenant("t1", "acme", "acme.onmicrosoft.com", "JP")
    req = OrderRequest("s1", OFFER, Term.P1Y, Billing.MONTHLY, 1, align_calendar_month=True)
    with pytest.raises(RuleViolation) as err:
        place_order(POLICY, customer, tenant, req, at("2026-06-18"), PRICE)
    assert err.value.code == "COTERM"


def test_billing_frequency_never_changes_mid_term() -> None:
    sub = order()
    with pytest.raises(RuleViolation) as err:
        monthly.change_billing(sub, at("2026-07-02"), Billing.ANNUAL)
    assert err.value.code == "TERM-NO-FREQ-CHANGE"
    assert sub.billing is Billing.MONTHLY


# ------------------------------------------------------------ monthly tick
def test_the_first_of_each_month_bills_that_month_once() -> None:
    sub = order()
    lines = tick(sub, "2026-08-01")
    assert [(line.kind, line.period_start, line.period_end, line.amount) for line in lines] == [
        (LineKind.CYCLE, D("2026-07-01"), D("2026-07-31"), 54340),
        (LineKind.CYCLE, D("2026-08-01"), D("2026-08-31"), 54340),
    ]
    assert [line.key for line in lines] == ["cycle:2026-07-01", "cycle:2026-08-01"]
    # running the same day again bills nothing (processed_through only moves forward)
    assert tick(sub, "2026-08-01") == []


def test_quantity_changes_accrue_to_the_next_monthly_invoice() -> None:
    sub = order()
    tick(sub, "2026-07-01")
    # when +3 seats on 07-10 and −5 seats on 07-20
    monthly.change_quantity(sub, at("2026-07-10"), 13)
    monthly.change_quantity(sub, at("2026-07-20"), 8)
    # then nothing is charged at once and the quantity changed at once
    assert sub.charges == []
    assert sub.quantity == 8
    # and the accrued items are plain JSON (the repository stores them as JSON)
    assert json.loads(json.dumps(sub.accrued)) == sub.accrued
    # on 08-01: cycle 8 × 5,434, then +floor(5,434 × 22 / 31) = 3,856 × 3, −floor(5,434 × 12 / 31) = −2,103 × 5
    lines = tick(sub, "2026-08-01")
    assert [(line.kind, line.quantity, line.unit_amount) for line in lines] == [
        (LineKind.CYCLE, 8, 5434), (LineKind.ADJUSTMENT, 3, 3856), (LineKind.ADJUSTMENT, 5, -2103)]
    assert sum(line.amount for line in lines) == 43472 + 11568 - 10515
    assert lines[2].why.rule == "BILL-PRORATE-DAILY"
    assert lines[2].why.formula_en.startswith("−floor(5,434 × 12 / 31) = 2,103")
    assert len({line.key for line in lines}) == 3
    assert sub.accrued == []


def test_two_changes_at_the_same_instant_get_distinct_keys() -> None:
    sub = order()
    monthly.change_quantity(sub, at("2026-06-20"), 12)
    monthly.change_quantity(sub, at("2026-06-20"), 10)
    assert len({item["key"] for item in sub.accrued}) == 2


def test_leap_day_is_one_day_of_29() -> None:
    sub = order("2028-02-10", quantity=4)
    assert sub.charges[0].unit_amount == 3747  # floor(5,434 × 20 / 29)
    monthly.change_quantity(sub, at("2028-02-29"), 6)
    lines = tick(sub, "2028-03-01")
    assert (lines[1].unit_amount, lines[1].quantity) == (187, 2)  # floor(5,434 × 1 / 29)


@pytest.mark.parametrize("quantity", [0, -1])
def test_quantity_below_one_is_refused(quantity: int) -> None:
    sub = order()
    with pytest.raises(InvalidInput) as err:
        monthly.change_quantity(sub, at("2026-06-20"), quantity)
    assert err.value.code == "INVALID-QUANTITY"
    assert sub.quantity == 10 and sub.accrued == []


def test_unchanged_quantity_accrues_nothing() -> None:
    sub = order()
    monthly.change_quantity(sub, at("2026-06-20"), 10)
    assert sub.accrued == []


# ----------------------------------------------------------------- cancel
def test_cancel_takes_effect_at_month_end_and_charges_the_minimum_term() -> None:
    sub = order()
    tick(sub, "2026-09-01")
    # when cancelled on 09-20
    monthly.cancel(sub, at("2026-09-20"))
    # then it runs to 09-30
    assert sub.cancel_effective == D("2026-09-30")
    assert sub.status is Status.ACTIVE
    tick(sub, "2026-09-30")
    assert sub.status is Status.ACTIVE
    # and on 10-01: cancelled, no cycle, early termination 10-01 … 2027-06-17
    # = 5,434 × 8 + floor(5,434 × 17 / 30) = 43,472 + 3,079 = 46,551 per seat
    lines = tick(sub, "2026-10-01")
    assert sub.status is Status.CANCELLED
    [line] = lines
    assert (line.kind, line.quantity, line.unit_amount) == (LineKind.EARLY_TERMINATION, 10, 46551)
    assert (line.period_start, line.period_end) == (D("2026-10-01"), D("2027-06-17"))
    assert line.why.rule == "TERM-MIN-1Y"
    assert "5,434 × 8 + floor(5,434 × 17 / 30) = 46,551" in line.why.formula_en
    assert sub.delete_on == D("2026-11-30")  # 10-01 + 60 days (LIFE-RETAIN-60D)


def test_a_second_cancel_is_refused_while_one_is_pending() -> None:
    sub = order()
    monthly.cancel(sub, at("2026-09-20"))
    with pytest.raises(InvalidInput) as err:
        monthly.cancel(sub, at("2026-09-21"))
    assert err.value.code == "SUB-CANCEL-PENDING"
    with pytest.raises(InvalidInput):
        monthly.set_auto_renew(sub, at("2026-09-21"), True)
    with pytest.raises(InvalidInput):
        monthly.schedule_quantity(sub, at("2026-09-21"), 3)


def test_the_last_invoice_carries_the_accrued_adjustments() -> None:
    sub = order()
    tick(sub, "2026-09-15")
    monthly.change_quantity(sub, at("2026-09-15"), 12)  # +floor(5,434 × 16 / 30) = 2,898 × 2
    monthly.cancel(sub, at("2026-09-20"))
    lines = tick(sub, "2026-10-01")
    assert [(line.kind, line.quantity, line.unit_amount) for line in lines] == [
        (LineKind.EARLY_TERMINATION, 12, 46551), (LineKind.ADJUSTMENT, 2, 2898)]


def test_no_early_termination_after_the_minimum_term() -> None:
    sub = order()
    tick(sub, "2027-06-18")  # renewed
    assert sub.term_number == 2
    assert monthly.min_term_end(sub) is None
    tick(sub, "2027-07-10")
    monthly.cancel(sub, at("2027-07-10"))
    lines = tick(sub, "2027-08-01")
    assert sub.status is Status.CANCELLED
    assert only(lines, LineKind.EARLY_TERMINATION) == []
    assert only(lines, LineKind.CYCLE) == []


def test_cancel_in_the_last_month_stops_the_renewal() -> None:
    sub = order()
    tick(sub, "2027-06-01")
    monthly.cancel(sub, at("2027-06-10"))
    assert sub.cancel_effective == D("2027-06-30")
    assert all(what != "renewal_reminder" for _, what in monthly.due(sub))
    tick(sub, "2027-06-25")
    assert (sub.status, sub.term_number, sub.term_end) == (Status.ACTIVE, 1, D("2027-06-17"))
    assert tick(sub, "2027-07-01") == []
    assert sub.status is Status.CANCELLED


def test_cancel_never_extends_a_term_that_does_not_renew() -> None:
    sub = order(auto_renew=False)
    tick(sub, "2027-06-01")
    monthly.cancel(sub, at("2027-06-10"))
    assert sub.cancel_effective == D("2027-06-17")
    assert sub.accrued == []
    tick(sub, "2027-06-18")
    assert sub.status is Status.CANCELLED
    assert sub.delete_on == D("2027-08-17")


def test_deleted_60_days_after_cancellation() -> None:
    sub = order(quantity=1)
    monthly.cancel(sub, at("2026-07-05"))
    tick(sub, "2026-09-29")
    assert sub.status is Status.CANCELLED
    tick(sub, "2026-09-30")
    assert sub.status is Status.DELETED


def test_data_deletion_warning_a_week_before() -> None:
    sub = order(quantity=1)
    monthly.cancel(sub, at("2026-07-05"))
    tick(sub, "2026-09-22")
    sub.drain()
    subs.run_due(sub, D("2026-09-23"), start_of, Prices())
    notices = sub.drain()[2]
    assert [(n.kind, n.on, n.rule) for n in notices] == [("data_deletion_warning", D("2026-09-23"), "LIFE-RETAIN-60D")]


# ---------------------------------------------------------------- renewal
def test_renewal_takes_the_catalog_price_and_rebills_the_rest_of_the_month() -> None:
    sub = order()
    monthly.schedule_quantity(sub, at("2027-05-10"), 8)
    prices = Prices({D("2027-04-01"): 6000})
    lines = tick(sub, "2027-06-01", prices)
    assert lines[-1].unit_amount == PRICE  # PRICE-LOCK-12M: still 5,434 after the catalog change
    lines = tick(sub, "2027-07-01", prices)
    assert (sub.unit_price, sub.quantity, sub.next_term_quantity) == (6000, 8, None)
    assert (sub.term_start, sub.term_end, sub.price_locked_until) == (
        D("2027-06-18"), D("2028-06-17"), D("2028-06-17"))
    # 06-18 … 06-30 = 13 of 30: −floor(5,434 × 13 / 30) = −2,354 × 10, +floor(6,000 × 13 / 30) = 2,600 × 8
    assert [(line.kind, line.quantity, line.unit_amount) for line in lines] == [
        (LineKind.CYCLE, 8, 6000), (LineKind.ADJUSTMENT, 10, -2354), (LineKind.ADJUSTMENT, 8, 2600)]
    assert {line.why.rule for line in lines[1:]} == {"TERM-RENEW-AUTO"}


def test_renewal_without_changes_rebills_nothing() -> None:
    sub = order()
    tick(sub, "2027-06-17")
    assert tick(sub, "2027-06-18") == []
    assert sub.term_number == 2


def test_renewal_on_the_first_bills_the_new_month_at_the_new_price() -> None:
    sub = order("2026-07-01", quantity=3)
    lines = tick(sub, "2027-07-01", Prices({D("2027-07-01"): 6000}))
    assert [(line.key, line.unit_amount) for line in lines[-1:]] == [("cycle:2027-07-01", 6000)]
    assert only(lines, LineKind.ADJUSTMENT) == []


def test_renewal_reminder_a_week_before_the_term_end() -> None:
    sub = order()
    tick(sub, "2027-06-09")
    sub.drain()
    subs.run_due(sub, D("2027-06-10"), start_of, Prices())
    notices = sub.drain()[2]
    assert [(n.kind, n.on, n.rule) for n in notices] == [("renewal_reminder", D("2027-06-10"), "TERM-RENEW-AUTO")]
    assert notices[0].details["renews_on"] == "2027-06-18"


# ------------------------------------------------------------- no renewal
def test_without_auto_renew_the_last_month_is_billed_to_the_term_end_then_expired() -> None:
    sub = order()
    monthly.set_auto_renew(sub, at("2026-12-01"), False)
    assert sub.accrued == []  # the term end is not in December: nothing to credit
    lines = tick(sub, "2027-06-01")
    assert (lines[-1].period_end, lines[-1].unit_amount) == (D("2027-06-17"), 3079)  # floor(5,434 × 17 / 30)
    tick(sub, "2027-06-18")
    assert sub.status is Status.EXPIRED
    assert all(what != "month" for _, what in monthly.due(sub))


def test_auto_renew_off_in_the_last_month_credits_the_days_after_the_term_end() -> None:
    sub = order()
    tick(sub, "2027-06-01")
    monthly.set_auto_renew(sub, at("2027-06-05"), False)
    [item] = sub.accrued
    assert (item["quantity"], item["unit_amount"]) == (10, -2354)  # −floor(5,434 × 13 / 30)
    assert (item["period_start"], item["period_end"]) == ("2027-06-18", "2027-06-30")
    lines = tick(sub, "2027-06-18")
    assert sub.status is Status.EXPIRED
    assert [(line.kind, line.amount) for line in lines] == [(LineKind.ADJUSTMENT, -23540)]


def test_auto_renew_off_and_on_again_nets_to_zero() -> None:
    sub = order()
    tick(sub, "2027-06-01")
    monthly.set_auto_renew(sub, at("2027-06-05"), False)
    monthly.set_auto_renew(sub, at("2027-06-06"), True)
    assert sum(item["unit_amount"] * item["quantity"] for item in sub.accrued) == 0
    assert len({item["key"] for item in sub.accrued}) == 2


def test_a_renewal_change_needs_auto_renew() -> None:
    sub = order(auto_renew=False)
    with pytest.raises(InvalidInput) as err:
        monthly.schedule_quantity(sub, at("2026-07-01"), 3)
    assert err.value.code == "SUB-NO-RENEWAL"


# ------------------------------------------------------------------ due()
def test_due_runs_the_renewal_before_the_month_on_the_same_day() -> None:
    sub = order("2026-07-01")
    tick(sub, "2027-06-30")
    assert subs.next_due(sub) == (D("2027-07-01"), ["term_end", "month"])


def test_due_lists_the_next_first_of_the_month_only() -> None:
    sub = order()
    assert [day for day, what in monthly.due(sub) if what == "month"] == [D("2026-07-01")]
    tick(sub, "2026-07-01")
    assert [day for day, what in monthly.due(sub) if what == "month"] == [D("2026-08-01")]


def test_the_tick_bills_every_first_of_the_term() -> None:
    sub = order()
    firsts = [line.period_start for line in tick(sub, "2027-06-30") if line.kind is LineKind.CYCLE]
    assert firsts[0] == D("2026-07-01")
    assert firsts[-1] == D("2027-06-01")
    assert len(firsts) == 12
