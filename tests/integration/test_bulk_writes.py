"""The batched tick's set-based writes (adapters/db/bulk.py) store exactly what SQLAlchemy's own INSERT stores,
skip notices already recorded, hand back the right ids and refuse lost updates, on both back ends."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, event, insert, select, text

from licensedesk.adapters.db import bulk
from licensedesk.adapters.db import tables as t
from licensedesk.adapters.db.engine import create_engine, upgrade
from licensedesk.bootstrap import uow_factory
from licensedesk.domain.subscription import Notice
from licensedesk.services import catalog, parties, scheduler
from licensedesk.services import subscriptions as subs
from licensedesk.services.context import Services
from licensedesk.services.ports import Conflict

JST = ZoneInfo("Asia/Tokyo")
AT = datetime(2026, 7, 1, 9, tzinfo=JST)


def _with_customers(svc: Services, *refs: str) -> None:
    catalog.load_sample_catalog(svc)
    scheduler.tick(svc, AT)
    for ref in refs:
        parties.register_customer(svc, AT, ref=ref, name=f"株式会社{ref}", entity="corporation", country="JP")


def test_notices_already_recorded_or_repeated_in_the_batch_are_skipped(svc: Services) -> None:
    _with_customers(svc, "acme", "sakura")
    a = Notice("renewal_reminder", "s1", date(2026, 7, 1), "TERM-RENEW-OPTOUT-30D", {"deadline": "2026-07-31"})
    b = Notice("renewal_reminder", "s2", date(2026, 7, 1), "TERM-RENEW-OPTOUT-30D", {"deadline": None})
    c = Notice("cancel_window_closing", "s1", date(2026, 7, 1), "NCE-CANCEL-168H", {})
    with svc.uow() as uow:
        first = uow.notices.add_all([(a, "acme"), (b, "sakura"), (a, "acme")], AT)
        uow.commit()
    assert [(n, customer) for _, n, customer in first] == [(a, "acme"), (b, "sakura")]
    with svc.uow() as uow:
        second = uow.notices.add_all([(b, "sakura"), (c, "acme"), (a, "acme")], AT)
        uow.commit()
    assert [(n, customer) for _, n, customer in second] == [(c, "acme")]
    with svc.uow() as uow:
        stored = {r["id"]: (r["kind"], r["subject"], r["details"]) for r in uow.notices.list()}
    ids = [i for i, _, _ in first + second]
    assert sorted(ids) == sorted(stored) and len(set(ids)) == 3
    assert stored[second[0][0]] == ("cancel_window_closing", "s1", {})
    assert stored[first[1][0]] == ("renewal_reminder", "s2", {"deadline": None})


def test_a_stale_subscription_is_refused_in_a_batch_save(svc: Services) -> None:
    _with_customers(svc, "acme")
    parties.register_tenant(svc, AT, ref="t1", customer="acme", domain="acme.onmicrosoft.com", country="JP")
    for ref in ("s1", "s2"):
        subs.order(svc, AT, ref=ref, tenant="t1", offer="M365-E3", term="P1Y", billing="monthly", quantity=3)
    with svc.uow() as uow:
        s1, s2 = uow.subscriptions.get("s1"), uow.subscriptions.get("s2")
    assert s1 is not None and s2 is not None
    with svc.uow() as uow:
        uow.subscriptions.save_all([s1, s2])
        uow.commit()
    assert (s1.version, s2.version) == (2, 2)
    s1.version = 1  # as if another worker had saved it since we read it
    with svc.uow() as uow, pytest.raises(Conflict):
        uow.subscriptions.save_all([s1, s2])


def _acme_on_postgres(url: str) -> tuple[Engine, Services]:
    """A migrated PostgreSQL database with the customer ``acme``."""
    engine = create_engine(url)
    upgrade(engine)
    svc = Services(uow=uow_factory(engine), zone=JST)
    _with_customers(svc, "acme")
    return engine, svc


@pytest.mark.postgres
def test_unnested_rows_are_stored_as_sqlalchemy_stores_them(make_postgres_database) -> None:  # type: ignore[no-untyped-def]
    engine, svc = _acme_on_postgres(make_postgres_database())
    parties.register_tenant(svc, AT, ref="t1", customer="acme", domain="acme.onmicrosoft.com", country="JP")
    subs.order(svc, AT, ref="s1", tenant="t1", offer="M365-E3", term="P1Y", billing="monthly", quantity=3)
    # the same instant in two zones (written once, as one UTC value), another instant, and the first again
    instants = [AT, AT.astimezone(UTC), AT + timedelta(hours=1), AT]
    rows = [{"subscription_ref": "s1", "kind": f"k{i}", "at": instants[i], "rule": "R",
             "details": details} for i, details in enumerate([{"a": 1, "日本": "語"}, None, [], "x"])]
    with engine.begin() as conn:
        conn.execute(insert(t.subscription_events), rows)
        bulk.insert_rows(conn, t.subscription_events, [{**r, "kind": r["kind"] + "-bulk"} for r in rows])
        stored = conn.execute(text("SELECT kind, at, details::text, details IS NULL FROM subscription_events "
                                   "WHERE kind LIKE 'k%' ORDER BY id")).all()
    plain, unnested = stored[:4], stored[4:]
    assert [r[1:] for r in plain] == [r[1:] for r in unnested]
    assert [r[0] for r in unnested] == ["k0-bulk", "k1-bulk", "k2-bulk", "k3-bulk"]
    assert plain[1][2:] == ("null", False)  # JSON null, not SQL NULL, as SQLAlchemy's JSON type stores None
    with engine.begin() as conn:
        back = bulk.insert_returning(conn, t.notices, [
            {"kind": "k", "customer_ref": "acme", "subject": s, "on_date": date(2026, 7, 1), "rule": "R",
             "details": {}, "created_at": AT} for s in ("x", "y")], ("subject", "created_at", "id"))
        ids = dict(conn.execute(select(t.notices.c.subject, t.notices.c.id).where(t.notices.c.kind == "k")).all())
    assert sorted((s, i) for s, _, i in back) == sorted(ids.items())
    assert all(at == AT for _, at, _ in back)  # read back through the column's type: an aware instant


@pytest.mark.postgres
@pytest.mark.parametrize(("values", "element", "sql_type"), [
    (["a", 'b"c\\', "NULL", " sp ", "", "{x,y}", "日本", "a,b"], "text", "text[]"),
    ([], "text", "text[]"),
    ([None, "x"], "text", "varchar(64)[]"),
    ([1, -2, 10**12, None], "number", "bigint[]"),
    ([True, False, None], "boolean", "boolean[]"),
    ([date(2024, 2, 29), None], "iso", "date[]"),
    ([datetime(2026, 7, 1, 9, tzinfo=JST), None], "iso", "timestamptz[]"),
])
def test_array_literals_come_back_as_the_values(make_postgres_database, values, element, sql_type) -> None:  # type: ignore[no-untyped-def]
    engine = create_engine(make_postgres_database())
    with engine.connect() as conn:
        back = conn.exec_driver_sql(f"SELECT %(a)s::{sql_type}", {"a": bulk.array_literal(values, element)}).scalar()
    assert back == values


def test_a_text_holding_nul_is_refused_not_split() -> None:
    with pytest.raises(ValueError, match="NUL"):
        bulk.array_literal(["a\0b", "c"])


def test_a_batch_save_writes_what_changed_since_the_read_and_what_changes_back(svc: Services) -> None:
    """PostgreSQL sends only the columns that changed since ``due_for_customers`` read the row; a value changed
    by one save and changed back by the next must still be written (both back ends)."""
    _with_customers(svc, "acme")
    parties.register_tenant(svc, AT, ref="t1", customer="acme", domain="acme.onmicrosoft.com", country="JP")
    subs.order(svc, AT, ref="s1", tenant="t1", offer="M365-E3", term="P1Y", billing="monthly", quantity=3)
    with svc.uow() as uow:
        [sub] = uow.subscriptions.due_for_customers(["acme"], date(2030, 1, 1))["acme"]
        sub.quantity, sub.auto_renew = 7, False
        uow.subscriptions.save_all([sub])
        sub.quantity = 3  # back to the value as read, in the same unit of work
        uow.subscriptions.save_all([sub])
        uow.commit()
    with svc.uow() as uow:
        stored = uow.subscriptions.get("s1")
    assert stored is not None
    assert (stored.quantity, stored.auto_renew, stored.version) == (3, False, 3)


@pytest.mark.postgres
def test_late_columns_are_given_once_per_row(make_postgres_database) -> None:  # type: ignore[no-untyped-def]
    engine, _ = _acme_on_postgres(make_postgres_database())
    rows = [{"kind": "k", "customer_ref": "acme", "on_date": date(2026, 7, 1), "rule": "R", "details": {},
             "created_at": AT} for _ in range(2)]
    with engine.begin() as conn:
        add = bulk.insert_later(conn, t.notices, rows, ("subject",), ("subject", "id"))
        with pytest.raises(ValueError, match="one value per row"):
            add(subject=["only one"])
        with pytest.raises(ValueError, match="give subject"):
            add(other=["x", "y"])
        back = add(subject=["late-1", "late-2"])
        stored = dict(conn.execute(select(t.notices.c.subject, t.notices.c.id).where(t.notices.c.kind == "k")).all())
    assert dict(back) == stored and sorted(stored) == ["late-1", "late-2"]


@pytest.mark.postgres
def test_a_single_row_goes_as_values_and_is_stored_as_sqlalchemy_stores_it(make_postgres_database) -> None:  # type: ignore[no-untyped-def]
    engine, svc = _acme_on_postgres(make_postgres_database())
    parties.register_tenant(svc, AT, ref="t1", customer="acme", domain="acme.onmicrosoft.com", country="JP")
    subs.order(svc, AT, ref="s1", tenant="t1", offer="M365-E3", term="P1Y", billing="monthly", quantity=3)
    sent: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda _c, _cur, statement, *_: sent.append(statement))
    for i, details in enumerate([{"a": 1, "日本": "語"}, None, [], "x"]):
        row = {"subscription_ref": "s1", "kind": f"one{i}", "at": AT, "rule": "R", "details": details}
        with engine.begin() as conn:
            conn.execute(insert(t.subscription_events), row)
            bulk.insert_rows(conn, t.subscription_events, [{**row, "kind": f"one{i}-bulk"}])
    assert not any("unnest" in s or "RETURNING" in s for s in sent[1::2])  # VALUES, and no id read back
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT kind, at, rule, details::text, details IS NULL FROM subscription_events "
                                   "WHERE kind LIKE 'one%' ORDER BY id")).all()
    assert [r[1:] for r in stored[0::2]] == [r[1:] for r in stored[1::2]]
    assert [r[0] for r in stored[1::2]] == ["one0-bulk", "one1-bulk", "one2-bulk", "one3-bulk"]
