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

from licensedesk.adapters.db.repositories_api import ApiRepository
from licensedesk.entrypoints.api import audit, views
from licensedesk.entrypoints.api.encode import plain_json
from licensedesk.entrypoints.api.security import Actor, Role, TokenCache


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
    assert order(env, "s2", key="k-2", role="sales").status_code == 201

    assert boundaries.count("commit") == 2  # one transaction per order, nothing committed beside it
    first = statements[:len(statements) // 2]
    postgres = db_url.startswith("postgresql")
    # 34 before issue 7 item 7, 25 before the parties' joined reads, 22 before the audit entry's one round trip
    # and the offer's prices joined to it, 17 before the tenant, customer, relationship and ref were one read and
    # (PostgreSQL) a seat order's subscription and its provisioning job one statement;
    # on PostgreSQL an invoice's notice and its mail are one statement
    assert len(first) <= (11 if postgres else 17), first
    counter = 'WITH c AS (UPDATE "number_series"' if postgres else "UPDATE number_series"
    taken = next(i for i, s in enumerate(first) if s.startswith(counter))
    after = [s.split(" (")[0] for s in first[taken + 1:]]
    # under the counter's lock: the document, its lines (PostgreSQL: with the number, D-DOC-NUMBERED-CTE), archive
    # entry, notice + mail, then idempotency and audit
    assert len(after) <= (3 if postgres else 8), after
    assert not any(s.startswith("SELECT") and "audit_log" not in s for s in after), after
    last = first[-1]
    if postgres:  # after the number, one string, one round trip: archive entry, notice + mail, the idempotency
        # record, the chain's lock and the entry, COMMIT (D-WRITE-BEHIND)
        parts = [last.find(s) for s in ("INSERT INTO archive_queue ", "; WITH n AS (INSERT INTO notices ",
                                        "; INSERT INTO api_idempotency ", "; SELECT pg_advisory_xact_lock(",
                                        "; INSERT INTO audit_log ")]
        assert parts[0] == 0 and parts == sorted(parts) and last.endswith("; COMMIT"), last
        assert len(after) == 1, after
    else:
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
