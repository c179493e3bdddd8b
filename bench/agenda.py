"""The console's dashboard and charts over N seeded subscriptions (issue 7): ``agenda.today``,
``insights.renewals_by_month``, ``insights.revenue_by_month``, each timed ``--repeat`` times.

Subscriptions are seeded as in ``tick_idle.py`` (templates run through the domain, cloned, bulk-inserted;
no invoices). There is no goal yet; the figures say how the dashboard scales (docs/decisions.md,
D-AGENDA-SCAN).

    .venv/bin/python bench/agenda.py --subscriptions 10000 --database-url sqlite
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from zoneinfo import ZoneInfo

import _common as c

ZONE = ZoneInfo("Asia/Tokyo")


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--subscriptions", type=int, default=10_000)
    p.add_argument("--database-url", default="sqlite", help="'sqlite' or a PostgreSQL server URL")
    p.add_argument("--today", type=date.fromisoformat, default=date(2026, 7, 15))
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    with c.bench_database(args.database_url, "agenda") as url:
        seed(url, args.subscriptions, args.today)
        measure(url, args)
    return 0


def seed(url: str, n: int, today: date) -> None:
    import _seed

    from licensedesk.adapters.db import tables as t

    yesterday = today - timedelta(days=1)
    engine = c.migrated_engine(url)
    pool = _seed.templates(engine, yesterday)
    _seed.seed_parties(engine, -(-n // 5), datetime.combine(yesterday - timedelta(days=400), clock_time(9), ZONE))
    _seed.bulk_insert(engine, t.subscriptions, _seed.subscription_columns(pool),
                      _seed.subscription_rows(engine, n, 5, pool))
    _seed.analyze(engine)
    engine.dispose()


def measure(url: str, args: argparse.Namespace) -> None:
    from licensedesk.adapters.db.engine import create_engine
    from licensedesk.bootstrap import uow_factory
    from licensedesk.services import agenda, insights
    from licensedesk.services.context import Services

    svc = Services(uow=uow_factory(create_engine(url)), zone=ZONE)
    now = datetime.combine(args.today, clock_time(9), ZONE)
    print(f"{c.backend_label(url)}, N = {args.subscriptions:,}, {c.machine()}, {c.now_utc()}")
    for name, call in (("agenda.today", lambda: agenda.today(svc, now).count),
                       ("insights.renewals_by_month", lambda: len(insights.renewals_by_month(svc, args.today))),
                       ("insights.revenue_by_month", lambda: len(insights.revenue_by_month(svc, args.today)))):
        runs = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            size = call()
            runs.append(time.perf_counter() - start)
        print(f"  {name:<28} min {min(runs):6.2f} s  max {max(runs):6.2f} s  ({size:,} items)")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
