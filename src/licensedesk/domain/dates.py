"""Explanations of a subscription's computed dates (rule, inputs, formula)."""

from __future__ import annotations

from . import nce
from .explain import Explanation, because
from .subscription import Subscription


def explain_dates(sub: Subscription) -> dict[str, Explanation]:
    out: dict[str, Explanation] = {}
    if sub.term_start and sub.term_end:
        if sub.first_term_end and sub.term_number == 1:
            out["term_end"] = because("COTERM", f"aligned first term ends {sub.term_end}",
                                      f"終了日を {sub.term_end} に揃えた初回期間", term_start=sub.term_start)
        else:
            out["term_end"] = because(
                "TERM-RENEW-AUTO", f"add_months({sub.term_start}, {sub.term.months}) − 1 day = {sub.term_end}",
                f"add_months({sub.term_start}, {sub.term.months}) − 1日 = {sub.term_end}",
                term_start=sub.term_start, months=sub.term.months)
    until = nce.cancel_allowed_until(sub)
    if until is not None:
        hours = sub.policy.cancel_window_hours
        out["cancel_allowed_until"] = because(
            "NCE-CANCEL-168H", f"max(order, term began) + {hours} h = {until.isoformat()}",
            f"max(注文時刻, 期間開始時刻) + {hours} 時間 = {until.isoformat()}",
            ordered_at=sub.ordered_at, term_began_at=sub.term_began_at)
    deadline = nce.optout_deadline(sub)
    if deadline is not None and sub.term_end is not None:
        days = sub.policy.auto_renew_optout_days or 0
        out["optout_deadline"] = because(
            "TERM-RENEW-OPTOUT-30D", f"{sub.term_end} − {days} days = {deadline}",
            f"{sub.term_end} − {days} 日 = {deadline}", term_end=sub.term_end, days=days,
            p1m_rule=deadline == sub.term_end)
    if sub.delete_on is not None:
        out["delete_on"] = because(
            "LIFE-RETAIN-60D" if sub.status.value == "cancelled" else "LIFE-EXPIRED-30D",
            f"data deleted on {sub.delete_on}", f"データ削除日 {sub.delete_on}", status_since=sub.status_since,
            retain_days=sub.policy.retain_after_cancel_days)
    if sub.activation_due is not None:
        out["activation_due"] = because(
            "ORD-FLOW", f"payment + {sub.policy.activation_sla_business_days} business days = {sub.activation_due}",
            f"入金確認 + {sub.policy.activation_sla_business_days} 営業日 = {sub.activation_due}")
    return out
