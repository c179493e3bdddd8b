"""Issue 7 on SQLite and PostgreSQL: the agenda of what needs a person, and the charts' monthly series.

The data is made by running a small scenario (SCENARIOS.md format 1) through ``simulate`` on the
test's own database, so every date below is the one the engine itself set.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from licensedesk.adapters.db.repositories import SubscriptionRepository
from licensedesk.services import agenda, insights, settlement
from licensedesk.services import subscriptions as subs
from licensedesk.services.agenda import Deadline
from licensedesk.services.context import Services
from licensedesk.services.scenario import Scenario, parse
from licensedesk.services.simulate import simulate

JST = ZoneInfo("Asia/Tokyo")
SCENARIOS = Path(__file__).parents[1] / "scenarios"

# Thu 2026-06-18 10:00 JST:
#   s1  mca-nce M365-E3 P1Y monthly ×10: NCE-CANCEL-168H closes 2026-06-25 10:00 JST (01:00 UTC);
#       term 2026-06-18 … 2027-06-17, TERM-RENEW-OPTOUT-30D 2027-06-17 − 30 days = 2027-05-18;
#       first invoice INV-2026-000001 59,774 due 2026-07-31 (ORD-FLOW, as tests/integration/test_billing.py).
#   s2  annual-prepaid M365-E3 P1Y annual ×5, paid Fri 06-19 → ORD-FLOW activation due Wed 06-24
#       (Mon 22 = 1, Tue 23 = 2, Wed 24 = 3 business days).
#   a1  ONB-APPLY: form received Thu 06-18 → login due Mon 06-22 (Fri 19 = 1, Mon 22 = 2).
#   e1  1-year enrollment effective 2026-07-01 → ends 2027-06-30, VL-NOTICE-60D notice 2027-05-01,
#       VL-TERMINATE-NO-ORDER 2026-07-31 (no first order yet).
#   R-2 CICR bill_to assign → CICR-CHANNEL manual queue, requested 06-18.
#   rel XFER-RELATIONSHIP request sent 06-18, open for 90 days → 2026-09-16.
#   rel2 accepted 06-18 with GDAP for 30 days → ends 06-18 + 29 = 2026-07-17.
SCENARIO = """
format: 1
name: agenda
start: "2026-06-18T10:00:00+09:00"
steps:
  - customer: {ref: acme, name: 株式会社アクメ, entity: corporation, country: JP}
  - tenant: {ref: t1, customer: acme, domain: acme.onmicrosoft.com, country: JP}
  - order: {ref: s1, tenant: t1, offer: M365-E3, term: P1Y, billing: monthly, quantity: 10}
  - order: {ref: s2, tenant: t1, offer: M365-E3, term: P1Y, billing: annual, quantity: 5, policy: annual-prepaid}
  - apply: {ref: a1, customer: acme}
  - relationship_request: {ref: rel, tenant: t1}
  - tenant: {ref: t2, customer: acme, domain: acme2.onmicrosoft.com, country: JP}
  - relationship_request: {ref: rel2, tenant: t2, gdap_days: 30}
  - accept_relationship: {relationship: rel2}
  - customer: {ref: uni, name: 学校法人みなと学園, entity: corporation, country: JP, segment: education}
  - agreement: {ref: ag1, customer: uni, program: ees, version: "3.2", region: japan}
  - enrollment: {ref: e1, agreement: ag1, term_years: 1, effective: 2026-07-01, reseller: R1, distributor: D1}
  - cicr: {ref: R-2, agreement: ag1, role: bill_to, change: assign, contact: {name: 経理課}, channel: manual}
  - at: "2026-06-19T10:00:00+09:00"
    pay: {invoice: last}
"""


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=JST)


def _run(svc: Services, scenario: Scenario) -> dict[str, Any]:
    report = simulate(scenario, lambda s: svc)
    assert report["rejections"] == []
    return report


@pytest.fixture
def seeded(svc: Services) -> Services:
    _run(svc, parse(yaml.safe_load(SCENARIO)))
    return svc


def _find(items: list[Deadline], kind: str, subject: str) -> Deadline:
    found = [d for d in items if d.kind == kind and d.subject == subject]
    assert len(found) == 1, (kind, subject, [(d.kind, d.subject) for d in items])
    return found[0]


def test_the_agenda_lists_each_deadline_with_the_rule_that_sets_its_date(seeded: Services) -> None:
    items = agenda.agenda(seeded, date(2026, 6, 1), date(2027, 7, 31))
    window = _find(items, "cancel_window", "s1")
    assert (window.rule, window.on, window.at) == ("NCE-CANCEL-168H", date(2026, 6, 25),
                                                  datetime(2026, 6, 25, 1, 0, tzinfo=UTC))
    assert "168" in window.why_en and window.customer_name == "株式会社アクメ"
    assert (_find(items, "optout", "s1").on, _find(items, "optout", "s1").rule) == \
        (date(2027, 5, 18), "TERM-RENEW-OPTOUT-30D")
    invoice = _find(items, "invoice_due", "INV-2026-000001")
    assert (invoice.on, invoice.rule, invoice.detail) == (date(2026, 7, 31), "ORD-FLOW", "¥59,774")
    activation = _find(items, "activation", "s2")
    assert (activation.on, activation.rule) == (date(2026, 6, 24), "ORD-FLOW")
    assert (_find(items, "login_due", "a1").on, _find(items, "login_due", "a1").rule) == \
        (date(2026, 6, 22), "ONB-APPLY")
    assert _find(items, "relationship_expiry", "rel").on == date(2026, 9, 16)
    gdap = _find(items, "gdap_end", "t2")
    assert (gdap.on, gdap.rule, gdap.customer) == (date(2026, 7, 17), "XFER-RELATIONSHIP", "acme")
    assert (_find(items, "enrollment_notice", "e1").on, _find(items, "enrollment_notice", "e1").rule) == \
        (date(2027, 5, 1), "VL-NOTICE-60D")
    assert _find(items, "enrollment_expiry", "e1").on == date(2027, 6, 30)
    assert (_find(items, "enrollment_no_order", "e1").on, _find(items, "enrollment_no_order", "e1").rule) == \
        (date(2026, 7, 31), "VL-TERMINATE-NO-ORDER")
    cicr = _find(items, "cicr_queue", "R-2")
    assert (cicr.on, cicr.rule, cicr.customer) == (date(2026, 6, 18), "CICR-CHANNEL", "uni")
    assert [d.on for d in items] == sorted(d.on for d in items)
    assert not [d for d in items if d.kind == "reduction"]  # s2 is not active yet: no term, no deadline


def test_the_range_is_inclusive_and_excludes_what_falls_outside(seeded: Services) -> None:
    items = agenda.agenda(seeded, date(2026, 6, 22), date(2026, 6, 24))
    assert sorted((d.kind, d.subject) for d in items) == [("activation", "s2"), ("login_due", "a1")]


def test_a_one_day_range_still_finds_the_deadlines_counted_back_from_a_term_end(seeded: Services) -> None:
    # D-AGENDA-SCAN: only candidate subscriptions are loaded; the margins come from their policies.
    assert [(d.kind, d.subject) for d in agenda.agenda(seeded, date(2027, 5, 18), date(2027, 5, 18))] == \
        [("optout", "s1")]
    subs.activate(seeded, at("2026-06-23T10:00:00"), "s2")
    assert [(d.kind, d.subject) for d in agenda.agenda(seeded, date(2027, 5, 22), date(2027, 5, 22))] == \
        [("reduction", "s2")]
    assert [(d.kind, d.subject) for d in agenda.agenda(seeded, date(2026, 6, 25), date(2026, 6, 25))] == \
        [("cancel_window", "s1")]
    assert agenda.agenda(seeded, date(2027, 5, 19), date(2027, 5, 21)) == []


def test_today_groups_overdue_tasks_today_and_the_next_seven_days(seeded: Services) -> None:
    board = agenda.today(seeded, at("2026-06-24T09:00:00"))
    assert [(d.kind, d.subject) for d in board.overdue] == [("cicr_queue", "R-2"), ("login_due", "a1")]
    assert [(d.kind, d.subject) for d in board.due_today] == [("activation", "s2")]
    assert [(d.kind, d.subject) for d in board.next_days] == [("cancel_window", "s1")]
    assert board.count == 4
    assert board.due_today[0].urgency(board.today) == "today"
    later = agenda.today(seeded, at("2026-06-26T09:00:00"))  # the window has closed: gone, not overdue
    assert ("cancel_window", "s1") not in [(d.kind, d.subject) for d in later.overdue + later.due_today]


def test_a_task_leaves_the_agenda_once_done(seeded: Services) -> None:
    subs.activate(seeded, at("2026-06-23T10:00:00"), "s2")
    settlement_done = subs.pay(seeded, at("2026-06-23T11:00:00"), "INV-2026-000001", 59774)
    assert settlement_done["status"] == "paid"
    items = agenda.agenda(seeded, date(2026, 6, 1), date(2027, 12, 31))
    kinds = {(d.kind, d.subject) for d in items}
    assert ("activation", "s2") not in kinds and ("invoice_due", "INV-2026-000001") not in kinds
    # s2 is active now: term 2026-06-23 … 2027-06-22; TERM-REDUCE-1M: renewal invoice issued
    # add_months(2027-06-23, −1) = 2027-05-23, so requests are due by 2027-05-22.
    reduction = _find(items, "reduction", "s2")
    assert (reduction.on, reduction.rule) == (date(2027, 5, 22), "TERM-REDUCE-1M")


def test_a_late_cocp_waits_in_the_manual_queue(svc: Services) -> None:
    scenario = parse(yaml.safe_load((SCENARIOS / "cocp-lead-30d-override-approved.yaml").read_text("utf-8")))
    scenario.steps = [s for s in scenario.steps if s.action != "cocp_decision" and s.action != "advance"]
    scenario.expect = {}
    _run(svc, scenario)
    board = agenda.today(svc, at("2027-03-06T10:00:00"))
    approval = _find(board.overdue, "cocp_approval", "C-1003")
    assert (approval.on, approval.rule, approval.customer) == (date(2027, 3, 5), "COCP-LEAD-30D", "uni")


def test_renewals_by_month_count_and_value_the_terms_ending(seeded: Services) -> None:
    subs.activate(seeded, at("2026-06-23T10:00:00"), "s2")
    rows = insights.renewals_by_month(seeded, date(2027, 1, 10))
    assert [r.month for r in rows][:2] == [date(2027, 1, 1), date(2027, 2, 1)] and len(rows) == 12
    june = next(r for r in rows if r.month == date(2027, 6, 1))
    with seeded.uow() as uow:
        s1, s2 = uow.subscriptions.get("s1"), uow.subscriptions.get("s2")
    assert s1 is not None and s2 is not None
    # s1: 10 seats × monthly price × 12 cycles; s2: 5 seats × the annual price × 1
    assert (june.count, june.amount, june.ending) == (2, 10 * s1.unit_price * 12 + 5 * s2.unit_price, 0)
    assert sum(r.count for r in rows) == 2
    subs.set_auto_renew(seeded, at("2026-07-01T10:00:00"), "s1", False)
    june = next(r for r in insights.renewals_by_month(seeded, date(2027, 1, 10)) if r.month == date(2027, 6, 1))
    assert (june.count, june.amount, june.ending) == (1, 5 * s2.unit_price, 1)
    # two more on one day: one group in the database (same term, billing, term end), summed
    for ref, quantity in (("s3", 3), ("s4", 4)):
        subs.order(seeded, at("2026-07-01T11:00:00"), ref=ref, tenant="t1", offer="M365-E3", term="P1Y",
                   billing="monthly", quantity=quantity)
    june = next(r for r in insights.renewals_by_month(seeded, date(2027, 1, 10)) if r.month == date(2027, 6, 1))
    # s3 and s4 end 2027-06-30 (term 2026-07-01 … 2027-06-30): s2 + s3 + s4 renew, s1 ends
    assert (june.count, june.amount, june.ending) == (3, 5 * s2.unit_price + (3 + 4) * s1.unit_price * 12, 1)


def test_revenue_by_month_nets_credit_notes_and_leaves_voids_out(seeded: Services) -> None:
    rows = insights.revenue_by_month(seeded, date(2026, 7, 15))
    assert [r.month for r in rows][-1] == date(2026, 7, 1) and rows[0].month == date(2025, 8, 1)
    june = next(r for r in rows if r.month == date(2026, 6, 1))
    with seeded.uow() as uow:
        docs = [d for d in uow.documents.list() if d["issue_date"].month == 6]
    assert june.invoices == len(docs) == 2
    assert (june.net, june.gross) == (sum(d["subtotal"] for d in docs), sum(d["total"] for d in docs))
    assert june.gross == 59774 + docs[1]["total"]
    settlement.void(seeded, at("2026-06-20T10:00:00"), "INV-2026-000001", "wrong quantity")
    june = next(r for r in insights.revenue_by_month(seeded, date(2026, 7, 15)) if r.month == date(2026, 6, 1))
    assert (june.invoices, june.gross) == (1, docs[1]["total"])


def test_revenue_subtracts_a_credit_note(seeded: Services) -> None:
    subs.cancel(seeded, at("2026-06-20T10:00:00"), "s1")  # NCE-CANCEL-168H inside the window: a credit note
    with seeded.uow() as uow:
        notes = [d for d in uow.documents.list() if d["kind"] == "credit_note"]
        invoices = [d for d in uow.documents.list() if d["kind"] == "invoice"]
    assert len(notes) == 1 and notes[0]["subtotal"] < 0
    june = next(r for r in insights.revenue_by_month(seeded, date(2026, 6, 30)) if r.month == date(2026, 6, 1))
    assert (june.invoices, june.credit_notes) == (len(invoices), 1)
    assert june.net == sum(d["subtotal"] for d in invoices) + notes[0]["subtotal"]
    assert june.gross == sum(d["total"] for d in invoices) + notes[0]["total"]


def test_loading_only_candidates_finds_what_loading_everything_finds(seeded: Services,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """D-AGENDA-SCAN: the candidate query is an optimisation, never a filter of its own."""
    subs.activate(seeded, at("2026-06-23T10:00:00"), "s2")
    days = [date(2026, 6, 1) + timedelta(days=k) for k in range(0, 420, 7)]
    ranges = [(d, d + timedelta(days=span)) for d in days for span in (0, 6)]
    pruned = [agenda.agenda(seeded, a, b) for a, b in ranges]
    monkeypatch.setattr(SubscriptionRepository, "deadline_candidates", lambda self, *_: self.all())
    assert [agenda.agenda(seeded, a, b) for a, b in ranges] == pruned
    assert sum(len(p) for p in pruned) > 0
