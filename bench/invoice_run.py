"""Invoice run: the daily tick on a day when N monthly subscriptions all start a charge cycle (goal: ≥ 5,000 invoices/s
at N = 10,000 on PostgreSQL, without PDF).

Seeds N mca-nce P1Y monthly subscriptions, one per customer, cloned from a template ordered on the
anchor day one month before ``--day`` and run through the domain (``_seed.py``), so that every one
of them has its next cycle due on ``--day``. Times one ``scheduler.tick`` for that day: each customer
is one transaction that runs the subscription, issues its invoice (tax once per document, number
from the locked per-series counter, exactly-once charge key, first dunning date) and records the
notice. Seeding is timed separately.

    .venv/bin/python bench/invoice_run.py                                   # SQLite, then PostgreSQL
    .venv/bin/python bench/invoice_run.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import sys
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import _common as c

GOAL_PER_S = 5000.0
GOAL_N = 10_000
ZONE = ZoneInfo("Asia/Tokyo")


def main(argv: list[str]) -> int:
    p = c.parser(__doc__ or "")
    p.add_argument("--subscriptions", type=int, default=GOAL_N, help=f"N (default {GOAL_N:,})")
    p.add_argument("--day", type=date.fromisoformat, default=date(2026, 7, 18),
                   help="the day every cycle starts (default 2026-07-18; ordered one month before)")
    p.add_argument("--workers", type=int, default=1, help="tick processes at once on PostgreSQL (licensedesk tick "
                   "--workers; default 1); SQLite always runs one")
    args = p.parse_args(argv)
    return c.run(args, argv, bench, report)


def seed(url: str, n: int, day: date) -> dict[str, Any]:
    import _seed
    from _seed import Kind

    from licensedesk.adapters.db import tables as t
    from licensedesk.bootstrap import uow_factory
    from licensedesk.domain.calendar import Billing, Term, add_months
    from licensedesk.services import catalog as catalog_service
    from licensedesk.services.context import Services

    through = day - timedelta(days=1)
    watch = c.Stopwatch()
    engine = c.migrated_engine(url)
    anchor = add_months(day, -1)  # ordered on the anchor day: the second cycle starts on ``day``
    pool = [tp for tp in _seed.templates(engine, through, days=35, kinds=[Kind("mca-nce", Term.P1Y, Billing.MONTHLY)])
            if tp.start == anchor and tp.next_due == day]
    assert pool, f"no template has a cycle due on {day}"
    created = datetime.combine(through - timedelta(days=400), time(9), tzinfo=ZONE)
    _seed.bulk_insert(engine, t.customers, _seed.CUSTOMER_COLUMNS, _seed.customer_rows(engine, n, created))
    _seed.bulk_insert(engine, t.tenants, _seed.TENANT_COLUMNS, _seed.tenant_rows(engine, n))
    _seed.bulk_insert(engine, t.subscriptions, _seed.subscription_columns(pool),
                      _seed.subscription_rows(engine, n, 1, pool))
    _seed.analyze(engine)
    catalog_service.load_sample_catalog(Services(uow=uow_factory(engine), zone=ZONE))
    _seed.set_last_day(engine, through)
    engine.dispose()
    return {"seed_s": watch.seconds(), "templates": len(pool)}


def bench(spec: str, args: Any) -> c.Result:
    from sqlalchemy import func, select

    from licensedesk.adapters.db import tables as t
    from licensedesk.adapters.db.engine import create_engine
    from licensedesk.bootstrap import uow_factory
    from licensedesk.services.context import Services
    from licensedesk.services.scheduler import tick_workers

    label = c.backend_label(spec)
    res: c.Result = {"backend": label, "subscriptions": args.subscriptions, "date": c.now_utc(),
                     "machine": c.machine()}
    print(f"[{label}] N = {args.subscriptions:,}: seeding …", flush=True)
    with c.bench_database(spec, "invoice_run") as url:
        res.update(c.in_child(seed, url, args.subscriptions, args.day))
        engine = create_engine(url)
        svc = Services(uow=uow_factory(engine), zone=ZONE)
        workers = args.workers if label == "postgresql" else 1  # SQLite has one writer at a time
        res["workers"] = workers

        def make() -> Any:  # runs in each forked worker: connections of its own
            return svc if workers == 1 else Services(uow=uow_factory(create_engine(url)), zone=ZONE)
        res["calib_ms"] = c.calibrate()
        print(f"[{label}] seeded in {res['seed_s']:.1f} s; ticking {args.day} …", flush=True)
        with c.maybe_profile(args.profile, label):
            cpu_before = c.cpu_seconds()
            watch = c.Stopwatch()
            rep = tick_workers(make, datetime.combine(args.day, time(9), tzinfo=ZONE), workers)
            res["seconds"] = watch.seconds()
            cpu_after = c.cpu_seconds()
            res["tick_cpu_s"], res["postgres_cpu_s"] = (b - a for a, b in zip(cpu_before, cpu_after, strict=True))
        with engine.connect() as conn:
            res["documents"] = conn.execute(select(func.count()).select_from(t.documents)).scalar()
            res["numbers"] = list(conn.execute(select(func.min(t.documents.c.number), func.max(t.documents.c.number))).one())
        engine.dispose()
    res["issued"] = len(rep.documents)
    res["per_s"] = res["issued"] / res["seconds"] if res["seconds"] else 0.0
    res["ms_per_invoice"] = 1000 * res["seconds"] / res["issued"] if res["issued"] else 0.0
    return res


def report(results: list[c.Result], args: Any) -> None:
    print()
    print(f"Invoice run — {results[0]['date']}, {results[0]['machine']}; goal ≥ {GOAL_PER_S:,.0f} invoices/s "
          f"at N = {GOAL_N:,} on PostgreSQL (no PDF)")
    print(c.table([
        (r["backend"], r["workers"], r["subscriptions"], r["issued"], r["seconds"], r["per_s"], r["ms_per_invoice"],
         f"{r['numbers'][0]} … {r['numbers'][1]}", r["calib_ms"],
         ("yes" if r["per_s"] >= GOAL_PER_S else "NO") if r["subscriptions"] == GOAL_N else "n/a")
        for r in results
    ], ["backend", "workers", "N", "invoices", "tick s", "invoices/s", "ms/invoice", "numbers", "CPU calib ms", "goal met"]))
    for r in results:
        if r["issued"]:
            print(f"  {r['backend']}: CPU per invoice: tick process(es) {1000 * r['tick_cpu_s'] / r['issued']:.3f} ms, "
                  f"PostgreSQL {1000 * r['postgres_cpu_s'] / r['issued']:.3f} ms (every postgres process on the machine)")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
