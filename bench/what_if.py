"""Month fingerprint: does a change to the tick keep its output, and how many statements does it send?

The month workload of ``month.py`` is seeded once per back end into a golden database; each round ticks
the same days on a fresh copy of it in a forked child and prints the time, the statements per
customer-day and a fingerprint of everything written (document numbers, customers, totals, lines,
notices, events, subscription rows, outbox). Run it on two trees (``PYTHONPATH=<other tree>/src``): equal
fingerprints mean the same ledger. The month's fingerprint has been ``18142d1722481956`` on both back ends
since session 2 (defaults: N = 3,000, 10 days from 2026-07-01).

    .venv/bin/python bench/what_if.py                                   # SQLite, then PostgreSQL
    .venv/bin/python bench/what_if.py --database-url sqlite --repeat 1

(Until session 3 this script also held in-process prototypes of the optimisations suggested before the
batched tick; they patched code the batched tick replaced and were removed. See git history.)
"""

from __future__ import annotations

import hashlib
import sqlite3
import statistics
import sys
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import _common as c

ZONE = ZoneInfo("Asia/Tokyo")


# ----------------------------------------------------------------- running
def main(argv: list[str]) -> int:
    p = c.parser(__doc__ or "")
    p.add_argument("--subscriptions", type=int, default=3_000, help="N (default 3,000)")
    p.add_argument("--per-customer", type=int, default=5)
    p.add_argument("--start", type=date.fromisoformat, default=date(2026, 7, 1))
    p.add_argument("--days", type=int, default=10, help="days ticked per run (default 10, from the 1st)")
    p.add_argument("--repeat", type=int, default=3, help="interleaved rounds; the minimum counts (default 3)")
    args = p.parse_args(argv)
    return c.run(args, argv, bench, report)


def run_variant(url: str, name: str, start: date, days: int) -> dict[str, Any]:
    from sqlalchemy import event

    from licensedesk.adapters.db.engine import create_engine
    from licensedesk.bootstrap import uow_factory
    from licensedesk.services import scheduler
    from licensedesk.services.context import Services

    engine = create_engine(url)
    svc = Services(uow=uow_factory(engine), zone=ZONE)
    out: dict[str, Any] = {"customer_days": 0, "subscriptions": 0, "documents": 0}
    statements: dict[str, int] = {}

    @event.listens_for(engine, "before_cursor_execute")
    def _count(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        key = _statement_kind(sql)
        statements[key] = statements.get(key, 0) + 1

    @event.listens_for(engine, "commit")
    def _commits(_conn: Any) -> None:
        statements["COMMIT"] = statements.get("COMMIT", 0) + 1

    watch = c.Stopwatch()
    for k in range(days):
        rep = scheduler.tick(svc, datetime.combine(start + timedelta(days=k), time(9), tzinfo=ZONE))
        out["customer_days"] += rep.customers
        out["subscriptions"] += rep.subscriptions
        out["documents"] += len(rep.documents)
    out["seconds"] = watch.seconds()
    out["statements"] = dict(statements)
    out["fingerprint"] = _fingerprint(engine)
    engine.dispose()
    return out


def _statement_kind(sql: str) -> str:
    """``SELECT subscriptions`` / ``UPDATE number_series`` …: verb and first table of a statement."""
    words = sql.replace("\n", " ").split()
    verb = words[0].upper() if words else "?"
    table = "?"
    for marker in ("FROM", "INTO", "UPDATE"):
        upper = [w.upper() for w in words]
        if marker in upper[: 1 if marker == "UPDATE" else None]:
            i = upper.index(marker)
            if i + 1 < len(words):
                table = words[i + 1].strip('"(')
                break
    return f"{verb} {table}"


def _fingerprint(engine: Any) -> str:
    """What the month produced, independent of timing: documents, notices, events, subscription rows."""
    from sqlalchemy import select

    from licensedesk.adapters.db import tables as t

    h = hashlib.sha256()
    with engine.connect() as conn:
        for q in (select(t.documents.c.number, t.documents.c.customer_ref, t.documents.c.kind, t.documents.c.total,
                         t.documents.c.issue_date, t.documents.c.status).order_by(t.documents.c.number),
                  select(t.document_lines.c.subscription_ref, t.document_lines.c.charge_key,
                         t.document_lines.c.amount).order_by(t.document_lines.c.subscription_ref,
                                                             t.document_lines.c.charge_key),
                  select(t.notices.c.kind, t.notices.c.subject, t.notices.c.on_date)
                  .order_by(t.notices.c.kind, t.notices.c.subject, t.notices.c.on_date),
                  select(t.subscription_events.c.subscription_ref, t.subscription_events.c.kind,
                         t.subscription_events.c.at).order_by(t.subscription_events.c.subscription_ref,
                                                              t.subscription_events.c.id),
                  select(t.subscriptions.c.ref, t.subscriptions.c.version, t.subscriptions.c.status,
                         t.subscriptions.c.quantity, t.subscriptions.c.unit_price, t.subscriptions.c.next_due,
                         t.subscriptions.c.processed_through).order_by(t.subscriptions.c.ref)):
            for row in conn.execute(q):
                h.update(repr(tuple(row)).encode())
        outbox = t.metadata.tables.get("outbox_messages")
        if outbox is not None:  # the mail each notice queued (recipient, status, payload)
            q = select(outbox.c.notice_id, outbox.c.kind, outbox.c.customer_ref, outbox.c.recipient,
                       outbox.c.status, outbox.c.payload).order_by(outbox.c.kind, outbox.c.customer_ref,
                                                                   outbox.c.created_at, outbox.c.id)
            for row in conn.execute(q):
                h.update(repr((row.kind, row.customer_ref, row.recipient, row.status, row.payload)).encode())
    return h.hexdigest()[:16]


class Golden:
    """The seeded database, copied for each variant (SQLite: VACUUM INTO; PostgreSQL: CREATE DATABASE … TEMPLATE)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.n = 0

    def copy(self) -> tuple[str, Callable[[], None]]:
        from sqlalchemy import create_engine, make_url, text
        from sqlalchemy.pool import NullPool

        self.n += 1
        u = make_url(self.url)
        if self.url.startswith("sqlite"):
            target = Path(str(u.database)).with_name(f"copy{self.n}.sqlite3")
            con = sqlite3.connect(str(u.database))
            con.execute(f"VACUUM INTO '{target}'")
            con.close()
            return f"sqlite+pysqlite:///{target}", lambda: target.unlink(missing_ok=True)
        name = f"{u.database}_v{self.n}"
        admin = create_engine(u.set(database="postgres"), poolclass=NullPool, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{u.database}"'))

        def drop() -> None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

        return u.set(database=name).render_as_string(hide_password=False), drop


def bench(spec: str, args: Any) -> c.Result:
    from month import seed

    label = c.backend_label(spec)
    res: c.Result = {"backend": label, "subscriptions": args.subscriptions, "days": args.days,
                     "date": c.now_utc(), "machine": c.machine(), "variants": []}
    names = ["baseline"]
    runs: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
    res["calib_before_ms"] = c.calibrate()
    with c.bench_database(spec, "whatif") as url:
        seeded = c.in_child(seed, url, args.subscriptions, args.per_customer, args.start - timedelta(days=1))
        res["schema"] = seeded["schema"]
        print(f"[{label}] seeded N = {args.subscriptions:,} ({seeded['templates']} templates)", flush=True)
        golden = Golden(url)
        for round_no in range(args.repeat):  # interleaved, so a slow minute of the VM hits every variant
            for name in names:
                copy_url, drop = golden.copy()
                try:
                    out = c.in_child(run_variant, copy_url, name, args.start, args.days)
                finally:
                    drop()
                runs[name].append(out)
                print(f"[{label}] round {round_no + 1} {name:18} {out['seconds']:7.2f} s  "
                      f"{out['customer_days']:,} customer-days  {out['documents']:,} documents  "
                      f"output {out['fingerprint']}", flush=True)
    res["calib_after_ms"] = c.calibrate()
    for name in names:
        secs = sorted(r["seconds"] for r in runs[name])
        first = runs[name][0]
        res["variants"].append({"name": name, "min_s": secs[0], "median_s": statistics.median(secs),
                                "customer_days": first["customer_days"], "documents": first["documents"],
                                "statements": first["statements"],
                                "fingerprints": sorted({r["fingerprint"] for r in runs[name]})})
    return res


def report(results: list[c.Result], args: Any) -> None:
    print()
    print(f"What-if — month workload, N = {args.subscriptions:,}, {args.days} days from {args.start}, "
          f"{args.repeat} interleaved rounds; {results[0]['date']}, {results[0]['machine']}")
    rows = []
    for r in results:
        base = next((v for v in r["variants"] if v["name"] == "baseline"), None)
        for v in r["variants"]:
            gain = f"{100 * (1 - v['min_s'] / base['min_s']):.0f}%" if base else ""
            same = "" if base is None else ("same" if v["fingerprints"] == base["fingerprints"] else "DIFFERENT")
            per = v["customer_days"] or 1
            sql = sum(n for k, n in v["statements"].items() if k != "COMMIT")
            rows.append((r["backend"], v["name"], v["min_s"], v["median_s"], 1000 * v["min_s"] / per,
                         sql / per, v["statements"].get("COMMIT", 0) / per, v["documents"], gain, same))
    print(c.table(rows, ["backend", "variant", "min s", "median s", "ms/customer-day (min)",
                         "statements/customer-day", "commits/customer-day", "documents",
                         "saved vs baseline (min)", "output vs baseline"]))
    base = next((v for v in results[0]["variants"] if v["name"] == "baseline"), None)
    if base:
        per = base["customer_days"] or 1
        top = sorted(base["statements"].items(), key=lambda kv: -kv[1])
        print("  baseline statements per customer-day: " + ", ".join(f"{k} {n / per:.2f}" for k, n in top))
    for r in results:
        print(f"  {r['backend']}: schema from {r['schema']}; CPU calibration {r['calib_before_ms']:.0f} ms before, "
              f"{r['calib_after_ms']:.0f} ms after (lower = faster; the VM's speed varies up to 2×)")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
