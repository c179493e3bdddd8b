"""The same behaviour on SQLite and PostgreSQL: migrations, round trips, the tick, exactly-once billing."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.exc import IntegrityError

from licensedesk.adapters.db.engine import create_engine, upgrade
from licensedesk.adapters.db.schema import metadata
from licensedesk.bootstrap import uow_factory
from licensedesk.domain.errors import RuleViolation
from licensedesk.services import catalog, parties, scheduler
from licensedesk.services import subscriptions as subs
from licensedesk.services.context import Services

JST = ZoneInfo("Asia/Tokyo")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=JST)


def _customer_with_subscription(svc: Services, ordered: datetime, ref: str = "s1") -> None:
    catalog.load_sample_catalog(svc)
    scheduler.tick(svc, ordered)
    parties.register_customer(svc, ordered, ref="acme", name="株式会社アクメ", entity="corporation", country="JP")
    parties.register_tenant(svc, ordered, ref="t1", customer="acme", domain="acme.onmicrosoft.com", country="JP")
    subs.order(svc, ordered, ref=ref, tenant="t1", offer="M365-E3", term="P1Y", billing="monthly", quantity=10)


def test_migrations_match_the_table_definitions(db_url: str) -> None:
    engine = create_engine(db_url)
    upgrade(engine)
    upgrade(engine)  # re-running is a no-op
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_subscription_round_trips_with_its_bound_policy(svc: Services) -> None:
    _customer_with_subscription(svc, at("2026-06-18T10:00:00"))
    with svc.uow() as uow:
        sub = uow.subscriptions.get("s1")
        assert sub is not None
        assert sub.policy.name == "mca-nce" and sub.policy.cancel_window_hours == 168
        assert sub.ordered_at == at("2026-06-18T10:00:00")
        assert str(sub.term_end) == "2027-06-17"
        assert sub.next_due is not None and str(sub.next_due) == "2026-06-24"  # window notice: +168 h − 24 h
        assert [a.quantity for a in sub.seat_additions] == [10]
        events = uow.subscriptions.events("s1")
    assert [e["rule"] for e in events][:2] == ["ORD-ADD-PRODUCT", "ORD-ADD-PRODUCT"]


def test_refusal_carries_its_rule_and_changes_nothing(svc: Services) -> None:
    _customer_with_subscription(svc, at("2026-06-18T10:00:00"))
    with pytest.raises(RuleViolation) as refused:
        subs.cancel(svc, at("2026-06-25T10:00:01"), "s1")
    assert refused.value.code == "NCE-CANCEL-168H"
    with svc.uow() as uow:
        sub = uow.subscriptions.get("s1")
        assert sub is not None and sub.status.value == "active"
        assert len(uow.documents.list()) == 1


def test_tick_bills_each_cycle_once_and_rerunning_changes_nothing(svc: Services) -> None:
    _customer_with_subscription(svc, at("2026-06-18T10:00:00"))
    first = scheduler.tick(svc, at("2026-09-01T00:00:00"))
    again = scheduler.tick(svc, at("2026-09-01T00:00:00"))
    with svc.uow() as uow:
        docs = uow.documents.list()
    cycles = [(d["issue_date"].isoformat(), d["lines"][0]["period_start"].isoformat()) for d in docs]
    # order invoice 06-18, then cycles on 07-18 and 08-18 (anchored on the 18th)
    assert cycles == [("2026-06-18", "2026-06-18"), ("2026-07-18", "2026-07-18"), ("2026-08-18", "2026-08-18")]
    assert len(first.documents) == 2 and again.documents == [] and again.first_day is None


def test_tick_cost_follows_what_is_due(svc: Services) -> None:
    _customer_with_subscription(svc, at("2026-06-18T10:00:00"))
    report = scheduler.tick(svc, at("2026-06-23T12:00:00"))
    assert report.customers == 0 and report.subscriptions == 0  # nothing due 06-19 … 06-23
    report = scheduler.tick(svc, at("2026-06-24T00:00:00"))
    assert report.subscriptions == 1  # the cancel-window notice


def test_crash_mid_day_then_rerun_gives_the_same_ledger(db_url: str) -> None:
    """A chunk of customers is one transaction: a crash leaves it undone, the re-run completes it, once."""
    engine = create_engine(db_url)
    upgrade(engine)
    svc = Services(uow=uow_factory(engine), zone=JST)
    _customer_with_subscription(svc, at("2026-06-18T10:00:00"))
    original = scheduler.run_customers

    def crash(svc: Services, customers: list[str], day: object, report: object) -> None:
        if str(day) == "2026-07-18":
            raise RuntimeError("power cut")
        original(svc, customers, day, report)  # type: ignore[arg-type]

    scheduler.run_customers = crash  # type: ignore[assignment]
    try:
        with pytest.raises(RuntimeError):
            scheduler.tick(svc, at("2026-07-18T00:00:00"))
    finally:
        scheduler.run_customers = original
    with svc.uow() as uow:
        assert len(uow.documents.list()) == 1
        done = uow.scheduler.last_day()
        assert done is not None and str(done) < "2026-07-18"  # the crashed day is not marked done
    scheduler.tick(svc, at("2026-07-18T00:00:00"))
    scheduler.tick(svc, at("2026-07-18T00:00:00"))
    with svc.uow() as uow:
        docs = uow.documents.list()
    assert [d["total"] for d in docs] == [59774, 59774]


def test_the_database_refuses_a_second_bill_for_the_same_charge(svc: Services) -> None:
    _customer_with_subscription(svc, at("2026-06-18T10:00:00"))
    with svc.uow() as uow:
        doc = uow.documents.list()[0]
        line = doc["lines"][0]
        from licensedesk.adapters.db import tables as t

        conn = uow.documents.conn  # type: ignore[attr-defined]
        with pytest.raises(IntegrityError):
            conn.execute(t.document_lines.insert().values(
                document_id=doc["id"], line_no=1, subscription_ref=line["subscription_ref"], kind="cycle",
                quantity=1, unit_amount=1, amount=1, rule="PRICE-ONE", charge_key=line["charge_key"],
                explanation={}))


def test_payment_settles_an_invoice_only_when_fully_paid(svc: Services) -> None:
    _customer_with_subscription(svc, at("2026-06-18T10:00:00"))
    with svc.uow() as uow:
        number = uow.documents.list()[0]["number"]
    partial = subs.pay(svc, at("2026-06-30T10:00:00"), number, 50000)
    assert partial["status"] == "issued" and partial["paid_amount"] == 50000
    settled = subs.pay(svc, at("2026-07-01T10:00:00"), number, 9774)
    assert settled["status"] == "paid" and settled["paid_amount"] == 59774


def test_an_action_before_the_days_tick_does_the_due_work_first(svc: Services) -> None:
    """The cycle starting 07-18 is billed at 10 seats even if +2 seats arrive before the scheduler runs."""
    _customer_with_subscription(svc, at("2026-06-18T10:00:00"))
    scheduler.tick(svc, at("2026-07-17T12:00:00"))
    subs.change_quantity(svc, at("2026-07-18T08:00:00"), "s1", 12, at_renewal=False)  # no tick for 07-18 yet
    scheduler.tick(svc, at("2026-07-18T09:00:00"))
    with svc.uow() as uow:
        docs = uow.documents.list()
    assert [(line["kind"], line["quantity"], line["unit_amount"]) for line in docs[-1]["lines"]] == [
        ("cycle", 10, 5434), ("add_quantity", 2, 5434)]  # 07-18…08-17 whole cycle for the added seats
    assert len(docs) == 2


def test_a_policy_row_inserted_meanwhile_by_another_order_is_no_error(svc: Services) -> None:
    """Two first orders of a policy at once: both look it up, miss, insert. The row is content-addressed, so the
    second insert leaves the first's row (ON CONFLICT DO NOTHING) instead of failing the order (was a 409
    IDEMPOTENCY-IN-PROGRESS through the API, seen on every cold start of the API benchmark)."""
    from licensedesk.adapters.db import bulk
    from licensedesk.adapters.db import tables as t
    from licensedesk.presets import preset

    policy = preset("mca-nce")
    row = {"digest": policy.digest, "name": policy.name, "version": policy.version, "body": policy.to_mapping()}
    with svc.uow() as uow:
        conn = uow.policies.conn  # type: ignore[attr-defined]
        statement = bulk.insert_ignoring(t.policies, "digest", conn.dialect.name)
        conn.execute(statement, row)
        conn.execute(statement, row)  # what the second order's insert meets
        assert uow.policies.ensure(policy) == policy.digest
        uow.commit()
        assert conn.execute(t.policies.select().where(t.policies.c.digest == policy.digest)).all()[0].name == policy.name
        assert len(conn.execute(t.policies.select()).all()) == 1


def test_an_offer_comes_back_with_its_prices_in_order_or_none(svc: Services) -> None:
    """``offers.get`` reads the offer and its price rows in one LEFT JOIN: rows in insertion order, an offer
    without prices has none, an unknown code is None."""
    from datetime import date

    from licensedesk.domain.calendar import Billing, Term
    from licensedesk.domain.catalog import Offer, OfferKind, PriceRow

    prices = [PriceRow(Term.P1Y, Billing.MONTHLY, 1200, date(2026, 1, 1), date(2026, 12, 31)),
              PriceRow(Term.P1M, Billing.MONTHLY, 1500), PriceRow(Term.P1Y, Billing.ANNUAL, 13000, date(2027, 1, 1))]
    with svc.uow() as uow:
        uow.offers.put(Offer("X-PRICED", "Priced", OfferKind.SEAT, prices))
        uow.offers.put(Offer("X-BARE", "Bare", OfferKind.TRIAL, []))
        uow.commit()
    with svc.uow() as uow:
        assert uow.offers.get("X-PRICED") == Offer("X-PRICED", "Priced", OfferKind.SEAT, prices)
        assert uow.offers.get("X-BARE") == Offer("X-BARE", "Bare", OfferKind.TRIAL, [])
        assert uow.offers.get("X-NONE") is None
