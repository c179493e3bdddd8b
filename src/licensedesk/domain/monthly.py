"""``calendar_month`` billing (preset ``monthly-prorated``, POLICIES.md §2 "monthly-prorated", seed 000).

The order bills its first (partial) calendar month at once; the 1st of every
month bills that month at the current quantity plus the adjustments accrued
since the last invoice (BILL-PRORATE-DAILY). A cancellation takes effect at the
end of the month and, inside the minimum term, charges the fees up to its end
(TERM-MIN-1Y); the data is then kept 60 days (LIFE-RETAIN-60D). The term renews
on the day after its end at the catalog price of that day (TERM-RENEW-AUTO,
PRICE-LOCK-12M).

Invariant: the current month is billed through ``_covered_to`` (the month end,
or the stop date inside the month). Every change of quantity, price or stop
date accrues the difference for the days still covered, so nothing is billed
twice or missed.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

from .calendar import ONE_DAY, Period, add_months, month_end, months_between
from .errors import InvalidInput
from .explain import Explanation, because
from .money import prorate
from .subscription import LineKind, PriceBook, Status, Subscription, When, refuse_billing_change


# ------------------------------------------------------------------ dates
def stop_date(sub: Subscription) -> date | None:
    """The last day of service as things stand: the cancellation's effective date, or the term end
    when auto-renew is off; ``None`` while the subscription goes on renewing."""
    if sub.cancel_effective is not None:
        return sub.cancel_effective
    return None if sub.auto_renew else sub.term_end


def _covered_to(sub: Subscription, d: date) -> date:
    """How far ``d``'s calendar month is billed: its end, or the stop date if that comes first."""
    stop = stop_date(sub)
    return month_end(d) if stop is None else min(month_end(d), stop)


def min_term_end(sub: Subscription) -> date | None:
    """TERM-MIN-1Y: last day of the minimum term, counted from the first term start (renewed terms are full)."""
    months = sub.policy.min_term_months
    if not months or sub.term_start is None:
        return None
    left = months - sub.term.months * (sub.term_number - 1)
    return add_months(sub.term_start, left) - ONE_DAY if left > 0 else None


def _month_starts(after: date, through: date) -> Iterator[date]:
    first = month_end(after) + ONE_DAY
    while first <= through:
        yield first
        first = month_end(first) + ONE_DAY


# ---------------------------------------------------------------- charges
def _per_day(price: int, period: Period) -> tuple[int, str, str]:
    """Per-seat charge for ``period`` inside one calendar month: the full price, or floor(price × days / month)."""
    days = month_end(period.start).day
    if period.days == days:
        return price, f"{price:,}", f"{price:,}"
    unit = prorate(price, period.days, days)
    return (unit, f"floor({price:,} × {period.days} / {days}) = {unit:,}",
            f"floor({price:,} × {period.days} ÷ {days}) = {unit:,}")


def _why(rule: str, unit_en: str, unit_ja: str, seats: int, period: Period, sign: str = "", **inputs: Any
         ) -> Explanation:
    return because(rule, f"{sign}{unit_en} per seat × {seats} seats, {period.start}…{period.end}",
                   f"{sign}{unit_ja} 円/席 × {seats} 席（期間 {period.start}〜{period.end}）",
                   seats=seats, period_start=period.start.isoformat(), period_end=period.end.isoformat(), **inputs)


def _accrue(sub: Subscription, rule: str, price: int, seats: int, period: Period, key: str, **inputs: Any) -> None:
    """Accrue an ``adjustment`` for ``seats`` (negative: a credit) over ``period`` to the next monthly invoice."""
    unit, en, ja = _per_day(price, period)
    sign = -1 if seats < 0 else 1
    why = _why(rule, en, ja, abs(seats), period, "−" if sign < 0 else "", unit_price=price, **inputs)
    sub.accrued.append({"kind": LineKind.ADJUSTMENT.value, "quantity": abs(seats), "unit_amount": sign * unit,
                        "period_start": period.start.isoformat(), "period_end": period.end.isoformat(),
                        "key": key, **why.as_dict()})


def _flush(sub: Subscription) -> None:
    """Bill every accrued adjustment (they are plain JSON while they wait) and clear the list."""
    for item in sub.accrued:
        why = Explanation(item["rule"], item["formula"]["en"], item["formula"]["ja"], item.get("inputs", {}))
        period = Period(date.fromisoformat(item["period_start"]), date.fromisoformat(item["period_end"]))
        sub.charge(LineKind(item["kind"]), item["quantity"], item["unit_amount"], period, item["key"], why)
    sub.accrued = []


def _bill_month(sub: Subscription, kind: LineKind, first: date) -> None:
    """The month of ``first`` from ``first`` to its end (or the stop date), at the current quantity and price."""
    period = Period(first, _covered_to(sub, first))
    unit, en, ja = _per_day(sub.unit_price, period)
    rule = "PRICE-LOCK-12M" if period.days == month_end(first).day else "BILL-PRORATE-DAILY"
    why = _why(rule, en, ja, sub.quantity, period, unit_price=sub.unit_price,
               price_locked_until=sub.price_locked_until)
    sub.charge(kind, sub.quantity, unit, period, f"{kind.value}:{first.isoformat()}", why)


def _restop(sub: Subscription, when: When, old_stop: date | None) -> None:
    """Auto-renew changed the stop date: credit (or charge back) the days of this month no longer (or again)
    covered — only in the month holding the term end, after its cycle line was billed."""
    month_to = month_end(when.today)
    old_end = month_to if old_stop is None else min(month_to, old_stop)
    new_end = _covered_to(sub, when.today)
    if old_end == new_end:
        return
    seats = sub.quantity if new_end > old_end else -sub.quantity
    period = Period(min(old_end, new_end) + ONE_DAY, max(old_end, new_end))
    _accrue(sub, "TERM-RENEW-AUTO", sub.unit_price, seats, period,
            f"auto-renew:{when.instant.isoformat()}#{len(sub.accrued)}", auto_renew=sub.auto_renew)


# ---------------------------------------------------------------- actions
def place(sub: Subscription, when: When, coterm_end: date | None) -> None:
    if coterm_end is not None:
        raise sub.refuse("COTERM", "calendar-month subscriptions cannot be aligned",
                         "暦月請求の契約は終了日を揃えられません")
    sub.start_term(when, when.today, sub.term.months)
    sub.move_to(Status.ACTIVE, when, "ORD-ADD-PRODUCT", term_start=when.today)
    _bill_month(sub, LineKind.NEW, when.today)


def change_quantity(sub: Subscription, when: When, quantity: int) -> None:
    """BILL-PRORATE-DAILY: up or down at once; the difference accrues for the rest of the month."""
    sub.require_status("change the quantity of", Status.ACTIVE)
    sub.require_quantity(quantity)
    changed = quantity - sub.quantity
    if not changed:
        return
    end = _covered_to(sub, when.today)
    if end >= when.today:
        _accrue(sub, "BILL-PRORATE-DAILY", sub.unit_price, changed, Period(when.today, end),
                f"adjust:{when.instant.isoformat()}#{len(sub.accrued)}", from_quantity=sub.quantity,
                to_quantity=quantity)
    sub.record("quantity_changed", when, "BILL-PRORATE-DAILY", from_quantity=sub.quantity, quantity=quantity)
    sub.quantity = quantity


def _require_no_pending_cancel(sub: Subscription, action: str) -> None:
    if sub.cancel_effective is not None:
        raise InvalidInput(
            f"cannot {action} subscription {sub.ref}: it is cancelled with effect from {sub.cancel_effective}",
            f"{sub.ref} は {sub.cancel_effective} 付で解約予定のため、この操作はできません",
            code="SUB-CANCEL-PENDING", cancel_effective=sub.cancel_effective.isoformat())


def schedule_quantity(sub: Subscription, when: When, quantity: int) -> None:
    """The quantity of the next term, applied at renewal; possible any time before the term end."""
    sub.require_status("schedule a renewal change for", Status.ACTIVE)
    _require_no_pending_cancel(sub, "schedule a renewal change for")
    sub.require_renewal_change(quantity)
    sub.next_term_quantity = quantity
    sub.record("next_term_quantity_set", when, "TERM-RENEW-AUTO", quantity=quantity)


def set_auto_renew(sub: Subscription, when: When, enabled: bool) -> None:
    """No opt-out deadline under this preset; in the term's last month the days after the term end are
    credited (off) or charged back (on)."""
    sub.require_status("change auto-renew of", Status.ACTIVE)
    if enabled:
        _require_no_pending_cancel(sub, "turn auto-renew on for")
    old_stop = stop_date(sub)
    sub.auto_renew = enabled
    sub.auto_renew_reason = None if enabled else "customer"
    if not enabled:
        sub.next_term_quantity = None
    _restop(sub, when, old_stop)
    sub.record("auto_renew_changed", when, "TERM-RENEW-AUTO", enabled=enabled)


def cancel(sub: Subscription, when: When) -> None:
    """Effective at the end of the current month, status ``cancelled`` the day after. A pending cancellation
    stops the renewal, and never extends the service: a term ending sooner without renewal stops first."""
    sub.require_status("cancel", Status.ACTIVE)
    _require_no_pending_cancel(sub, "cancel")
    sub.cancel_effective = _covered_to(sub, when.today)  # the month end, or an earlier non-renewing term end
    sub.next_term_quantity = None
    minimum = min_term_end(sub)
    early = minimum is not None and sub.cancel_effective < minimum
    sub.record("cancel_requested", when, "TERM-MIN-1Y" if early else "LIFE-RETAIN-60D",
               effective=sub.cancel_effective, min_term_end=minimum, early_termination=early)


# ----------------------------------------------------------------- the tick
def due(sub: Subscription) -> Iterator[tuple[date, str]]:
    """Everything still to happen; items of one day run in the order given (stop or renew, then the month)."""
    if sub.status is Status.ACTIVE and sub.term_start and sub.term_end:
        if sub.cancel_effective is not None:
            yield sub.cancel_effective + ONE_DAY, "cancellation"
        else:
            yield sub.term_end + ONE_DAY, "term_end"
        if stop_date(sub) is None:
            yield sub.term_end - timedelta(days=sub.policy.reminders.optout_days_before), "renewal_reminder"
        last = stop_date(sub) or sub.term_end
        done = sub.processed_through  # the next month start after it; the later ones come after that one
        first = next(_month_starts(max(sub.term_start, done) if done else sub.term_start, last + ONE_DAY), None)
        if first is not None:
            yield first, "month"
    yield from sub.stop_lifecycle_due()


def run(sub: Subscription, when: When, what: str, prices: PriceBook) -> None:
    if what == "month":
        if sub.status is Status.ACTIVE:
            _bill_month(sub, LineKind.CYCLE, when.today)
        _flush(sub)
    elif what == "cancellation" and sub.status is Status.ACTIVE:
        _finish_cancellation(sub, when)
    elif what == "term_end" and sub.status is Status.ACTIVE and sub.cancel_effective is None:
        if sub.auto_renew:
            renew(sub, when, prices)
        else:
            sub.expire(when)
            _flush(sub)
    elif what == "renewal_reminder" and sub.status is Status.ACTIVE and stop_date(sub) is None:
        assert sub.term_end is not None
        sub.notify("renewal_reminder", when.today, "TERM-RENEW-AUTO", term_end=sub.term_end.isoformat(),
                   renews_on=(sub.term_end + ONE_DAY).isoformat(), quantity=sub.next_term_quantity or sub.quantity)
    else:
        sub.run_stop_lifecycle(when, what)


def _finish_cancellation(sub: Subscription, when: When) -> None:
    """The day after the effective date: early-termination charge inside the minimum term, last adjustments,
    status ``cancelled``, data kept ``retain_after_cancel_days`` (LIFE-RETAIN-60D)."""
    minimum = min_term_end(sub)
    if minimum is not None and when.today <= minimum:
        _early_termination(sub, Period(when.today, minimum))
    _flush(sub)
    sub.delete_on = when.today + timedelta(days=sub.policy.retain_after_cancel_days)
    sub.move_to(Status.CANCELLED, when, "LIFE-RETAIN-60D", effective=sub.cancel_effective, delete_on=sub.delete_on)


def _early_termination(sub: Subscription, rest: Period) -> None:
    """TERM-MIN-1Y: whole months × price plus the last partial month by day (one floor per seat)."""
    price = sub.unit_price
    whole, partial = months_between(rest.start, rest.end)
    unit, en, ja = price * whole, f"{price:,} × {whole}", f"{price:,} × {whole}"
    if partial is not None:
        base = Period(partial.start, add_months(partial.start, 1) - ONE_DAY)
        part = prorate(price, partial.days, base.days)
        unit += part
        en += f" + floor({price:,} × {partial.days} / {base.days})"
        ja += f" + floor({price:,} × {partial.days} ÷ {base.days})"
    why = _why("TERM-MIN-1Y", f"{en} = {unit:,}", f"{ja} = {unit:,}", sub.quantity, rest, unit_price=price,
               whole_months=whole, partial_days=partial.days if partial else 0, min_term_end=rest.end.isoformat())
    sub.charge(LineKind.EARLY_TERMINATION, sub.quantity, unit, rest, "early_termination", why)


def renew(sub: Subscription, when: When, prices: PriceBook) -> None:
    """TERM-RENEW-AUTO: a new term at the catalog price of the day (a new PRICE-LOCK-12M), scheduled quantity
    applied. A mid-month renewal that changes price or quantity re-bills the rest of the month."""
    old_price, old_quantity = sub.unit_price, sub.quantity
    sub.unit_price = prices.unit_price(sub.offer, sub.term, sub.billing, when.today)
    if sub.next_term_quantity is not None:
        sub.quantity, sub.next_term_quantity = sub.next_term_quantity, None
    sub.term_number += 1
    sub.start_term(when, when.today, sub.term.months)
    sub.record("renewed", when, "TERM-RENEW-AUTO", term_start=sub.term_start, term_end=sub.term_end,
               quantity=sub.quantity, unit_price=sub.unit_price, previous_unit_price=old_price)
    if when.today.day != 1 and (old_price, old_quantity) != (sub.unit_price, sub.quantity):
        rest = Period(when.today, month_end(when.today))
        day = when.today.isoformat()
        _accrue(sub, "TERM-RENEW-AUTO", old_price, -old_quantity, rest, f"renew-credit:{day}", term="previous")
        _accrue(sub, "TERM-RENEW-AUTO", sub.unit_price, sub.quantity, rest, f"renew-charge:{day}", term="new")


change_billing = refuse_billing_change  # TERM-NO-FREQ-CHANGE: never mid-term under this preset
