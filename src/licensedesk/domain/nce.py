"""``charge_cycle`` billing (preset ``mca-nce``, POLICIES.md §2 "mca-nce").

Cycles are anchored on the term start and invoiced in advance on their first
day. Cancellation and seat decreases live inside 168-hour windows
(NCE-CANCEL-168H, NCE-REDUCE-168H), auto-renew can be turned off until the
opt-out deadline (TERM-RENEW-OPTOUT-30D), and the term renews on the day
after its end (TERM-RENEW-AUTO).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from fractions import Fraction

from .calendar import ONE_DAY, Billing, Period, Term, add_months, months_between
from .explain import because
from .money import prorate, scale
from .policy import BillingChange
from .subscription import (
    LineKind,
    PriceBook,
    SeatAddition,
    Status,
    Subscription,
    When,
    because_price,
)


def cancel_allowed_until(sub: Subscription) -> datetime | None:
    """NCE-CANCEL-168H: the window runs from the order (or the renewal that began the term)."""
    hours = sub.policy.cancel_window_hours
    if hours is None or sub.term_began_at is None:
        return None
    return max(sub.ordered_at, sub.term_began_at) + timedelta(hours=hours)


def optout_deadline(sub: Subscription) -> date | None:
    """TERM-RENEW-OPTOUT-30D: the last day to turn auto-renew off (term end − N days, inclusive).

    A term shorter than the opt-out period (P1M) can be opted out of until its
    end (docs/decisions.md, D-OPTOUT-P1M).
    """
    days = sub.policy.auto_renew_optout_days
    if days is None or sub.term_end is None or sub.term_start is None:
        return None
    deadline = sub.term_end - timedelta(days=days)
    return deadline if deadline >= sub.term_start else sub.term_end


def _cycle_unit(sub: Subscription, cycle: Period, nominal: Period) -> tuple[int, str]:
    """Charge per seat for a whole (or term-cut) cycle, with the formula that produced it."""
    price = sub.unit_price
    if cycle == nominal:
        return price, f"{price:,}"
    if sub.billing is Billing.MONTHLY:
        unit = prorate(price, cycle.days, nominal.days)
        return unit, f"floor({price:,} × {cycle.days} / {nominal.days})"
    whole, rest = months_between(cycle.start, cycle.end)  # COTERM: by months, last part by days
    months = Fraction(whole)
    text = f"{whole}"
    if rest is not None:
        base = Period(rest.start, add_months(rest.start, 1) - ONE_DAY)
        months += Fraction(rest.days, base.days)
        text += f" + {rest.days}/{base.days}"
    cycle_len = sub.cycle_months
    return scale(price, months / cycle_len), f"floor({price:,} × ({text}) / {cycle_len})"


def charge_cycle(sub: Subscription, cycle_start: date, kind: LineKind) -> None:
    nominal, cycle = sub.cycles(cycle_start)
    unit, formula = _cycle_unit(sub, cycle, nominal)
    rule = "TERM-RENEW-AUTO" if kind is LineKind.RENEW else ("COTERM" if cycle != nominal else "PRICE-ONE")
    why = because(rule, f"{formula} per seat × {sub.quantity} seats, cycle {cycle.start}…{cycle.end}",
                  f"{formula} 円/席 × {sub.quantity} 席（期間 {cycle.start}〜{cycle.end}）",
                  unit_price=sub.unit_price, quantity=sub.quantity, cycle_start=cycle.start, cycle_end=cycle.end)
    sub.charge(kind, sub.quantity, unit, cycle, f"{kind.value}:{cycle.start.isoformat()}", why)
    if kind is not LineKind.CYCLE or cycle_start == sub.term_start:
        sub.seat_additions = [SeatAddition(sub.term_began_at or sub.ordered_at, sub.quantity, unit, cycle.end,
                                           sub.quantity)]


def place(sub: Subscription, when: When, coterm_end: date | None) -> None:
    sub.start_term(when, when.today, sub.term.months, coterm_end)
    sub.first_term_end = coterm_end
    sub.move_to(Status.ACTIVE, when, "ORD-ADD-PRODUCT", term_start=when.today)
    charge_cycle(sub, when.today, LineKind.CYCLE)


def change_quantity(sub: Subscription, when: When, quantity: int) -> None:
    sub.require_status("change the quantity of", Status.ACTIVE)
    sub.require_quantity(quantity)
    if quantity > sub.quantity:
        _add_seats(sub, when, quantity - sub.quantity)
    elif quantity < sub.quantity:
        _remove_seats(sub, when, sub.quantity - quantity)


def _add_seats(sub: Subscription, when: When, added: int) -> None:
    nominal, cycle = sub.cycles(when.today)
    days = cycle.remaining_from(when.today)
    unit = prorate(sub.unit_price, days, nominal.days)
    why = because_price("PRICE-ONE", sub.unit_price, days, nominal.days, unit, added=added,
                        from_date=when.today, cycle_end=cycle.end)
    sub.charge(LineKind.ADD_QUANTITY, added, unit, Period(when.today, cycle.end),
               f"add:{when.instant.isoformat()}", why)
    sub.seat_additions.append(SeatAddition(when.instant, added, unit, cycle.end, added))
    sub.quantity += added
    sub.record("quantity_changed", when, "PRICE-ONE", added=added, quantity=sub.quantity)


def _remove_seats(sub: Subscription, when: When, removed: int) -> None:
    hours = sub.policy.cancel_window_hours or 0
    open_additions = [a for a in sub.seat_additions
                      if a.remaining > 0 and when.instant <= a.at + timedelta(hours=hours)]
    removable = sum(a.remaining for a in open_additions)
    if removable < removed:
        raise sub.refuse(
            "NCE-REDUCE-168H",
            f"only {removable} seat(s) were added within the last {hours} hours and can be removed now; "
            f"schedule the new quantity for the renewal instead",
            f"{hours} 時間以内に追加された {removable} 席のみ削減できます。更新時の数量変更として予約してください",
            removable=removable, requested=removed,
            windows=[{"quantity": a.remaining, "allowed_until": (a.at + timedelta(hours=hours)).isoformat()}
                     for a in open_additions],
            now=when.instant.isoformat(),
        )
    left = removed
    for addition in sorted(open_additions, key=lambda a: a.at, reverse=True):  # last in, first out
        take = min(left, addition.remaining)
        if take:
            _credit_seats(sub, when, addition, take)
            addition.remaining -= take
            left -= take
    sub.quantity -= removed
    sub.record("quantity_changed", when, "NCE-REDUCE-168H", removed=removed, quantity=sub.quantity)


def _in_full_refund(sub: Subscription, when: When, since: datetime) -> bool:
    hours = sub.policy.full_refund_hours
    return hours is not None and when.instant <= since + timedelta(hours=hours)


def _credit_seats(sub: Subscription, when: When, addition: SeatAddition, seats: int) -> None:
    nominal, cycle = sub.cycles(when.today)
    key = f"remove:{when.instant.isoformat()}:{addition.at.isoformat()}"
    if _in_full_refund(sub, when, addition.at):
        why = because("NCE-REDUCE-168H", f"full refund within {sub.policy.full_refund_hours} h: {addition.unit_amount:,}"
                      " per seat", f"{sub.policy.full_refund_hours} 時間以内のため全額返金: 1席 {addition.unit_amount:,} 円",
                      added_at=addition.at, seats=seats)
        sub.charge(LineKind.REMOVE_QUANTITY, seats, -addition.unit_amount, Period(when.today, cycle.end), key, why)
        return
    days = cycle.remaining_from(when.today)
    unit = prorate(sub.unit_price, days, nominal.days)
    why = because_price("NCE-REDUCE-168H", sub.unit_price, days, nominal.days, unit, seats=seats,
                        added_at=addition.at)
    sub.charge(LineKind.REMOVE_QUANTITY, seats, -unit, Period(when.today, cycle.end), key, why)


def cancel(sub: Subscription, when: When) -> None:
    sub.require_status("cancel", Status.ACTIVE, Status.SUSPENDED)
    until = cancel_allowed_until(sub)
    if until is None or when.instant > until:
        until = until.astimezone(when.instant.tzinfo) if until else None
        raise sub.refuse(
            "NCE-CANCEL-168H",
            f"the cancellation window closed at {until.isoformat() if until else '—'}; the subscription can "
            "be stopped at the term end by turning auto-renew off (LIFE-NO-REFUND-CANCEL)",
            f"キャンセル期限（{until.isoformat() if until else '—'}）を過ぎています。自動更新を停止すると期間満了で終了します",
            allowed_until=until.isoformat() if until else None,
        )
    cycle = sub.billed_cycle(when.today)
    if _in_full_refund(sub, when, sub.term_began_at or sub.ordered_at):
        for addition in sub.seat_additions:
            if addition.remaining:
                why = because("NCE-CANCEL-168H", f"full refund within {sub.policy.full_refund_hours} h",
                              f"{sub.policy.full_refund_hours} 時間以内のため全額返金", added_at=addition.at)
                sub.charge(LineKind.CANCEL, addition.remaining, -addition.unit_amount,
                           Period(when.today, cycle.end), f"cancel:{addition.at.isoformat()}", why)
    else:
        nominal = sub.nominal_cycle(when.today)
        days = cycle.remaining_from(when.today)
        unit = prorate(sub.unit_price, days, nominal.days)
        why = because_price("NCE-CANCEL-168H", sub.unit_price, days, nominal.days, unit, quantity=sub.quantity,
                            cancel_date=when.today)
        sub.charge(LineKind.CANCEL, sub.quantity, -unit, Period(when.today, cycle.end), "cancel", why)
    sub.next_term_quantity = None
    sub.delete_on = when.today + timedelta(days=sub.policy.retain_after_cancel_days)
    sub.move_to(Status.CANCELLED, when, "NCE-CANCEL-168H", delete_on=sub.delete_on)


def _check_deadline(sub: Subscription, when: When, what_en: str, what_ja: str) -> None:
    deadline = optout_deadline(sub)
    if deadline is not None and when.today > deadline:
        raise sub.refuse(
            "TERM-RENEW-OPTOUT-30D",
            f"{what_en} was possible until {deadline.isoformat()} ({sub.policy.auto_renew_optout_days} days "
            f"before the term end {sub.term_end})",
            f"{what_ja}の期限は {deadline.isoformat()}（期間満了 {sub.term_end} の"
            f"{sub.policy.auto_renew_optout_days} 日前）でした",
            deadline=deadline.isoformat(),
        )


def set_auto_renew(sub: Subscription, when: When, enabled: bool) -> None:
    sub.require_status("change auto-renew of", Status.ACTIVE)
    if not enabled and sub.auto_renew:
        _check_deadline(sub, when, "turning auto-renew off", "自動更新の停止")
        sub.next_term_quantity = None
    sub.auto_renew = enabled
    sub.auto_renew_reason = None if enabled else "customer"
    sub.record("auto_renew_changed", when, "TERM-RENEW-OPTOUT-30D", enabled=enabled)


def schedule_quantity(sub: Subscription, when: When, quantity: int) -> None:
    sub.require_renewal_change(quantity)
    _check_deadline(sub, when, "a change for the renewal", "更新時の変更")
    sub.next_term_quantity = quantity
    sub.record("next_term_quantity_set", when, "TERM-RENEW-OPTOUT-30D", quantity=quantity)


def change_billing(sub: Subscription, when: When, billing: Billing) -> None:
    """Billing frequency mid-term: only P3Y monthly ↔ annual, from the next cycle (else TERM-NO-FREQ-CHANGE)."""
    sub.require_status("change the billing of", Status.ACTIVE)
    allowed = (sub.policy.billing_change_midterm is BillingChange.P3Y_MONTHLY_ANNUAL_NEXT_CYCLE
               and sub.term is Term.P3Y and {sub.billing, billing} == {Billing.MONTHLY, Billing.ANNUAL})
    next_start = sub.nominal_cycle(when.today).end + ONE_DAY
    if not allowed or sub.term_end is None or next_start > sub.term_end:
        raise sub.refuse(
            "TERM-NO-FREQ-CHANGE",
            f"the billing frequency cannot change mid-term ({sub.term.value} {sub.billing.value} → {billing.value});"
            " only a P3Y term can switch between monthly and annual, from its next cycle",
            f"契約途中で支払い頻度は変更できません（{sub.term.value} {sub.billing.value} → {billing.value}）。"
            "3年契約の月払い・年払いの切り替えのみ、次の請求期間から可能です",
            billing=sub.billing.value, requested=billing.value)
    sub.pending_billing, sub.pending_billing_from = billing, next_start
    sub.record("billing_change_scheduled", when, "TERM-NO-FREQ-CHANGE", billing=billing.value, effective=next_start)


def _switch_billing(sub: Subscription, when: When, prices: PriceBook) -> None:
    assert sub.pending_billing is not None and sub.term_start is not None
    previous = sub.billing
    sub.billing, sub.cycle_anchor = sub.pending_billing, when.today
    sub.pending_billing = sub.pending_billing_from = None
    sub.unit_price = prices.unit_price(sub.offer, sub.term, sub.billing, sub.term_start)  # the term's locked price
    sub.record("billing_changed", when, "TERM-NO-FREQ-CHANGE", previous=previous.value, billing=sub.billing.value,
               unit_price=sub.unit_price)
    charge_cycle(sub, when.today, LineKind.CYCLE)


def suspend(sub: Subscription, when: When) -> None:
    """SUB-SUSPEND: users lose access, billing continues, auto-renew goes off (Partner Center lifecycle)."""
    sub.require_status("suspend", Status.ACTIVE)
    sub.auto_renew, sub.auto_renew_reason, sub.next_term_quantity = False, "suspended", None
    sub.move_to(Status.SUSPENDED, when, "SUB-SUSPEND")


def reactivate(sub: Subscription, when: When) -> None:
    """Back to active before the term end; auto-renew stays off until someone turns it on."""
    sub.require_status("reactivate", Status.SUSPENDED)
    sub.move_to(Status.ACTIVE, when, "SUB-SUSPEND")


BILLED = (Status.ACTIVE, Status.SUSPENDED)  # a suspended subscription is still billed


def due(sub: Subscription) -> Iterator[tuple[date, str]]:
    if sub.status in BILLED and sub.term_start and sub.term_end:
        anchor, step = sub.cycle_anchor or sub.term_start, sub.cycle_months
        k, done = _first_cycle_to_list(sub, anchor, step), sub.processed_through
        while (start := add_months(anchor, k * step)) <= sub.term_end:
            if sub.pending_billing_from is not None and start >= sub.pending_billing_from:
                yield sub.pending_billing_from, "billing_change"
                break
            if done is None or start > done:
                yield start, "cycle"
                break  # the later cycles come after this one
            k += 1
        yield sub.term_end + ONE_DAY, "term_end"
        until = cancel_allowed_until(sub)
        if until is not None:
            yield (until - timedelta(hours=sub.policy.reminders.cancel_window_hours_before)).date(), "window_notice"
        deadline = optout_deadline(sub)
        if deadline is not None and sub.auto_renew:
            yield deadline - timedelta(days=sub.policy.reminders.optout_days_before), "renewal_reminder"
    yield from sub.stop_lifecycle_due()


def _first_cycle_to_list(sub: Subscription, anchor: date, step: int) -> int:
    """The first cycle number ``k`` whose start may still be due: the starts of the earlier ones fall before
    ``processed_through`` (they lie in earlier months), so ``next_due`` would pass over them. A pending billing
    change cuts the list at its date, so then the cycles are walked from the first."""
    done = sub.processed_through
    if done is None or sub.pending_billing_from is not None:
        return 1
    months = (done.year - anchor.year) * 12 + done.month - anchor.month  # add_months(anchor, months) is in done's month
    return max(1, months // step)


def run(sub: Subscription, when: When, what: str, prices: PriceBook) -> None:
    if what == "cycle" and sub.status in BILLED:
        charge_cycle(sub, when.today, LineKind.CYCLE)
    elif what == "billing_change" and sub.status in BILLED:
        _switch_billing(sub, when, prices)
    elif what == "term_end" and sub.status is Status.SUSPENDED:
        sub.disable_at_term_end(when)
    elif what == "term_end" and sub.status is Status.ACTIVE:
        if sub.auto_renew:
            renew(sub, when, prices)
        else:
            sub.expire(when)
    elif what == "window_notice" and sub.status is Status.ACTIVE:
        until = cancel_allowed_until(sub)
        sub.notify("cancel_window_closing", when.today, "NCE-CANCEL-168H",
                   allowed_until=until.isoformat() if until else None)
    elif what == "renewal_reminder" and sub.status is Status.ACTIVE and sub.auto_renew:
        deadline = optout_deadline(sub)
        sub.notify("renewal_reminder", when.today, "TERM-RENEW-OPTOUT-30D",
                   deadline=deadline.isoformat() if deadline else None, term_end=str(sub.term_end))
    else:
        sub.run_stop_lifecycle(when, what)


def renew(sub: Subscription, when: When, prices: PriceBook) -> None:
    """TERM-RENEW-AUTO: a new full term at the current price, scheduled quantity applied, new window."""
    previous_price = sub.unit_price
    sub.unit_price = prices.unit_price(sub.offer, sub.term, sub.billing, when.today)
    if sub.next_term_quantity is not None:
        sub.quantity = sub.next_term_quantity
        sub.next_term_quantity = None
    sub.term_number += 1
    sub.start_term(when, when.today, sub.term.months)
    sub.record("renewed", when, "TERM-RENEW-AUTO", term_start=sub.term_start, term_end=sub.term_end,
               quantity=sub.quantity, unit_price=sub.unit_price, previous_unit_price=previous_price)
    charge_cycle(sub, when.today, LineKind.RENEW)
