"""Idle tick: ``scheduler.tick`` over N subscriptions of which none is due (goal: ≤ 1 s at N = 1,000,000).

Seeds N realistic subscriptions (cloned from templates run through the domain, see ``_seed.py``)
whose ``next_due`` is after the tick's day, marks the scheduler's last day as yesterday, and times
``licensedesk.services.scheduler.tick(services, now)``:

* cold — the first tick in a fresh engine (connects, compiles the statements);
* warm — ``--repeat`` more ticks, each after putting ``last_day`` back to yesterday (untimed).

Seeding is timed separately and is not part of the goal.

    .venv/bin/python bench/tick_idle.py                          # SQLite, then PostgreSQL, N = 1,000,000
    .venv/bin/python bench/tick_idle.py --subscriptions 100000 --database-url sqlite
"""

from __future__ import annotations

import statistics
import sys
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import _common as c

GOAL_SECONDS = 1.0
ZONE = ZoneInfo("Asia/Tokyo")


def main(argv: list[str]) -> int:
    p = c.parser(__doc__ or "")
    p.add_argument("--subscriptions", type=int, default=1_000_000, help="N (default 1,000,000)")
    p.add_argument("--per-customer", type=int, default=5, help="subscriptions per customer (default 5)")
    p.add_argument("--today", type=date.fromisoformat, default=date(2026, 7, 15),
                   help="the tick's local date (default 2026-07-15); the last day done is the day before")
    p.add_argument("--repeat", type=int, default=5, help="warm ticks after the cold one (default 5)")
    args = p.parse_args(argv)
    return c.run(args, argv, bench, report)


def seed(url: str, n: int, per: int, today: date) -> dict[str, Any]:
    """Schema, templates not due by ``today``, customers, tenants, N subscriptions, catalog, last_day."""
    import _seed
    from sqlalchemy import func, select

    from licensedesk.adapters.db import tables as t
    from licensedesk.bootstrap import uow_factory
    from licensedesk.services import catalog as catalog_service
    from licensedesk.services.context import Services

    res: dict[str, Any] = {}
    yesterday = today - timedelta(days=1)
    customers = -(-n // per)
    watch = c.Stopwatch()
    engine = c.migrated_engine(url)
    res["schema"] = c.LAST_SCHEMA
    res["seed_schema_s"] = watch.seconds()

    watch = c.Stopwatch()
    pool = [tp for tp in _seed.templates(engine, yesterday) if tp.next_due is not None and tp.next_due > today]
    res["templates"] = len(pool)
    res["seed_templates_s"] = watch.seconds()

    watch = c.Stopwatch()
    created = datetime.combine(yesterday - timedelta(days=400), time(9), tzinfo=ZONE)
    _seed.seed_parties(engine, customers, created)
    _seed.bulk_insert(engine, t.subscriptions, _seed.subscription_columns(pool),
                      _seed.subscription_rows(engine, n, per, pool))
    res["seed_insert_s"] = watch.seconds()
    watch = c.Stopwatch()
    _seed.analyze(engine)
    res["seed_analyze_s"] = watch.seconds()
    catalog_service.load_sample_catalog(Services(uow=uow_factory(engine), zone=ZONE))
    _seed.set_last_day(engine, yesterday)
    with engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(t.subscriptions)).scalar_one()
        first_due = conn.execute(select(func.min(t.subscriptions.c.next_due))).scalar()
    assert count == n, (count, n)
    res["first_next_due"] = str(first_due)
    res["plan"] = _plan(engine)
    engine.dispose()
    res["seed_total_s"] = sum(v for k, v in res.items() if k.startswith("seed_") and k.endswith("_s"))
    return res


def bench(spec: str, args: Any) -> c.Result:
    import _seed

    from licensedesk.adapters.db.engine import create_engine
    from licensedesk.bootstrap import uow_factory
    from licensedesk.services.context import Services
    from licensedesk.services.scheduler import tick

    label = c.backend_label(spec)
    zone = ZONE
    today: date = args.today
    yesterday = today - timedelta(days=1)
    n, per = args.subscriptions, args.per_customer
    customers = -(-n // per)
    res: c.Result = {"backend": label, "subscriptions": n, "customers": customers, "date": c.now_utc(),
                     "machine": c.machine()}
    print(f"[{label}] N = {n:,}: seeding …", flush=True)
    with c.bench_database(spec, "idle") as url:
        res.update(c.in_child(seed, url, n, per, today))
        print(f"[{label}] seeded in {res['seed_total_s']:.1f} s; first next_due {res['first_next_due']}", flush=True)

        # ---- the measurement: a fresh engine, as a freshly started scheduler would have
        engine = create_engine(url)
        svc = Services(uow=uow_factory(engine), zone=zone)
        now = datetime.combine(today, time(9), tzinfo=zone)
        res["rss_before_mib"] = c.current_rss_mib()
        res["calib_before_ms"] = c.calibrate()
        with c.maybe_profile(args.profile, label):
            watch = c.Stopwatch()
            rep = tick(svc, now)
            res["tick_cold_s"] = watch.seconds()
        assert rep.customers == 0 and not rep.documents, "the idle tick processed something"
        with svc.uow() as uow:
            assert uow.scheduler.last_day() == today
        warm = []
        for _ in range(args.repeat):
            _seed.set_last_day(engine, yesterday)
            watch = c.Stopwatch()
            tick(svc, now)
            warm.append(watch.seconds())
        res["tick_warm_min_s"] = min(warm) if warm else None
        res["tick_warm_median_s"] = statistics.median(warm) if warm else None
        res["peak_rss_mib"] = c.peak_rss_mib()
        res["calib_after_ms"] = c.calibrate()
        engine.dispose()
    return res


def _plan(engine: Any) -> str:
    """How the database answers the idle tick's one real question, MIN(next_due)."""
    from sqlalchemy import text

    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            rows = conn.execute(text("EXPLAIN SELECT min(next_due) FROM subscriptions")).fetchall()
            return " | ".join(r[0].strip() for r in rows)
        rows = conn.execute(text("EXPLAIN QUERY PLAN SELECT min(next_due) FROM subscriptions")).fetchall()
        return " | ".join(str(r[-1]) for r in rows)


def report(results: list[c.Result], args: Any) -> None:
    print()
    print(f"Idle tick — {results[0]['date']}, {results[0]['machine']}; goal ≤ {GOAL_SECONDS:g} s at N = 1,000,000")
    print(c.table([
        (r["backend"], r["subscriptions"], r["customers"], r["seed_insert_s"], r["seed_analyze_s"],
         r["seed_total_s"], r["tick_cold_s"], r["tick_warm_min_s"], r["tick_warm_median_s"],
         "yes" if r["tick_cold_s"] <= GOAL_SECONDS else "NO", r["peak_rss_mib"])
        for r in results
    ], ["backend", "subscriptions", "customers", "insert s", "analyze s", "seed total s", "tick cold s",
        "tick warm min s", "tick warm median s", "goal met", "peak RSS MiB"]))
    for r in results:
        print(f"  {r['backend']}: schema from {r['schema']}; {r['templates']} templates; first next_due "
              f"{r['first_next_due']}; RSS before the tick {r['rss_before_mib']:.0f} MiB; CPU calibration "
              f"{r['calib_before_ms']:.0f}/{r['calib_after_ms']:.0f} ms before/after (lower = faster); "
              f"plan for MIN(next_due): {r['plan']}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
