"""Perpetual licences (ORD-PERPETUAL): bought once, from 1 licence, with no term, renewal or upgrade rights.

The order is invoiced at once (`new` line, quantity × the offer's price); nothing falls due later, and
changes that only make sense for a term are refused with the rule.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from .calendar import Billing
from .errors import RuleViolation
from .explain import because
from .subscription import LineKind, PriceBook, Status, Subscription, When

RULE = "ORD-PERPETUAL"


def place(sub: Subscription, when: When, coterm_end: date | None) -> None:
    sub.term_start = when.today
    sub.term_began_at = when.instant
    sub.move_to(Status.ACTIVE, when, RULE, perpetual=True)
    why = because(RULE, f"{sub.unit_price:,} per licence × {sub.quantity}, paid once",
                  f"1ライセンス {sub.unit_price:,} 円 × {sub.quantity}（一括）", unit_price=sub.unit_price,
                  quantity=sub.quantity)
    sub.charge(LineKind.NEW, sub.quantity, sub.unit_price, None, "new", why)


def _refuse(sub: Subscription, what_en: str, what_ja: str) -> RuleViolation:
    return sub.refuse(RULE, f"a perpetual licence has no term: {what_en}; buy further licences as a new order",
                      f"永続ライセンスには契約期間がありません（{what_ja}）。追加は新しいご注文でお願いします")


def change_quantity(sub: Subscription, when: When, quantity: int) -> None:
    raise _refuse(sub, "its quantity cannot change", "数量は変更できません")


def schedule_quantity(sub: Subscription, when: When, quantity: int) -> None:
    raise _refuse(sub, "there is no renewal", "更新はありません")


def set_auto_renew(sub: Subscription, when: When, enabled: bool) -> None:
    if enabled:
        raise _refuse(sub, "it carries no renewal rights", "更新の権利はありません")


def change_billing(sub: Subscription, when: When, billing: Billing) -> None:
    raise _refuse(sub, "it is paid once", "一括払いです")


def cancel(sub: Subscription, when: When) -> None:
    raise _refuse(sub, "there is nothing to cancel", "解約する期間がありません")


def due(sub: Subscription) -> Iterator[tuple[date, str]]:
    return iter(())


def run(sub: Subscription, when: When, what: str, prices: PriceBook) -> None:
    """Nothing falls due for a perpetual licence."""
