"""Licence assignment in a tenant (ORD-IDS): users hold the licences of an offer, up to the purchased count.

Licences of one offer are pooled per tenant (as in the Microsoft 365 admin center): the purchased count is
the sum of the live subscriptions' quantities. Replacing an employee is an unassignment then an
assignment, which needs no new licence while the assigned users stay within that count.
"""

from __future__ import annotations

from collections.abc import Sequence

from .errors import RuleViolation


def check_assignment(tenant: str, offer: str, purchased: int, assigned: Sequence[str], adding: Sequence[str]) -> None:
    """Refuse ORD-IDS when the new users would exceed the purchased quantity."""
    after = len(assigned) + len(adding)
    if after > purchased:
        raise RuleViolation(
            "ORD-IDS",
            f"{offer} in {tenant}: {len(assigned)} of {purchased} licences are assigned; assigning {len(adding)} more "
            f"needs {after - purchased} more licence(s) — unassign a leaving user first, or buy more",
            f"{tenant} の {offer}: 購入数 {purchased} のうち {len(assigned)} を割り当て済みです。さらに {len(adding)} "
            f"件の割り当てには {after - purchased} ライセンスの追加購入が必要です（退職者の割り当て解除で入替は可能です）",
            {"tenant": tenant, "offer": offer, "purchased": purchased, "assigned": len(assigned),
             "adding": len(adding)},
        )
