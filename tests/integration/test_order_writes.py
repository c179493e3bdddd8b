"""A seat order's subscription and provisioning job (and its events, D-ORDER-EVENTS-WITH-SUB) go to PostgreSQL as one
statement (D-API-ORDER-JOB) and are stored as the separate INSERTs stored them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, text

from licensedesk.adapters.db.engine import create_engine, upgrade
from licensedesk.adapters.db.repositories import SubscriptionRepository
from licensedesk.adapters.db.repositories_upstream import UpstreamRepository
from licensedesk.bootstrap import uow_factory
from licensedesk.domain.subscription import Status
from licensedesk.services import catalog, parties, scheduler
from licensedesk.services import subscriptions as subs
from licensedesk.services.context import Services

JST = ZoneInfo("Asia/Tokyo")
AT = datetime(2026, 7, 1, 9, tzinfo=JST)


@pytest.mark.postgres
def test_a_seat_orders_subscription_and_job_are_one_statement_and_the_same_rows(
        make_postgres_database: Callable[[], str]) -> None:
    engine = create_engine(make_postgres_database())
    upgrade(engine)
    svc = Services(uow=uow_factory(engine), zone=JST)
    catalog.load_sample_catalog(svc)
    scheduler.tick(svc, AT)
    parties.register_customer(svc, AT, ref="acme", name="株式会社アクメ", entity="corporation", country="JP")
    parties.register_tenant(svc, AT, ref="t1", customer="acme", domain="acme.onmicrosoft.com", country="JP")
    sent: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda _c, _cur, statement, *_: sent.append(statement))
    subs.order(svc, AT, ref="s1", tenant="t1", offer="M365-E3", term="P1Y", billing="monthly", quantity=3)
    [both] = [" ".join(s.split()) for s in sent if "upstream_jobs" in s]
    # with its events too (D-ORDER-EVENTS-WITH-SUB)
    assert both.startswith("WITH e AS (INSERT INTO subscription_events") and "INSERT INTO subscriptions" in both
    assert ", j AS (INSERT INTO upstream_jobs" in both
    with svc.uow() as uow:  # the same subscription, as the two INSERTs write it, under another ref
        sub = uow.subscriptions.get("s1")
        assert sub is not None
        sub.ref = "s2"
        SubscriptionRepository.add(uow.subscriptions, sub)  # type: ignore[arg-type]
        UpstreamRepository(uow.subscriptions.conn).enqueue(  # type: ignore[attr-defined]
            "s2", sub.customer, sub.tenant, activate=sub.status is Status.PROVISIONING, at=sub.ordered_at,
            sla_due=sub.activation_due)
        uow.commit()

    def rows(table: str, key: str) -> dict[str, Any]:
        with engine.connect() as conn:
            found = conn.execute(text(f"SELECT to_jsonb(x) - 'id' AS r FROM {table} x ORDER BY {key}")).scalars().all()
        return {r.pop(key): r for r in found}

    subscriptions, jobs = rows("subscriptions", "ref"), rows("upstream_jobs", "subscription_ref")
    assert subscriptions["s1"] == subscriptions["s2"] and jobs["s1"] == jobs["s2"]
    assert sorted(subscriptions) == ["s1", "s2"] and sorted(jobs) == ["s1", "s2"]
