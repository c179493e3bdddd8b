"""``prepaid`` billing (preset ``annual-prepaid``, POLICIES.md §2 "annual-prepaid", seed 001).

The customer pays before the service starts (ORD-PAY-FIRST): the order is an
invoice for the annual price, payment moves the subscription to provisioning
with a business-day deadline, and activation starts the term (ORD-FLOW). Added
seats are billed at once for whole remaining monthly cycles and take effect at
the first cycle start after payment (BILL-NO-PRORATE). Reductions and
cancellations only change the next term and must be requested by the day
before the renewal invoice is issued (TERM-REDUCE-1M); the renewal invoice
goes out a month ahead (BILL-RENEWAL-INVOICE) and an unpaid one stops the
service at the term end (BILL-NONPAY-STOP).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from fractions import Fraction

from .calendar import ONE_DAY, BusinessCalendar, Period, add_months, term_end
from .explain import because
from .money import scale
from .subscription import LineKind, PriceBook, ReductionRequest, Status, Subscription, When, refuse_billing_change

NEW_KEY = "new"
ADD_PREFIX = "add:"
RENEW_PREFIX = "renew:"
CANCEL_REASON = "cancellation request"
NONPAYMENT_REASON = "nonpayment"
ACCOUNT_DETAILS = ["admin_url", "contract_number", "login_id", "temporary_password"]


# ------------------------------------------------------------------ dates
def next_term_start(sub: Subscription) -> date | None:
    """TERM-RENEW-AUTO: the next term starts the day after the term end."""
    return None if sub.term_end is None else sub.term_end + ONE_DAY


def renewal_issue_date(sub: Subscription) -> date | None:
    """BILL-RENEWAL-INVOICE: add_months(next term start, −lead), anchored on the next start."""
    start = next_term_start(sub)
    return None if start is None else add_months(start, -(sub.policy.renewal_invoice_lead_months or 0))


def reduction_deadline(sub: Subscription) -> date | None:
    """TERM-REDUCE-1M: the last day (inclusive) to ask for a reduction or cancellation — the day before issue."""
    issue = renewal_issue_date(sub)
    return None if issue is None else issue - ONE_DAY


def renewal_due_date(sub: Subscription) -> date | None:
    """BILL-RENEWAL-INVOICE: the renewal invoice is due N days before the next term start."""
    start = next_term_start(sub)
    return None if start is None else start - timedelta(days=sub.policy.renewal_payment_due_days or 0)


def cycle_starts_after(sub: Subscription, d: date) -> list[date]:
    """Monthly cycle starts add_months(term start, k) of the current term strictly after ``d``."""
    assert sub.term_start is not None and sub.term_end is not None
    starts = (add_months(sub.term_start, k) for k in range(1, sub.term.months + 1))
    return [s for s in starts if d < s <= sub.term_end]


def _first_cycle_start_after(sub: Subscription, d: date) -> date:
    """The first monthly cycle start strictly after ``d`` (the next term start when none is left)."""
    starts = cycle_starts_after(sub, d)
    assert sub.term_end is not None
    return starts[0] if starts else sub.term_end + ONE_DAY


def _pending_total(sub: Subscription) -> int:
    return sum(int(p["quantity"]) for p in sub.pending_seats)


# ------------------------------------------------------------------ order, payment, activation
def place(sub: Subscription, when: When, coterm_end: date | None) -> None:
    """ORD-PAY-FIRST: invoice the annual price at once; the term starts only at activation.

    ``coterm_end`` is always None: the preset has no COTERM and ordering refuses alignment.
    """
    price, qty = sub.unit_price, sub.quantity
    why = because("ORD-PAY-FIRST",
                  f"{price:,} per seat (annual price, paid before the service starts) × {qty} seats = {price * qty:,}; "
                  "the term starts on the activation date (D-PREPAID-PERIOD)",
                  f"年額 {price:,} 円/席 × {qty} 席 = {price * qty:,} 円（入金確認後に開始。契約期間は有効化日から）",
                  unit_price=price, quantity=qty)
    sub.charge(LineKind.NEW, qty, price, None, NEW_KEY, why)
    sub.status, sub.status_since = Status.PENDING_PAYMENT, when.today
    sub.record("awaiting_payment", when, "ORD-PAY-FIRST", amount=price * qty)


def paid(sub: Subscription, when: When, charge_keys: list[str], calendar: BusinessCalendar) -> None:
    """A paid invoice's lines for ``sub``: order paid, renewal paid, or added seats paid."""
    for key in charge_keys:
        if key == NEW_KEY:
            _order_paid(sub, when, calendar)
        elif key == sub.renewal_invoice_key:
            _renewal_paid(sub, when)
        elif key.startswith(ADD_PREFIX):
            _seats_paid(sub, when, key)


def _order_paid(sub: Subscription, when: When, calendar: BusinessCalendar) -> None:
    """ORD-FLOW: payment confirmed → provisioning, to be activated within N business days."""
    if sub.status is not Status.PENDING_PAYMENT:
        return
    days = sub.policy.activation_sla_business_days or 0
    sub.activation_due = calendar.add_business_days(when.today, days)
    sub.move_to(Status.PROVISIONING, when, "ORD-FLOW", paid_on=when.today, business_days=days,
                activation_due=sub.activation_due)


def _renewal_paid(sub: Subscription, when: When) -> None:
    """BILL-RENEWAL-INVOICE paid; paid late but before the term end, it cures the non-payment (D-PREPAID-LATE-PAY)."""
    if sub.renewal_paid or sub.status is not Status.ACTIVE:
        return
    sub.renewal_paid = True
    cured = not sub.auto_renew and sub.auto_renew_reason == NONPAYMENT_REASON
    if cured:
        sub.auto_renew, sub.auto_renew_reason = True, None
    sub.record("renewal_paid", when, "BILL-RENEWAL-INVOICE", key=sub.renewal_invoice_key, due=renewal_due_date(sub),
               cured=cured)


def _seats_paid(sub: Subscription, when: When, key: str) -> None:
    """BILL-NO-PRORATE: paid seats start at the first monthly cycle start after the payment date."""
    pending = next((p for p in sub.pending_seats if p["key"] == key and p["effective"] is None), None)
    if pending is None or sub.status is not Status.ACTIVE:
        return
    effective = _first_cycle_start_after(sub, when.today)
    pending["paid_on"], pending["effective"] = when.today.isoformat(), effective.isoformat()
    sub.record("seats_paid", when, "BILL-NO-PRORATE", key=key, quantity=pending["quantity"], effective=effective)


def activate(sub: Subscription, when: When, calendar: BusinessCalendar) -> None:
    """ORD-FLOW: provisioning done → active; the term starts today; account details are sent."""
    if sub.status is Status.PENDING_PAYMENT:
        raise sub.refuse("ORD-PAY-FIRST", "the service starts only after the payment is confirmed",
                         "ご入金の確認後にサービスを開始します")
    sub.require_status("activate", Status.PROVISIONING)
    sub.start_term(when, when.today, sub.term.months)
    assert sub.term_start is not None and sub.term_end is not None
    late = sub.activation_due is not None and when.today > sub.activation_due
    sub.move_to(Status.ACTIVE, when, "ORD-FLOW", term_start=sub.term_start, term_end=sub.term_end,
                activation_due=sub.activation_due, late=late)
    sub.notify("activation", when.today, "ORD-FLOW", contract=sub.ref, holder=sub.customer_name,
               product=sub.offer, quantity=sub.quantity, term_start=sub.term_start.isoformat(),
               term_end=sub.term_end.isoformat(), sent=ACCOUNT_DETAILS)


# ------------------------------------------------------------------ customer requests
def change_quantity(sub: Subscription, when: When, quantity: int) -> None:
    """Up: billed at once for whole cycles (BILL-NO-PRORATE). Down: only for the next term (TERM-REDUCE-1M)."""
    sub.require_status("change the quantity of", Status.ACTIVE)
    sub.require_quantity(quantity)
    ordered = sub.quantity + _pending_total(sub)
    if quantity > ordered:
        _add_seats(sub, when, quantity - ordered)
    elif quantity < ordered:  # a decrease is only ever for the next term, asked for with at_renewal
        raise sub.refuse(
            "TERM-REDUCE-1M",
            "seats cannot be reduced mid-term; request the reduction for the renewal (at_renewal) "
            f"by {reduction_deadline(sub)}",
            f"期間中の席数削減はできません。{reduction_deadline(sub)} までに更新時の削減としてお申し込みください",
            deadline=str(reduction_deadline(sub)), requested=quantity,
        )


def _add_seats(sub: Subscription, when: When, added: int) -> None:
    assert sub.term_end is not None
    if sub.renewal_invoice_key is not None:
        raise sub.refuse("BILL-RENEWAL-INVOICE",
                         "the renewal invoice has been issued; add the seats after the renewal",
                         "更新請求書の発行後のため、追加は次期契約の開始後にご依頼ください", renewal_invoice=sub.renewal_invoice_key)
    starts = cycle_starts_after(sub, when.today)
    if not starts:
        raise sub.refuse("BILL-NO-PRORATE",
                         f"no whole monthly cycle is left before the term end {sub.term_end} (no daily proration)",
                         f"契約終了日 {sub.term_end} までに残る月単位の期間がありません（日割計算なし）",
                         term_end=sub.term_end.isoformat())
    n, months, price = len(starts), sub.term.months, sub.unit_price
    unit = scale(price, Fraction(n, months))
    why = because("BILL-NO-PRORATE",
                  f"floor({price:,} × {n} / {months}) = {unit:,} per seat × {added} seats: {n} whole monthly cycles "
                  f"{starts[0]}…{sub.term_end}",
                  f"floor({price:,} × {n} ÷ {months}) = 1席あたり {unit:,} 円 × {added} 席（残り {n} か月: "
                  f"{starts[0]}〜{sub.term_end}）",
                  unit_price=price, cycles=n, months=months, added=added, ordered_on=when.today)
    key = f"{ADD_PREFIX}{when.instant.isoformat()}"
    sub.charge(LineKind.ADD_QUANTITY, added, unit, Period(starts[0], sub.term_end), key, why)
    sub.pending_seats.append({"key": key, "quantity": added, "unit_amount": unit,
                              "ordered_on": when.today.isoformat(), "paid_on": None, "effective": None})
    sub.record("seats_ordered", when, "ORD-PAY-FIRST", key=key, added=added, unit_amount=unit, cycles=n)


def schedule_quantity(sub: Subscription, when: When, quantity: int) -> None:
    """TERM-REDUCE-1M: the quantity of the next term, requested by the reduction deadline."""
    sub.require_renewal_change(quantity)
    _check_deadline(sub, when, "TERM-REDUCE-1M", "a quantity change for the next term", "次期契約の数量変更")
    current = sub.quantity + _pending_total(sub)
    verb = "reduce" if quantity < current else "increase" if quantity > current else "keep"
    sub.next_term_quantity = quantity
    _keep_request(sub, when, quantity, f"{verb} to {quantity}")
    sub.record("next_term_quantity_set", when, "TERM-REDUCE-1M", quantity=quantity, deadline=reduction_deadline(sub))


def cancel(sub: Subscription, when: When) -> None:
    """TERM-REDUCE-1M: a request not to renew; the service runs to the term end, then expires."""
    sub.require_status("cancel", Status.ACTIVE)
    _check_deadline(sub, when, "TERM-REDUCE-1M", "a cancellation", "解約")
    sub.auto_renew, sub.auto_renew_reason = False, CANCEL_REASON
    sub.next_term_quantity = None
    _keep_request(sub, when, sub.quantity, "cancel")
    sub.record("auto_renew_changed", when, "TERM-REDUCE-1M", enabled=False, reason=CANCEL_REASON,
               deadline=reduction_deadline(sub))


def set_auto_renew(sub: Subscription, when: When, enabled: bool) -> None:
    """Off = a cancellation request (same deadline); on = allowed while the renewal invoice is not due yet."""
    sub.require_status("change auto-renew of", Status.ACTIVE)
    if enabled == sub.auto_renew:
        return
    if not enabled:
        cancel(sub, when)
        return
    _check_deadline(sub, when, "BILL-RENEWAL-INVOICE", "turning auto-renew on", "自動更新の再開")
    sub.auto_renew, sub.auto_renew_reason = True, None
    sub.record("auto_renew_changed", when, "BILL-RENEWAL-INVOICE", enabled=True)


def _check_deadline(sub: Subscription, when: When, rule: str, what_en: str, what_ja: str) -> None:
    deadline, issue, start = reduction_deadline(sub), renewal_issue_date(sub), next_term_start(sub)
    if deadline is None or when.today <= deadline:
        return
    raise sub.refuse(
        rule,
        f"{what_en} had to be requested by {deadline} (the day before the renewal invoice is issued on {issue}, "
        f"{sub.policy.renewal_invoice_lead_months} month(s) before the next term starts on {start})",
        f"{what_ja}の期限は {deadline} でした（次期契約開始日 {start} の"
        f"{sub.policy.renewal_invoice_lead_months} か月前 {issue} に更新請求書を発行する前日）",
        deadline=deadline.isoformat(), renewal_invoice_on=str(issue), next_term_start=str(start),
    )


def _keep_request(sub: Subscription, when: When, quantity: int, wish: str) -> None:
    """TERM-REDUCE-1M evidence: contract number, holder, product, quantity and wish."""
    sub.requests.append(ReductionRequest(when.instant, sub.ref, sub.customer_name, sub.offer, quantity, wish))


# ------------------------------------------------------------------ what falls due
def due(sub: Subscription) -> Iterator[tuple[date, str]]:
    if sub.status is Status.PROVISIONING and sub.activation_due is not None:
        yield sub.activation_due + ONE_DAY, "activation_overdue"
    if sub.status is Status.ACTIVE and sub.term_end is not None:
        for pending in sub.pending_seats:
            if pending["effective"] is not None and date.fromisoformat(pending["effective"]) <= sub.term_end:
                yield date.fromisoformat(pending["effective"]), "seats"
        issue, deadline, due_on = renewal_issue_date(sub), reduction_deadline(sub), renewal_due_date(sub)
        assert issue is not None and deadline is not None and due_on is not None
        if sub.auto_renew and sub.renewal_invoice_key is None:
            yield deadline - timedelta(days=sub.policy.reminders.optout_days_before), "renewal_reminder"
            yield issue, "renewal_invoice"
        if sub.renewal_invoice_key is not None and not sub.renewal_paid:
            yield due_on + ONE_DAY, "nonpayment"
        yield sub.term_end + ONE_DAY, "term_end"
    yield from sub.stop_lifecycle_due()


def run(sub: Subscription, when: When, what: str, prices: PriceBook) -> None:
    handler = _RUNS.get(what)
    if handler is None:
        sub.run_stop_lifecycle(when, what)
    elif sub.status is Status.ACTIVE or what == "activation_overdue":
        handler(sub, when, prices)


def _activation_overdue(sub: Subscription, when: When, prices: PriceBook) -> None:
    if sub.status is Status.PROVISIONING:
        sub.notify("activation_overdue", when.today, "ORD-FLOW", activation_due=str(sub.activation_due))


def _apply_seats(sub: Subscription, when: When, prices: PriceBook) -> None:
    """BILL-NO-PRORATE: paid seats join at their cycle start."""
    ready = [p for p in sub.pending_seats
             if p["effective"] is not None and date.fromisoformat(p["effective"]) <= when.today]
    for pending in ready:
        sub.pending_seats.remove(pending)
        sub.quantity += int(pending["quantity"])
        sub.record("quantity_changed", when, "BILL-NO-PRORATE", added=pending["quantity"], quantity=sub.quantity)
        sub.notify("seats_added", when.today, "BILL-NO-PRORATE", added=pending["quantity"], quantity=sub.quantity)


def _renewal_reminder(sub: Subscription, when: When, prices: PriceBook) -> None:
    if sub.auto_renew and sub.renewal_invoice_key is None:
        sub.notify("renewal_reminder", when.today, "TERM-REDUCE-1M", deadline=str(reduction_deadline(sub)),
                   renewal_invoice_on=str(renewal_issue_date(sub)), next_term_start=str(next_term_start(sub)))


def _renewal_invoice(sub: Subscription, when: When, prices: PriceBook) -> None:
    """BILL-RENEWAL-INVOICE: the next term at the then-current price, due N days before it starts."""
    start, due_on = next_term_start(sub), renewal_due_date(sub)
    if not sub.auto_renew or sub.renewal_invoice_key is not None or start is None or due_on is None:
        return
    price = prices.unit_price(sub.offer, sub.term, sub.billing, when.today)
    qty = sub.next_term_quantity if sub.next_term_quantity is not None else sub.quantity + _pending_total(sub)
    period = Period(start, term_end(start, sub.term.months))
    why = because("BILL-RENEWAL-INVOICE",
                  f"{price:,} per seat (catalog price on {when.today}) × {qty} seats for {period.start}…{period.end}; "
                  f"issued add_months({start}, −{sub.policy.renewal_invoice_lead_months}) = {when.today}, "
                  f"due {start} − {sub.policy.renewal_payment_due_days} days = {due_on}",
                  f"{when.today} 時点の価格 {price:,} 円/席 × {qty} 席（{period.start}〜{period.end}）、"
                  f"発行日 {when.today}、支払期日 {start} の {sub.policy.renewal_payment_due_days} 日前 = {due_on}",
                  unit_price=price, quantity=qty, next_term_start=start, due=due_on)
    key = f"{RENEW_PREFIX}{start.isoformat()}"
    sub.charge(LineKind.RENEW, qty, price, period, key, why, due=due_on)
    sub.renewal_invoice_key, sub.renewal_price, sub.next_term_quantity = key, price, qty
    sub.notify("renewal_invoice", when.today, "BILL-RENEWAL-INVOICE", next_term_start=start.isoformat(),
               due=due_on.isoformat(), quantity=qty, unit_price=price)


def _nonpayment(sub: Subscription, when: When, prices: PriceBook) -> None:
    """BILL-NONPAY-STOP: unpaid at the end of its due date → auto-renew off, the service stops at the term end."""
    if sub.renewal_invoice_key is None or sub.renewal_paid or not sub.policy.nonpayment_stops_at_term_end:
        return
    sub.auto_renew, sub.auto_renew_reason = False, NONPAYMENT_REASON
    sub.record("auto_renew_changed", when, "BILL-NONPAY-STOP", enabled=False, reason=NONPAYMENT_REASON)
    sub.notify("nonpayment", when.today, "BILL-NONPAY-STOP", due=str(renewal_due_date(sub)),
               stops_after=str(sub.term_end))


def _term_end(sub: Subscription, when: When, prices: PriceBook) -> None:
    """Paid renewal → the next term (TERM-RENEW-AUTO); otherwise expired, unpaid renewal voided (D-NONPAY-VOID)."""
    if sub.renewal_paid:
        _renew(sub, when)
        return
    stopped = sub.renewal_invoice_key is not None
    if sub.renewal_invoice_key is not None:
        sub.voids.append(sub.renewal_invoice_key)
    _reset_renewal(sub)
    sub.expire(when, "BILL-NONPAY-STOP" if stopped else "LIFE-EXPIRED-30D")


def _renew(sub: Subscription, when: When) -> None:
    assert sub.renewal_price is not None
    previous = sub.unit_price
    sub.unit_price = sub.renewal_price
    if sub.next_term_quantity is not None:
        sub.quantity = sub.next_term_quantity
    _reset_renewal(sub)
    sub.term_number += 1
    sub.start_term(when, when.today, sub.term.months)
    sub.record("renewed", when, "TERM-RENEW-AUTO", term_start=sub.term_start, term_end=sub.term_end,
               quantity=sub.quantity, unit_price=sub.unit_price, previous_unit_price=previous)


def _reset_renewal(sub: Subscription) -> None:
    """The term is over: its renewal state and not-yet-effective seats (invoiced in the renewal) go."""
    sub.next_term_quantity, sub.pending_seats = None, []
    sub.renewal_invoice_key, sub.renewal_price, sub.renewal_paid = None, None, False


_RUNS: dict[str, Callable[[Subscription, When, PriceBook], None]] = {
    "activation_overdue": _activation_overdue,
    "seats": _apply_seats,
    "renewal_reminder": _renewal_reminder,
    "renewal_invoice": _renewal_invoice,
    "nonpayment": _nonpayment,
    "term_end": _term_end,
}


change_billing = refuse_billing_change  # TERM-NO-FREQ-CHANGE: never mid-term under this preset
