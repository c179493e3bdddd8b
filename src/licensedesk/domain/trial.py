"""Trials (ORD-TRIAL): 30 days free, at most 25 seats, then conversion or expiry.

A trial is a phase of a subscription, whatever its preset: no charge, no
quantity change, and at the end of the trial the subscription converts to the
policy's conversion target (P1Y monthly under mca-nce) at the catalog price if
auto-renew is on, or expires otherwise. After conversion the preset's own
billing model takes over.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

from .calendar import ONE_DAY, Billing
from .errors import DomainError, RuleViolation
from .subscription import PriceBook, Status, Subscription, When

RULE = "ORD-TRIAL"


def check_order(sub: Subscription) -> None:
    trial = sub.policy.trial
    if trial is None:
        raise RuleViolation(RULE, f"policy {sub.policy.name} offers no trials",
                            f"ポリシー {sub.policy.name} では試用版はご利用いただけません", {"policy": sub.policy.name})
    if sub.quantity > trial.max_seats:
        raise RuleViolation(RULE, f"a trial has at most {trial.max_seats} seats (asked {sub.quantity})",
                            f"試用版は最大 {trial.max_seats} 席です（指定 {sub.quantity} 席）",
                            {"max_seats": trial.max_seats, "quantity": sub.quantity})


def place(sub: Subscription, when: When, coterm_end: date | None) -> None:
    check_order(sub)
    trial = sub.policy.trial
    assert trial is not None
    sub.in_trial = True
    sub.start_term(when, when.today, 0, end=when.today + timedelta(days=trial.days - 1))
    sub.move_to(Status.ACTIVE, when, RULE, trial_days=trial.days, trial_end=sub.term_end)


def _refuse_change(sub: Subscription) -> RuleViolation:
    return sub.refuse(RULE, "the quantity of a trial cannot change; convert it first",
                      "試用版の数量は変更できません。先に有料版へ切り替えてください")


def change_quantity(sub: Subscription, when: When, quantity: int) -> None:
    raise _refuse_change(sub)


def schedule_quantity(sub: Subscription, when: When, quantity: int) -> None:
    raise _refuse_change(sub)


def change_billing(sub: Subscription, when: When, billing: Billing) -> None:
    raise sub.refuse(RULE, "a trial has no billing plan until it converts", "試用版には変換まで支払いプランがありません")


def set_auto_renew(sub: Subscription, when: When, enabled: bool) -> None:
    """Auto-renew on converts at the end of the trial; off lets the trial expire."""
    sub.require_status("change auto-renew of", Status.ACTIVE)
    sub.auto_renew = enabled
    sub.record("auto_renew_changed", when, RULE, enabled=enabled)


def cancel(sub: Subscription, when: When) -> None:
    sub.require_status("cancel", Status.ACTIVE)
    sub.delete_on = when.today + timedelta(days=sub.policy.retain_after_cancel_days)
    sub.move_to(Status.CANCELLED, when, RULE, delete_on=sub.delete_on)


def due(sub: Subscription) -> Iterator[tuple[date, str]]:
    if sub.status is Status.ACTIVE and sub.term_end is not None:
        yield sub.term_end + ONE_DAY, "trial_end"
    yield from sub.stop_lifecycle_due()


def run(sub: Subscription, when: When, what: str, prices: PriceBook) -> None:
    if what != "trial_end" or sub.status is not Status.ACTIVE:
        sub.run_stop_lifecycle(when, what)
        return
    if not sub.auto_renew:
        sub.expire(when, RULE)
        return
    convert(sub, when, prices)


def convert(sub: Subscription, when: When, prices: PriceBook) -> None:
    """End of trial with auto-renew on: a paid term of the conversion target, billed by the preset."""
    from .models import for_policy  # the paid preset's model takes over

    trial = sub.policy.trial
    assert trial is not None
    try:
        price = prices.unit_price(sub.offer, trial.converts_to_term, trial.converts_to_billing, when.today)
    except DomainError as missing:  # nothing to convert to: the trial ends like one without auto-renew
        sub.record("trial_not_converted", when, RULE, reason=missing.message("en"))
        sub.expire(when, RULE)
        return
    sub.in_trial = False
    sub.term, sub.billing, sub.unit_price = trial.converts_to_term, trial.converts_to_billing, price
    sub.ordered_at = when.instant
    sub.record("trial_converted", when, RULE, term=sub.term.value, billing=sub.billing.value,
               unit_price=sub.unit_price)
    sub.status = Status.PENDING_PAYMENT
    for_policy(sub.policy).place(sub, when, None)
