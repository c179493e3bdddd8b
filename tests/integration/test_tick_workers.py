"""Issue 8: two `licensedesk tick` processes at once on one PostgreSQL database give the ledger of one.

Each worker claims its chunk's customers with ``FOR NO KEY UPDATE SKIP LOCKED`` and leaves the ones
the other holds to it. Document numbers depend on which worker got the series row first, so the
ledgers are compared with documents named by what they bill; numbering must still be gapless.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from licensedesk.adapters.db import tables as t
from licensedesk.adapters.db.engine import create_engine, upgrade
from licensedesk.adapters.db.tables_outbox import outbox_messages as om
from licensedesk.bootstrap import uow_factory
from licensedesk.services import catalog, parties, scheduler
from licensedesk.services import subscriptions as subs
from licensedesk.services.context import Services

JST = ZoneInfo("Asia/Tokyo")
START = datetime(2026, 1, 5, 10, 0, tzinfo=JST)
UNTIL = "2026-05-10T00:00:00+09:00"
CUSTOMERS = 90
CHUNK = 4  # small chunks, so the two workers meet on every busy day

# A worker: imports first, then waits for the common start, so both really tick at the same time.
WORKER = """
import sys, time
from licensedesk.entrypoints.cli import main
from licensedesk.services import scheduler
scheduler.CHUNK = int(sys.argv[1])
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
sys.argv = ["licensedesk", "tick", "--until", sys.argv[3]]
main()
"""


def seed(url: str) -> None:
    engine = create_engine(url)
    upgrade(engine)
    svc = Services(uow=uow_factory(engine), zone=JST)
    catalog.load_sample_catalog(svc)
    scheduler.tick(svc, START)
    for i in range(CUSTOMERS):
        customer, tenant = f"c{i:03d}", f"t{i:03d}"
        parties.register_customer(svc, START, ref=customer, name=f"顧客{i}株式会社", entity="corporation",
                                  country="JP")
        parties.register_tenant(svc, START, ref=tenant, customer=customer, domain=f"{customer}.onmicrosoft.com",
                                country="JP")
        subs.order(svc, START, ref=f"m{i:03d}", tenant=tenant, offer="M365-E3", term="P1M", billing="monthly",
                   quantity=1 + i % 7)
        if i % 3 == 0:  # an annual one too: two lines on some invoices, renewal notices
            subs.order(svc, START, ref=f"y{i:03d}", tenant=tenant, offer="M365-E3", term="P1Y", billing="monthly",
                       quantity=2)
    engine.dispose()


def workers(url: str, count: int) -> list[subprocess.Popen[str]]:
    env = {**os.environ, "LICENSEDESK_DATABASE_URL": url}
    start = time.time() + 8  # after both have imported everything
    return [subprocess.Popen([sys.executable, "-c", WORKER, str(CHUNK), str(start), UNTIL], env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(count)]


def customer_days(procs: list[subprocess.Popen[str]]) -> list[int]:
    done = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        found = re.search(r"(\d+) customer-days", out)
        assert found, out
        done.append(int(found.group(1)))
    return done


def ledger(url: str) -> dict[str, Any]:
    """Everything the tick wrote, with each document named by what it bills instead of by its number."""
    engine = create_engine(url)
    with engine.connect() as conn:
        lines: dict[str, list[tuple[Any, ...]]] = {}
        for r in conn.execute(select(t.documents.c.number, t.document_lines.c.subscription_ref,
                                     t.document_lines.c.charge_key, t.document_lines.c.amount)
                              .join(t.document_lines, t.document_lines.c.document_id == t.documents.c.id)
                              .order_by(t.document_lines.c.line_no)):
            lines.setdefault(r.number, []).append((r.subscription_ref, r.charge_key, r.amount))
        docs = conn.execute(select(t.documents).order_by(t.documents.c.number)).all()
        name = {d.number: (d.customer_ref, d.kind, d.issue_date, d.total, d.dunning_on, tuple(lines[d.number]))
                for d in docs}
        notices = conn.execute(select(t.notices.c.kind, t.notices.c.subject, t.notices.c.on_date,
                                      t.notices.c.customer_ref)).all()
        outbox = conn.execute(select(om.c.kind, om.c.customer_ref, om.c.status, om.c.notice_id)).all()
        events = conn.execute(select(t.subscription_events.c.subscription_ref, t.subscription_events.c.kind,
                                     t.subscription_events.c.at, t.subscription_events.c.rule)).all()
        rows = conn.execute(select(t.subscriptions.c.ref, t.subscriptions.c.version, t.subscriptions.c.status,
                                   t.subscriptions.c.next_due, t.subscriptions.c.processed_through)
                            .order_by(t.subscriptions.c.ref)).all()
    engine.dispose()
    return {
        "numbers": [d.number for d in docs],
        "documents": Counter(name.values()),
        "notices": Counter((k, name.get(s, s), on, c) for k, s, on, c in notices),
        "outbox": Counter((k, c, status) for k, c, status, _ in outbox),
        "mail per notice": Counter(Counter(n for *_, n in outbox).values()),
        "events": Counter(tuple(e) for e in events),
        "subscriptions": [tuple(r) for r in rows],
    }


@pytest.mark.slow
@pytest.mark.postgres
def test_two_tick_workers_do_nothing_twice(make_postgres_database: Any) -> None:
    one, two = make_postgres_database(), make_postgres_database()
    seed(one)
    seed(two)

    alone = customer_days(workers(one, 1))
    shared = customer_days(workers(two, 2))

    expected, got = ledger(one), ledger(two)
    assert expected["documents"], "the workload issued nothing; the test would prove nothing"
    assert min(shared) > 0, f"one worker did everything ({shared}): the test did not exercise sharing"
    assert sum(shared) == sum(alone), f"customer-days {shared} vs {alone}: some were done twice or not at all"
    for part in ("documents", "notices", "outbox", "mail per notice", "events", "subscriptions"):
        assert got[part] == expected[part], part
    assert max(got["documents"].values()) == 1, "a document was issued twice"
    series: dict[str, list[int]] = {}
    for number in got["numbers"]:
        prefix, _, n = number.rpartition("-")
        series.setdefault(prefix, []).append(int(n))
    assert all(sorted(ns) == list(range(1, len(ns) + 1)) for ns in series.values()), "numbering has a gap"


@pytest.mark.slow
@pytest.mark.postgres
def test_tick_workers_forks_workers_that_together_give_the_ledger_of_one(make_postgres_database: Any,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """``licensedesk tick --workers 2`` (scheduler.tick_workers): the forked workers share the days' chunks."""
    one, two = make_postgres_database(), make_postgres_database()
    seed(one)
    seed(two)
    monkeypatch.setattr(scheduler, "CHUNK", CHUNK)  # inherited by the forked workers
    until = datetime.fromisoformat(UNTIL)

    def make(url: str) -> Any:
        return lambda: Services(uow=uow_factory(create_engine(url)), zone=JST)

    alone = scheduler.tick_workers(make(one), until, 1)
    shared = scheduler.tick_workers(make(two), until, 2)

    assert alone.documents and shared.customers == alone.customers
    assert len(shared.documents) == len(alone.documents) and len(set(shared.documents)) == len(shared.documents)
    expected, got = ledger(one), ledger(two)
    for part in ("documents", "notices", "outbox", "mail per notice", "events", "subscriptions"):
        assert got[part] == expected[part], part
    assert set(shared.documents) <= set(got["numbers"])  # the report names what the workers issued


def test_tick_workers_refuses_several_workers_on_sqlite(tmp_path: Any) -> None:
    from typer.testing import CliRunner

    from licensedesk.entrypoints.cli import app

    result = CliRunner().invoke(app, ["tick", "--workers", "2"],
                                env={"LICENSEDESK_DATABASE_URL": f"sqlite+pysqlite:///{tmp_path}/x.sqlite3"})
    assert result.exit_code == 2
    assert "PostgreSQL" in result.output
