"""Payment reminders, overdue notices and the ageing of a statement of account (domain/dunning.py)."""

from __future__ import annotations

from datetime import date

from licensedesk.domain.dunning import (
    DunningStep,
    OpenItem,
    bucket_of,
    dunning_dates,
    first_dunning,
    next_after,
    statement,
    step_on,
)

D = date.fromisoformat


def test_reminder_n_days_before_due_then_overdue_the_day_after() -> None:
    assert dunning_dates(D("2026-06-18"), D("2026-07-31"), 3) == [
        (D("2026-07-28"), DunningStep.PAYMENT_REMINDER), (D("2026-08-01"), DunningStep.PAYMENT_OVERDUE)]


def test_no_reminder_when_it_would_fall_on_or_before_the_issue_date() -> None:
    assert dunning_dates(D("2026-07-29"), D("2026-07-31"), 3) == [(D("2026-08-01"), DunningStep.PAYMENT_OVERDUE)]
    assert dunning_dates(D("2026-06-18"), D("2026-07-31"), 0) == [(D("2026-08-01"), DunningStep.PAYMENT_OVERDUE)]
    assert first_dunning(D("2026-06-18"), None, 3) is None


def test_each_date_says_its_step_and_the_next_one() -> None:
    due = D("2026-07-31")
    assert step_on(D("2026-07-28"), due) is DunningStep.PAYMENT_REMINDER
    assert step_on(D("2026-08-01"), due) is DunningStep.PAYMENT_OVERDUE
    assert next_after(D("2026-07-28"), due) == D("2026-08-01")
    assert next_after(D("2026-08-01"), due) is None


def test_ageing_buckets_edges() -> None:
    assert [bucket_of(n) for n in (0, 30, 31, 60, 61, 90, 91, 400)] == [
        "0-30", "0-30", "31-60", "31-60", "61-90", "61-90", "90+", "90+"]


def test_statement_ages_open_invoices_and_nets_the_credit_balance() -> None:
    items = [OpenItem("INV-1", D("2026-06-18"), D("2026-07-31"), 59774, 50000),  # 92 days past due
             OpenItem("INV-2", D("2026-09-01"), D("2026-10-31"), 10000, 0),  # not yet due → 0
             OpenItem("INV-3", D("2026-08-01"), D("2026-09-30"), 2000, 0)]  # 31 days
    s = statement("acme", D("2026-10-31"), items, credit_balance=1500)
    assert [(a.item.number, a.days_past_due, a.bucket) for a in s.items] == [
        ("INV-1", 92, "90+"), ("INV-3", 31, "31-60"), ("INV-2", 0, "0-30")]
    assert s.buckets == {"0-30": 10000, "31-60": 2000, "61-90": 0, "90+": 9774}
    assert s.open_total == 21774 and s.balance_due == 20274
