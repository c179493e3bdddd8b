"""The API order's path (issue 7, item 7): one transaction, few statements, the serialising locks last.

An order is serialised with every other order from the moment it takes its invoice number (the
counter row stays locked until commit) and again by the audit chain's lock. These tests pin what
keeps those sections short: the statements after the number, the audit entry last, one transaction
(the bearer token is remembered, not looked up in a transaction of its own).
"""

from __future__ import annotations

import json
from collections import deque
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from fastapi.encoders import jsonable_encoder
from sqlalchemy import event, text
from test_api import T0, Env, make_env, order

from licensedesk.adapters.db.repositories import SubscriptionRepository
from licensedesk.adapters.db.repositories_api import ApiRepository
from licensedesk.adapters.db.repositories_outbox import OutboxNoticeRepository, OutboxRepository
from licensedesk.adapters.db.repositories_upstream import ProvisioningSubscriptionRepository
from licensedesk.entrypoints.api import audit, views
from licensedesk.entrypoints.api.encode import plain_json
from licensedesk.entrypoints.api.security import Actor, Role, TokenCache
from licensedesk.services import documents
from licensedesk.services import subscriptions as subscription_service
from licensedesk.services.ports import Conflict
from licensedesk.services.settlement import charge_line


def _recorded(env: Env) -> tuple[list[str], list[str]]:
    """(statements, commits) the app's engine sends from now on."""
    engine = env.client.app.state.services.uow().engine  # type: ignore[attr-defined]
    statements: list[str] = []
    boundaries: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _statement(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(" ".join(statement.split()))

    @event.listens_for(engine, "commit")
    def _commit(_conn: Any) -> None:
        boundaries.append("commit")

    return statements, boundaries


def test_an_order_is_one_transaction_with_the_invoice_number_and_audit_entry_last(db_url: str) -> None:
    env = make_env(db_url)
    for ref in ("warm1", "warm2"):  # the token and the (committed) policy row are now known
        assert order(env, ref, key=f"k-{ref}", role="sales").status_code == 201
    statements, boundaries = _recorded(env)

    assert order(env, "s1", key="k-1", role="sales").status_code == 201
    # the first invoice numbered at commit on this connection prepares its statement (D-LATER-PREPARED), once
    prepared = [s for s in statements if s.startswith("PREPARE ")]
    statements.clear()
    assert order(env, "s2", key="k-2", role="sales").status_code == 201

    assert boundaries.count("commit") == 2  # one transaction per order, nothing committed beside it
    first = statements
    postgres = db_url.startswith("postgresql")
    assert [s.split(" AS ", 1)[1][:31] for s in prepared] == (["WITH c AS (UPDATE number_series"] if postgres else []), prepared
    assert not any(s.startswith(("PREPARE ", "SELECT name FROM pg_prepared")) for s in first), first
    # 34 before issue 7 item 7, 25 before the parties' joined reads, 22 before the audit entry's one round trip
    # and the offer's prices joined to it, 17 before the tenant, customer, relationship and ref were one read and
    # (PostgreSQL) a seat order's subscription and its provisioning job one statement;
    # on PostgreSQL an invoice's notice and its mail are one statement; 13 (SQLite 17) before session 7 left out the
    # billed-lines read of a new subscription and the second contacts read, and (PostgreSQL) sent the events with it,
    # numbered the document as it wrote it and sent what follows with COMMIT (D-DOC-NUMBERED-CTE, D-WRITE-BEHIND);
    # 6 before (PostgreSQL) the invoice was numbered with COMMIT (D-ORDER-NUMBER-AT-COMMIT)
    assert len(first) <= (5 if postgres else 15), first
    last = first[-1]
    if postgres:
        # the counter's lock is taken in the last round trip: one string, the invoice's statement (the number,
        # document, lines, archive entry, notice + mail), the idempotency record, the chain's lock and entry, COMMIT;
        # each statement but the lock prepared on the connection (D-ORDER-NUMBER-AT-COMMIT, D-LATER-PREPARED)
        numbered = prepared[0].split()[1]
        at = 0
        for part in (f"EXECUTE {numbered}(", "; EXECUTE licensedesk_", "; SELECT pg_advisory_xact_lock(",
                     "; EXECUTE licensedesk_", "; COMMIT"):
            found = last.find(part, at)
            assert found >= at and (at or found == 0), (part, last)
            at = found + len(part)
        assert last.endswith("; COMMIT") and "'subscription:s2'" in last, last
        assert not any("number_series" in s or numbered in s for s in first[:-1]), first
    else:
        taken = next(i for i, s in enumerate(first) if s.startswith("UPDATE number_series"))
        after = [s.split(" (")[0] for s in first[taken + 1:]]
        # under the counter's lock: the document, its lines, archive entry, notice, mail, idempotency and audit
        assert len(after) <= 8, after
        assert not any(s.startswith("SELECT") and "audit_log" not in s for s in after), after
        assert last.startswith("INSERT INTO audit_log")  # the chain's lock is taken last
    assert not any(s.startswith("SELECT") and "api_users" in s for s in statements)  # the token is remembered


def test_the_audit_chain_and_numbers_hold_over_orders_placed_this_way(tmp_path: Path) -> None:
    env = make_env(f"sqlite+pysqlite:///{tmp_path / 'api.sqlite3'}")
    for i in range(5):
        assert order(env, f"s{i}", key=f"k-{i}", role="sales").status_code == 201
    with env.engine.connect() as conn:
        numbers = [r[0] for r in conn.execute(text("SELECT number FROM documents ORDER BY id"))]
        audited = conn.execute(text("SELECT target FROM audit_log WHERE action = 'subscription.order' ORDER BY id"))
        assert [r[0] for r in audited] == [f"subscription:s{i}" for i in range(5)]
    assert numbers == [f"INV-2026-{n:06d}" for n in range(1, 6)]
    assert audit.verify(env.svc)["ok"] is True


@pytest.mark.parametrize("key", ["k-race", None])
def test_a_racing_key_and_awkward_values_keep_the_chain_on_both_back_ends(db_url: str, key: str | None,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """What the audit entry's one round trip binds as text (quotes, %, Japanese, a backslash) is stored and hashed
    as the two-step path did; a key another request recorded first still answers IDEMPOTENCY-IN-PROGRESS."""
    env = make_env(db_url)
    tricky = {"name": "O'Brien 100% 株式会社 \\ \"q\"", "n": 1.5, "none": None, "list": [1, "%(x)s", "%s"]}
    with env.svc.uow() as uow:
        audit.append(uow, T0, "u-admin", "test.tricky", "t:%s'", tricky, None)
        uow.commit()
    if key is not None:
        with env.engine.begin() as other:
            ApiRepository(other).remember("u-sales", key, "POST", "/api/v1/subscriptions", "other", 201, {}, T0)
        monkeypatch.setattr(ApiRepository, "idempotent", lambda *_: None)  # it looked before the other committed
    first = order(env, "s1", key=key or "k-free", role="sales")
    monkeypatch.undo()
    assert first.status_code == (409 if key else 201), first.json()
    if key:
        assert first.json()["code"] == "IDEMPOTENCY-IN-PROGRESS"
        assert env.get("/documents").json()["total"] == 0  # its work rolled back
    assert audit.verify(env.svc)["ok"] is True
    with env.engine.connect() as conn:
        stored = conn.execute(text("SELECT before, target FROM audit_log WHERE action = 'test.tricky'")).one()
    assert (json.loads(stored[0]) if isinstance(stored[0], str) else stored[0], stored[1]) == (tricky, "t:%s'")


def test_the_token_cache_forgets_after_its_seconds_and_beyond_its_size() -> None:
    now = [100.0]
    cache = TokenCache(seconds=10, size=2, clock=lambda: now[0])
    alice, bob, carol = (Actor(n, Role.SALES) for n in ("alice", "bob", "carol"))
    cache.put("a", alice)
    assert cache.get("a") is alice and cache.get("b") is None
    now[0] = 110.5
    assert cache.get("a") is None  # expired: looked up again
    cache.put("a", alice)
    cache.put("b", bob)
    cache.put("c", carol)
    assert cache.get("a") is None and cache.get("b") is bob and cache.get("c") is carol  # the oldest went


def test_a_remembered_token_still_answers_as_its_user(tmp_path: Path) -> None:
    env = make_env(f"sqlite+pysqlite:///{tmp_path / 'api.sqlite3'}")
    for _ in range(2):
        assert env.get("/subscriptions", role="read_only").status_code == 200
        assert env.post("/subscriptions", {"ref": "x", "tenant": "acme-t", "offer": "M365-E3"},
                        role="read_only").status_code == 403
    assert env.client.get("/api/v1/subscriptions", headers={"Authorization": "Bearer nope"}).status_code == 401


@pytest.mark.parametrize("header", [None, "Basic Zm9vOmJhcg==", "Bearer ", "Token abc"])
def test_only_bearer_headers_are_remembered(header: str | None) -> None:
    assert TokenCache().known(header) is None


class _Colour(StrEnum):
    RED = "red"


@pytest.mark.parametrize("value", [
    None, True, 0, -3, 1.5, "x", [], {}, (1, "a"), date(2026, 2, 28), datetime(2026, 2, 28, 9, 30, tzinfo=UTC),
    {"a": {"b": [date(2026, 1, 1), None, {"c": (True, 2.0)}]}, "_sa_state": 1, "_s": 2, 3: "int key"},
    {_Colour.RED: _Colour.RED, "d": Decimal("1.50"), "n": Decimal("7"), "f": Fraction(1, 3), "s": {1}},
    deque([1, 2]), [Path("/a/b"), b"bytes"],
])
def test_plain_json_gives_what_jsonable_encoder_gives(value: Any) -> None:
    try:
        expected = jsonable_encoder(value)
    except Exception as exc:  # a value jsonable_encoder refuses is refused the same way
        with pytest.raises(type(exc)):
            plain_json(value)
        return
    got = plain_json(value)
    assert got == expected and type(got) is type(expected)


def test_plain_json_of_an_ordered_subscription_is_jsonable_encoders(tmp_path: Path) -> None:
    env = make_env(f"sqlite+pysqlite:///{tmp_path / 'api.sqlite3'}")
    assert order(env, "s1", key="k-1", role="sales").status_code == 201
    with env.svc.uow() as uow:
        sub = uow.subscriptions.get("s1")
        assert sub is not None
        view = views.subscription(sub, uow.subscriptions.events("s1"))
    assert plain_json(view) == jsonable_encoder(view)


# --- session 7: three statements fewer per order, the same rows stored --------------------------------------------

_STORED = ("subscriptions", "subscription_events", "upstream_jobs", "documents", "document_lines", "archive_queue",
           "notices", "outbox_messages", "api_idempotency", "audit_log")


def _stored(env: Env) -> dict[str, list[Any]]:
    """What orders store, table by table, in id order, as the database holds it: each row as PostgreSQL writes it
    as text (a JSON column's text as sent), SQLite's values unconverted."""
    row = "x::text" if env.url.startswith("postgresql") else "x.*"
    with env.engine.connect() as conn:
        return {table: [tuple(r) for r in conn.exec_driver_sql(f"SELECT {row} FROM {table} x ORDER BY id")]
                for table in _STORED}


def _rows(env: Env, table: str) -> list[dict[str, Any]]:
    with env.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(text(f"SELECT * FROM {table} ORDER BY id"))]


def _another_database(db_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A second empty database on ``db_url``'s back end."""
    if db_url.startswith("sqlite"):
        return f"sqlite+pysqlite:///{tmp_path / 'before.sqlite3'}"
    return str(request.getfixturevalue("make_postgres_database")())


def _as_before_session_7(monkeypatch: pytest.MonkeyPatch) -> None:
    """The order path as it was: a new subscription's lines looked up as billed, its customer's recipient read
    again for the invoice's mail, its events inserted in a statement of their own."""
    issue_all = documents.issue_all
    monkeypatch.setattr(documents, "issue_all",
                        lambda uow, day, now, wanted, new_subscriptions=(), numbers_read=True:
                        issue_all(uow, day, now, wanted))
    monkeypatch.setattr(OutboxNoticeRepository, "know_recipients", lambda self, customers: None)
    for repository in (SubscriptionRepository, ProvisioningSubscriptionRepository):
        def add_then_events(self: Any, sub: Any, events: Any = (), add: Any = repository.add) -> None:
            add(self, sub)
            self.add_events(sub.ref, events)
        monkeypatch.setattr(repository, "add", add_then_events)


def _kaede(env: Env) -> None:
    """A customer whose mail goes to its first billing contact (a technical and a primary one come before it)."""
    contacts = [{"name": "技術 太郎", "email": "tech@kaede.example", "role": "technical"},
                {"name": "主 花子", "email": "main@kaede.example", "role": "primary"},
                {"name": "経理 一郎", "email": "bill@kaede.example", "role": "billing"},
                {"name": "経理 二郎", "email": "bill2@kaede.example", "role": "billing"}]
    assert env.post("/customers", {"ref": "kaede", "name": "楓商事株式会社", "entity": "corporation", "country": "JP",
                                   "contacts": contacts}).status_code == 201
    assert env.post("/tenants", {"ref": "kaede-t", "customer": "kaede", "domain": "kaede.onmicrosoft.com",
                                 "country": "JP"}).status_code == 201


def _orders(env: Env) -> None:
    """Seat orders (with their provisioning job) for a customer with and one without a recipient, a trial and an
    Azure plan (no job), each with two events."""
    _kaede(env)
    assert order(env, "s1", key="k-1", role="sales").status_code == 201
    assert order(env, "s2", tenant="kaede-t", key="k-2", role="sales").status_code == 201
    for ref, offer, term in (("t1", "O365-E3-TRIAL", "P1Y"), ("a1", "AZURE-PLAN", "P1M")):
        assert env.post("/subscriptions", {"ref": ref, "tenant": "kaede-t", "offer": offer, "term": term,
                                           "billing": "monthly", "quantity": 2}, key=f"k-{ref}", role="sales"
                        ).status_code == 201


def test_orders_store_the_rows_they_stored_before_session_7(db_url: str, request: pytest.FixtureRequest,
                                                             tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    now = make_env(db_url)
    _orders(now)
    _as_before_session_7(monkeypatch)
    before = make_env(_another_database(db_url, request, tmp_path))
    _orders(before)
    assert _stored(now) == _stored(before)
    invoices = _rows(now, "documents")
    assert [(r["customer_ref"], r["recipient"]) for r in _rows(now, "outbox_messages")] == [
        (d["customer_ref"], "bill@kaede.example" if d["customer_ref"] == "kaede" else None)
        for d in invoices]  # one mail per invoice, to the first billing contact
    assert [d["customer_ref"] for d in invoices][:2] == ["acme", "kaede"]
    assert [(r["subscription_ref"], r["kind"]) for r in _rows(now, "subscription_events")] == [
        (ref, kind) for ref in ("s1", "s2", "t1", "a1") for kind in ("ordered", "status_changed")]


def test_a_new_subscriptions_lines_are_not_looked_up_as_billed(db_url: str) -> None:
    env = make_env(db_url)
    statements, _ = _recorded(env)
    assert order(env, "s1", key="k-1", role="sales").status_code == 201
    assert not any("FROM document_lines" in s for s in statements), statements


def test_an_existing_subscriptions_lines_are_still_looked_up_and_a_billed_one_is_dropped(db_url: str) -> None:
    env = make_env(db_url)
    assert order(env, "s1", key="k-1", role="sales").status_code == 201
    svc = env.client.app.state.services  # type: ignore[attr-defined]
    statements, _ = _recorded(env)
    with svc.uow() as uow:
        sub = uow.subscriptions.get("s1")
        (number,) = [d["number"] for d in uow.documents.list("acme")]
        billed = [charge_line(line) for line in uow.documents.get(number)["lines"]]
        subscription_service.issue_lines(uow, "acme", billed, svc, T0, sub)  # nothing billed twice
        uow.commit()
        assert any(s.startswith("SELECT document_lines.subscription_ref") for s in statements), statements
    with svc.uow() as uow, pytest.raises(Conflict):  # told it is new, the unique key still refuses the line
        subscription_service.issue_lines(uow, "acme", billed, svc, T0, sub, new_subscriptions=("s1",))
        uow.commit()  # PostgreSQL: the invoice goes with COMMIT (D-ORDER-NUMBER-AT-COMMIT), refused there
    assert env.get("/documents").json()["total"] == 1


def test_the_orders_customer_is_not_read_again_for_its_invoices_mail(db_url: str) -> None:
    env = make_env(db_url)
    _kaede(env)
    statements, _ = _recorded(env)
    assert order(env, "s1", tenant="kaede-t", key="k-1", role="sales").status_code == 201
    assert sum("customer_contacts" in s for s in statements) == 1, statements  # the order's one read of its parties
    assert not any(s.startswith("SELECT customer_contacts.") for s in statements), statements


def test_known_recipients_are_ranked_as_the_stored_contacts_are(db_url: str) -> None:
    env = make_env(db_url)
    _kaede(env)
    with env.svc.uow() as uow:
        customers = [uow.parties.details.customer(ref) for ref in ("kaede", "acme")]
        conn = uow.subscriptions.conn  # type: ignore[attr-defined]
        read, known = OutboxRepository(conn), OutboxRepository(conn)
        known.know([c for c in customers if c is not None])
        statements: list[str] = []
        event.listen(conn, "before_cursor_execute", lambda _c, _cur, statement, *_: statements.append(statement))
        assert known.recipients(["kaede", "acme"]) == {"kaede": "bill@kaede.example"}
        assert statements == []
        assert read.recipients(["kaede", "acme"]) == {"kaede": "bill@kaede.example"}


def test_a_new_subscriptions_events_go_with_it_on_postgresql(db_url: str) -> None:
    env = make_env(db_url)
    statements, _ = _recorded(env)
    _orders(env)
    events = [s for s in statements if "subscription_events" in s]
    if db_url.startswith("postgresql"):  # one statement per order, seat order (with its job) or not
        assert len(events) == 4 and all(s.startswith("WITH e AS (INSERT INTO subscription_events") for s in events)
        assert sum("INSERT INTO upstream_jobs" in s for s in events) == 2
    else:
        assert len(events) == 4 and all(s.startswith("INSERT INTO subscription_events") for s in events)
    with env.engine.connect() as conn:  # ids ascend in each subscription's event order
        rows = conn.execute(text("SELECT subscription_ref, kind FROM subscription_events ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [(ref, kind) for ref in ("s1", "s2", "t1", "a1")
                                        for kind in ("ordered", "status_changed")]


def _numbers(env: Env) -> list[str]:
    with env.engine.connect() as conn:
        return [r[0] for r in conn.execute(text("SELECT number FROM documents ORDER BY id"))]


@pytest.mark.postgres
def test_an_invoice_numbered_at_commit_only_once_its_series_row_is_known(make_postgres_database: Any) -> None:
    """D-ORDER-NUMBER-AT-COMMIT: the first order of a series starts its counter row as it is numbered (nothing to
    number from at commit yet); once the row is seen committed, orders are numbered with COMMIT, gapless."""
    env = make_env(make_postgres_database())
    statements, _ = _recorded(env)
    assert order(env, "s1", key="k-1", role="sales").status_code == 201  # starts INV-2026 in its own statements
    assert any(s.startswith("INSERT INTO number_series") for s in statements), statements
    statements.clear()
    assert order(env, "s2", key="k-2", role="sales").status_code == 201  # takes from it now, sees it committed
    assert any(s.startswith("WITH c AS (UPDATE number_series") for s in statements), statements
    statements.clear()
    assert order(env, "s3", key="k-3", role="sales").status_code == 201  # numbered with COMMIT
    assert not any(s.startswith(("WITH c AS (UPDATE number_series", "INSERT INTO number_series"))
                   for s in statements), statements
    assert statements[-1].endswith("; COMMIT") and "'INV-2026'" in statements[-1]
    assert _numbers(env) == ["INV-2026-000001", "INV-2026-000002", "INV-2026-000003"]


@pytest.mark.postgres
def test_a_counter_row_gone_is_a_loud_failure_not_an_invoice_without_number(make_postgres_database: Any) -> None:
    """Numbered at commit from a counter row that is no longer there (only a hand-made deletion does that), the
    invoice is refused at COMMIT, never written without a number or left out, and the order is rolled back whole;
    with the row put back the series is looked at again and numbering goes on."""
    env = make_env(make_postgres_database())
    for i in (1, 2):
        assert order(env, f"s{i}", key=f"k-{i}", role="sales").status_code == 201
    with env.engine.begin() as conn:
        conn.execute(text("DELETE FROM number_series"))
    refused = order(env, "s3", key="k-3", role="sales")
    assert refused.status_code == 409 and refused.json()["code"] == "CONFLICT", refused.json()
    assert env.get("/subscriptions/s3").status_code == 404  # nothing of the order stayed
    assert _numbers(env) == ["INV-2026-000001", "INV-2026-000002"]
    with env.engine.begin() as conn:
        conn.execute(text("INSERT INTO number_series (series, next_value) VALUES ('INV-2026', 3)"))
    assert order(env, "s3", key="k-3", role="sales").status_code == 201  # the same key: nothing was remembered
    assert _numbers(env) == ["INV-2026-000001", "INV-2026-000002", "INV-2026-000003"]
