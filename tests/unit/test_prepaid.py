"""Unit tests for licensedesk.domain.prepaid (POLICIES.md §2 "annual-prepaid", seed 001).

Expected dates and amounts are worked out by hand in the comments, not with the code under test.
Timeline used throughout: ordered 2026-06-18, paid 2026-06-26, activated 2026-07-01, so the term is
2026-07-01…2027-06-30; the next term starts 2027-07-01, its invoice is issued add_months(07-01, −1) =
2027-06-01, the reduction deadline is 2027-05-31, the renewal is due 07-01 − 14 days = 2027-06-17.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from licensedesk.domain import prepaid
from licensedesk.domain import subscription as subs
from licensedesk.domain.calendar import Billing, BusinessCalendar, Term
from licensedesk.domain.errors import InvalidInput, RuleViolation
from licensedesk.domain.subscription import LineKind, Status, Subscription, When
from licensedesk.presets import preset

JST = ZoneInfo("Asia/Tokyo")
POLICY = preset("annual-prepaid")
CALENDAR = BusinessCalendar()
D = date.fromisoformat


def at(text: str) -> When:
    """``"2026-06-18 10:00"`` → the moment in JST."""
    instant = datetime.fromisoformat(text).replace(tzinfo=JST)
    return When(instant, instant.date())


class Prices:
    """Catalog: 39,600 per seat per year, 43,200 from 2027-04-01."""

    def unit_price(self, offer: str, term: Term, billing: Billing, on: date) -> int:
        return 43_200 if on >= D("2027-04-01") else 39_600


def ordered(quantity: int = 10, unit_price: int = 39_600, on: str = "2026-06-18 10:00") -> Subscription:
    when = at(on)
    sub = Subscription(ref="s1", customer="acme", tenant="t1", offer="M365-BP", policy=POLICY, term=Term.P1Y,
                       billing=Billing.ANNUAL, unit_price=unit_price, quantity=quantity, ordered_at=when.instant,
                       auto_renew=True, customer_name="株式会社アクメ", processed_through=when.today)
    prepaid.place(sub, when, None)
    return sub


def active(quantity: int = 10, unit_price: int = 39_600, paid: str = "2026-06-26 15:00",
           activated: str = "2026-07-01 10:00") -> Subscription:
    sub = ordered(quantity, unit_price)
    prepaid.paid(sub, at(paid), ["new"], CALENDAR)
    prepaid.activate(sub, at(activated), CALENDAR)
    sub.processed_through = at(activated).today
    sub.drain()
    return sub


def run_until(sub: Subscription, day: str) -> None:
    subs.run_due(sub, D(day), lambda d: datetime.combine(d, time(0), tzinfo=JST), Prices())


def status(sub: Subscription) -> Status:
    """Read the status afresh (mypy would keep the narrowed value of an earlier assert)."""
    return sub.status


def notices(sub: Subscription) -> list[tuple[str, str]]:
    return [(n.kind, n.on.isoformat()) for n in sub.notices]


# ---------------------------------------------------------------- order, payment, activation
def test_order_invoices_the_annual_price_and_waits_for_payment() -> None:
    sub = ordered()
    assert status(sub) is Status.PENDING_PAYMENT  # ORD-PAY-FIRST
    assert sub.term_start is None and sub.term_end is None
    [line] = sub.charges
    assert (line.kind, line.quantity, line.unit_amount, line.amount) == (LineKind.NEW, 10, 39_600, 396_000)
    assert (line.period_start, line.period_end, line.key) == (None, None, "new")  # D-PREPAID-PERIOD
    assert line.due is None  # the policy's issue + 14 days applies
    assert line.why.rule == "ORD-PAY-FIRST"


@pytest.mark.parametrize(("paid_on", "activation_due"), [
    ("2026-06-26", "2026-07-01"),  # Fri → Mon 06-29 (1), Tue 06-30 (2), Wed 07-01 (3)
    ("2026-12-25", "2027-01-05"),  # Fri → Mon 12-28 (1), closure 12-29…01-03, Mon 01-04 (2), Tue 01-05 (3)
    ("2027-04-28", "2027-05-07"),  # Wed → 04-29 holiday, Fri 04-30 (1), 05-03…05-05 holidays, 05-06 (2), 05-07 (3)
    ("2026-06-27", "2026-07-01"),  # paid on a Saturday: counting starts Mon 06-29 (1)
])
def test_payment_moves_to_provisioning_with_a_business_day_deadline(paid_on: str, activation_due: str) -> None:
    sub = ordered()
    prepaid.paid(sub, at(f"{paid_on} 15:00"), ["new"], CALENDAR)
    assert status(sub) is Status.PROVISIONING
    assert sub.activation_due == D(activation_due)  # ORD-FLOW, 3 business days


def test_payment_of_an_unrelated_line_changes_nothing() -> None:
    sub = ordered()
    prepaid.paid(sub, at("2026-06-26 15:00"), ["cycle:2026-06-18"], CALENDAR)
    assert status(sub) is Status.PENDING_PAYMENT and sub.activation_due is None


def test_activation_before_payment_is_refused_by_the_pay_first_rule() -> None:
    with pytest.raises(RuleViolation) as err:
        prepaid.activate(ordered(), at("2026-07-02 10:00"), CALENDAR)
    assert err.value.code == "ORD-PAY-FIRST"


def test_activating_an_active_subscription_again_is_refused() -> None:
    with pytest.raises(InvalidInput) as err:
        prepaid.activate(active(), at("2026-07-02 10:00"), CALENDAR)
    assert err.value.code == "SUB-STATUS"


def test_activation_starts_the_term_and_sends_the_account_details() -> None:
    sub = ordered()
    prepaid.paid(sub, at("2026-06-26 15:00"), ["new"], CALENDAR)
    prepaid.activate(sub, at("2026-07-01 10:00"), CALENDAR)
    assert status(sub) is Status.ACTIVE
    assert (sub.term_start, sub.term_end) == (D("2026-07-01"), D("2027-06-30"))  # add_months(07-01, 12) − 1
    assert sub.price_locked_until == D("2027-06-30")  # PRICE-LOCK-12M
    [notice] = sub.notices
    assert (notice.kind, notice.on, notice.rule) == ("activation", D("2026-07-01"), "ORD-FLOW")
    assert notice.details["contract"] == "s1"
    assert notice.details["sent"] == ["admin_url", "contract_number", "login_id", "temporary_password"]


def test_activation_overdue_notice_the_day_after_the_deadline() -> None:
    sub = ordered()
    prepaid.paid(sub, at("2026-06-26 15:00"), ["new"], CALENDAR)
    sub.processed_through = D("2026-06-26")
    run_until(sub, "2026-07-01")
    assert notices(sub) == []
    run_until(sub, "2026-07-02")
    assert notices(sub) == [("activation_overdue", "2026-07-02")]  # activation_due 07-01 + 1 day


# ---------------------------------------------------------------- dates
@pytest.mark.parametrize(("activated", "next_start", "issue", "deadline", "due_on"), [
    ("2026-07-01", "2027-07-01", "2027-06-01", "2027-05-31", "2027-06-17"),
    ("2026-03-31", "2027-03-31", "2027-02-28", "2027-02-27", "2027-03-17"),  # issue clamped to Feb's last day
    ("2027-03-31", "2028-03-31", "2028-02-29", "2028-02-28", "2028-03-17"),  # leap year
    ("2026-01-10", "2027-01-10", "2026-12-10", "2026-12-09", "2026-12-27"),  # across the year end
])
def test_renewal_dates(activated: str, next_start: str, issue: str, deadline: str, due_on: str) -> None:
    sub = active(activated=f"{activated} 10:00", paid=f"{activated} 09:00")
    assert prepaid.next_term_start(sub) == D(next_start)
    assert prepaid.renewal_issue_date(sub) == D(issue)  # BILL-RENEWAL-INVOICE: 1 month ahead
    assert prepaid.reduction_deadline(sub) == D(deadline)  # TERM-REDUCE-1M: the day before
    assert prepaid.renewal_due_date(sub) == D(due_on)  # 14 days before the next start


# ---------------------------------------------------------------- seat increase
@pytest.mark.parametrize(("on", "cycles", "unit"), [
    ("2026-07-01", 11, 36_300),  # activation day: cycles 08-01 … 2027-06-01; 39,600 × 11 / 12
    ("2026-07-31", 11, 36_300),
    ("2026-08-01", 10, 33_000),  # a cycle start is not "strictly after" itself
    ("2026-09-10", 9, 29_700),
    ("2027-05-31", 1, 3_300),  # only 2027-06-01 is left
])
def test_seat_increase_is_billed_for_whole_remaining_cycles(on: str, cycles: int, unit: int) -> None:
    sub = active()
    prepaid.change_quantity(sub, at(f"{on} 10:00"), 12)
    [line] = sub.charges
    assert (line.kind, line.quantity, line.unit_amount) == (LineKind.ADD_QUANTITY, 2, unit)
    assert line.why.rule == "BILL-NO-PRORATE" and line.why.inputs["cycles"] == cycles
    assert line.period_end == D("2027-06-30")
    assert sub.quantity == 10  # ORD-PAY-FIRST: not before payment


def test_seat_increase_unit_is_rounded_down_once() -> None:
    sub = active(unit_price=26_350)
    prepaid.change_quantity(sub, at("2026-09-10 10:00"), 13)
    [line] = sub.charges
    assert (line.unit_amount, line.amount) == (19_762, 59_286)  # floor(26,350 × 9 / 12 = 19,762.5) × 3


def test_seat_increase_in_the_last_cycle_is_refused() -> None:
    sub = active()
    with pytest.raises(RuleViolation) as err:
        prepaid.change_quantity(sub, at("2027-06-01 10:00"), 12)  # next cycle start 07-01 is the next term
    assert err.value.code == "BILL-NO-PRORATE"


def test_seat_increase_after_the_renewal_invoice_is_refused() -> None:
    # Term 2028-02-29…2029-02-27: issue add_months(2029-02-28, −1) = 2029-01-28, one day before the last
    # cycle start add_months(2028-02-29, 11) = 2029-01-29, so one whole cycle is left but the invoice is out.
    sub = active(paid="2028-02-28 10:00", activated="2028-02-29 10:00")
    run_until(sub, "2029-01-28")
    assert sub.renewal_invoice_key == "renew:2029-02-28"
    with pytest.raises(RuleViolation) as err:
        prepaid.change_quantity(sub, at("2029-01-28 10:00"), 12)
    assert err.value.code == "BILL-RENEWAL-INVOICE"


@pytest.mark.parametrize(("paid_on", "effective"), [
    ("2026-09-30", "2026-10-01"),
    ("2026-10-01", "2026-11-01"),  # paid on a cycle start: the next one (strictly after)
])
def test_added_seats_start_at_the_first_cycle_after_payment(paid_on: str, effective: str) -> None:
    sub = active()
    prepaid.change_quantity(sub, at("2026-09-10 10:00"), 12)
    key = sub.charges[0].key
    run_until(sub, paid_on)
    prepaid.paid(sub, at(f"{paid_on} 15:00"), [key], CALENDAR)
    assert sub.pending_seats[0]["effective"] == effective
    run_until(sub, (D(effective) - timedelta(days=1)).isoformat())
    assert sub.quantity == 10
    run_until(sub, effective)
    assert (sub.quantity, sub.pending_seats) == (12, [])
    assert ("seats_added", effective) in notices(sub)


def test_unpaid_added_seats_are_part_of_the_renewal_quantity() -> None:
    sub = active()
    prepaid.change_quantity(sub, at("2027-05-10 10:00"), 12)  # 1 cycle (06-01): unit 3,300, never paid
    run_until(sub, "2027-06-01")
    renew = sub.charges[-1]
    assert (renew.kind, renew.quantity) == (LineKind.RENEW, 12)  # D-PREPAID-RENEW-QTY


# ---------------------------------------------------------------- reductions and cancellation
def test_a_mid_term_decrease_is_refused_even_before_the_deadline() -> None:
    sub = active()
    with pytest.raises(RuleViolation) as refused:
        prepaid.change_quantity(sub, at("2027-03-15 10:00"), 7)
    assert refused.value.code == "TERM-REDUCE-1M"
    assert (sub.quantity, sub.next_term_quantity, sub.charges, sub.requests) == (10, None, [], [])


def test_a_reduction_for_the_renewal_is_kept_as_evidence() -> None:
    sub = active()
    prepaid.schedule_quantity(sub, at("2027-03-15 10:00"), 7)
    assert (sub.quantity, sub.next_term_quantity, sub.charges) == (10, 7, [])
    [req] = sub.requests
    assert (req.contract, req.holder, req.product, req.quantity, req.wish) == ("s1", "株式会社アクメ", "M365-BP", 7,
                                                                               "reduce to 7")
    assert req.requested_at == at("2027-03-15 10:00").instant


@pytest.mark.parametrize("action", ["schedule", "cancel", "auto_renew_off"])
def test_requests_are_accepted_through_the_deadline_day_and_refused_after(action: str) -> None:
    def request(sub: Subscription, when: When) -> None:
        if action == "schedule":
            prepaid.schedule_quantity(sub, when, 8)
        elif action == "cancel":
            prepaid.cancel(sub, when)
        else:
            prepaid.set_auto_renew(sub, when, False)

    request(active(), at("2027-05-31 23:59"))  # TERM-REDUCE-1M deadline, inclusive
    late = active()
    with pytest.raises(RuleViolation) as err:
        request(late, at("2027-06-01 00:00"))
    assert err.value.code == "TERM-REDUCE-1M"
    assert err.value.details["deadline"] == "2027-05-31"
    assert late.requests == [] and late.auto_renew


def test_cancel_is_a_request_not_to_renew() -> None:
    sub = active()
    prepaid.schedule_quantity(sub, at("2027-02-01 10:00"), 8)
    prepaid.cancel(sub, at("2027-05-20 10:00"))
    assert status(sub) is Status.ACTIVE
    assert (sub.auto_renew, sub.auto_renew_reason, sub.next_term_quantity) == (False, "cancellation request", None)
    assert [r.wish for r in sub.requests] == ["reduce to 8", "cancel"]
    run_until(sub, "2027-07-01")
    assert [c.kind for c in sub.charges] == []  # no renewal invoice
    assert status(sub) is Status.EXPIRED and sub.voids == []


def test_auto_renew_can_be_turned_on_again_only_before_the_renewal_invoice() -> None:
    sub = active()
    prepaid.set_auto_renew(sub, at("2027-05-01 10:00"), False)
    prepaid.set_auto_renew(sub, at("2027-05-31 10:00"), True)
    assert sub.auto_renew and sub.auto_renew_reason is None
    prepaid.set_auto_renew(sub, at("2027-05-31 11:00"), False)
    with pytest.raises(RuleViolation) as err:
        prepaid.set_auto_renew(sub, at("2027-06-01 10:00"), True)
    assert err.value.code == "BILL-RENEWAL-INVOICE"


def test_schedule_needs_auto_renew() -> None:
    sub = active()
    prepaid.cancel(sub, at("2027-05-01 10:00"))
    with pytest.raises(InvalidInput) as err:
        prepaid.schedule_quantity(sub, at("2027-05-02 10:00"), 5)
    assert err.value.code == "SUB-NO-RENEWAL"


# ---------------------------------------------------------------- renewal invoice, renewal, non-payment
def test_the_renewal_invoice_goes_out_a_month_ahead_at_the_then_current_price() -> None:
    sub = active()
    prepaid.schedule_quantity(sub, at("2027-03-15 10:00"), 7)
    run_until(sub, "2027-05-31")
    assert notices(sub) == [("renewal_reminder", "2027-05-24")]  # deadline 05-31 − 7 days
    run_until(sub, "2027-06-01")
    [line] = sub.charges
    assert (line.kind, line.quantity, line.unit_amount) == (LineKind.RENEW, 7, 43_200)  # price on 06-01
    assert (line.period_start, line.period_end) == (D("2027-07-01"), D("2028-06-30"))
    assert line.due == D("2027-06-17") and line.key == "renew:2027-07-01"
    assert (sub.renewal_invoice_key, sub.renewal_price) == ("renew:2027-07-01", 43_200)
    assert ("renewal_invoice", "2027-06-01") in notices(sub)


@pytest.mark.parametrize("paid_at", ["2027-06-10 10:00", "2027-06-17 23:59"])
def test_a_paid_renewal_renews_at_the_invoiced_price_and_quantity(paid_at: str) -> None:
    sub = active()
    prepaid.schedule_quantity(sub, at("2027-03-15 10:00"), 7)
    run_until(sub, paid_at[:10])
    prepaid.paid(sub, at(paid_at), ["renew:2027-07-01"], CALENDAR)
    sub.drain()
    run_until(sub, "2027-07-01")
    assert status(sub) is Status.ACTIVE and sub.auto_renew
    assert (sub.term_start, sub.term_end, sub.term_number) == (D("2027-07-01"), D("2028-06-30"), 2)
    assert (sub.quantity, sub.unit_price, sub.next_term_quantity) == (7, 43_200, None)
    assert sub.charges == [] and sub.notices == []  # TERM-RENEW-AUTO without a new invoice
    assert [e.rule for e in sub.events if e.kind == "renewed"] == ["TERM-RENEW-AUTO"]


def test_an_unpaid_renewal_stops_the_service_at_the_term_end() -> None:
    sub = active()
    run_until(sub, "2027-06-17")
    assert sub.auto_renew
    run_until(sub, "2027-06-18")
    assert (sub.auto_renew, sub.auto_renew_reason) == (False, "nonpayment")  # BILL-NONPAY-STOP
    assert ("nonpayment", "2027-06-18") in notices(sub)
    run_until(sub, "2027-06-30")
    assert status(sub) is Status.ACTIVE  # users keep the service to the last day of the term
    run_until(sub, "2027-07-01")
    assert status(sub) is Status.EXPIRED
    assert sub.voids == ["renew:2027-07-01"]  # D-NONPAY-VOID
    run_until(sub, "2027-07-31")
    assert status(sub) is Status.DISABLED  # LIFE-EXPIRED-30D
    run_until(sub, "2027-10-29")
    assert status(sub) is Status.DELETED  # 07-01 + 30 + 90 days


def test_a_late_payment_before_the_term_end_cures_the_nonpayment() -> None:
    sub = active()
    run_until(sub, "2027-06-20")
    prepaid.paid(sub, at("2027-06-20 10:00"), ["renew:2027-07-01"], CALENDAR)
    assert (sub.auto_renew, sub.auto_renew_reason, sub.renewal_paid) == (True, None, True)  # D-PREPAID-LATE-PAY
    run_until(sub, "2027-07-01")
    assert status(sub) is Status.ACTIVE and sub.term_start == D("2027-07-01")


def test_the_second_term_gets_its_own_renewal_invoice() -> None:
    sub = active()
    run_until(sub, "2027-06-01")
    prepaid.paid(sub, at("2027-06-02 10:00"), ["renew:2027-07-01"], CALENDAR)
    run_until(sub, "2028-06-01")
    assert [c.key for c in sub.charges] == ["renew:2027-07-01", "renew:2028-07-01"]
    assert sub.charges[-1].due == D("2028-06-17")


def test_due_items_only_from_the_states_that_use_them() -> None:
    assert list(prepaid.due(ordered())) == []
    kinds = {what for _, what in prepaid.due(active())}
    assert kinds == {"renewal_reminder", "renewal_invoice", "term_end"}
