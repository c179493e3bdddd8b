"""Document numbers under concurrency: a per-series counter locked FOR UPDATE is gapless and unique."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from licensedesk.adapters.db.engine import create_engine, upgrade
from licensedesk.bootstrap import uow_factory
from licensedesk.domain.explain import because
from licensedesk.domain.subscription import ChargeLine, LineKind
from licensedesk.presets import preset
from licensedesk.services import documents, parties
from licensedesk.services.context import Services

JST = ZoneInfo("Asia/Tokyo")
N = 50


@pytest.mark.postgres
def test_fifty_documents_issued_at_once_are_numbered_gapless_and_unique(make_postgres_database: object) -> None:
    url = make_postgres_database()  # type: ignore[operator]
    engine = create_engine(url, pool_size=N, max_overflow=0)
    upgrade(engine)
    svc = Services(uow=uow_factory(engine), zone=JST)
    now = datetime(2026, 7, 1, 9, tzinfo=JST)
    parties.register_customer(svc, now, ref="acme", name="株式会社アクメ", entity="corporation", country="JP")
    policy = preset("mca-nce")

    def issue(i: int) -> str:
        line = ChargeLine(f"s{i}", LineKind.CYCLE, 1, 1000 + i, date(2026, 7, 1), date(2026, 7, 31), f"k{i}",
                          because("PRICE-ONE", "test"))
        with svc.uow() as uow:  # each thread its own unit of work, all racing for the first number too
            number = documents.issue(uow, "acme", date(2026, 7, 1), [line], policy, now)
            uow.commit()
        assert number is not None
        return number

    with ThreadPoolExecutor(max_workers=N) as pool:
        numbers = list(pool.map(issue, range(N)))
    assert sorted(numbers) == [f"INV-2026-{n:06d}" for n in range(1, N + 1)]
    with svc.uow() as uow:
        assert len(uow.documents.list()) == N
    engine.dispose()
