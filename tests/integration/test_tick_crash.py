"""Kill the tick process mid-run, run it again: the ledger equals an uninterrupted run's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from licensedesk.adapters.db import tables as t
from licensedesk.adapters.db.engine import create_engine, upgrade
from licensedesk.bootstrap import uow_factory
from licensedesk.services import catalog, parties, scheduler
from licensedesk.services import subscriptions as subs
from licensedesk.services.context import Services

JST = ZoneInfo("Asia/Tokyo")
START = datetime(2026, 1, 5, 10, 0, tzinfo=JST)
UNTIL = "2026-04-10T00:00:00+09:00"
CUSTOMERS = 120


def seed(url: str) -> None:
    engine = create_engine(url)
    upgrade(engine)
    svc = Services(uow=uow_factory(engine), zone=JST)
    catalog.load_sample_catalog(svc)
    scheduler.tick(svc, START)
    for i in range(CUSTOMERS):
        parties.register_customer(svc, START, ref=f"c{i:03d}", name=f"顧客{i}株式会社", entity="corporation",
                                  country="JP")
        parties.register_tenant(svc, START, ref=f"t{i:03d}", customer=f"c{i:03d}",
                                domain=f"c{i:03d}.onmicrosoft.com", country="JP")
        subs.order(svc, START, ref=f"s{i:03d}", tenant=f"t{i:03d}", offer="M365-E3", term="P1M",
                   billing="monthly", quantity=1 + i % 7)
    engine.dispose()


def ledger(url: str) -> list[tuple[object, ...]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            select(t.documents.c.number, t.documents.c.customer_ref, t.documents.c.issue_date, t.documents.c.total,
                   t.document_lines.c.subscription_ref, t.document_lines.c.charge_key, t.document_lines.c.amount)
            .join(t.document_lines, t.document_lines.c.document_id == t.documents.c.id)
            .order_by(t.documents.c.number, t.document_lines.c.line_no)).all()
        notices = conn.execute(select(t.notices.c.kind, t.notices.c.subject, t.notices.c.on_date)
                               .order_by(t.notices.c.kind, t.notices.c.subject, t.notices.c.on_date)).all()
    engine.dispose()
    return [tuple(r) for r in rows] + [tuple(n) for n in notices]


def tick_process(url: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "LICENSEDESK_DATABASE_URL": url}
    return subprocess.Popen([sys.executable, "-m", "licensedesk", "tick", "--until", UNTIL], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.mark.slow
def test_killed_tick_rerun_gives_the_same_ledger(db_url: str, request: pytest.FixtureRequest) -> None:
    reference_url = db_url
    crashed_url = (request.getfixturevalue("make_postgres_database")() if db_url.startswith("postgresql")
                   else db_url.replace(".sqlite3", "-crashed.sqlite3"))
    seed(reference_url)
    seed(crashed_url)
    assert tick_process(reference_url).wait(timeout=300) == 0

    engine = create_engine(crashed_url)
    proc = tick_process(crashed_url)
    deadline = time.monotonic() + 120
    with engine.connect() as conn:  # kill once the run is well under way
        while time.monotonic() < deadline and proc.poll() is None:
            if conn.execute(select(func.count()).select_from(t.documents)).scalar_one() > CUSTOMERS + 40:
                break
            conn.rollback()
            time.sleep(0.02)
    assert proc.poll() is None, "the tick finished before it could be killed; make the workload bigger"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    engine.dispose()
    partial = ledger(crashed_url)
    assert tick_process(crashed_url).wait(timeout=300) == 0
    assert tick_process(crashed_url).wait(timeout=300) == 0  # and once more: nothing changes

    expected = ledger(reference_url)
    assert len(partial) < len(expected)
    assert ledger(crashed_url) == expected
