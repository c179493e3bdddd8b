"""What-if: measure the gain of each suggested optimisation before anyone changes ``src/``.

Each variant is a *prototype* of a suggestion in docs/performance.md, applied as an in-process patch
(nothing in ``src/`` is edited). The month workload of ``month.py`` is seeded once per back end into a
golden database; every variant runs the same days on a fresh copy of it in a forked child, and its
output (document numbers, customers, totals, notices, events, subscription rows) is compared with the
baseline's, so a variant that changes behaviour is flagged, not celebrated.

    .venv/bin/python bench/what_if.py                                   # baseline, SQLite then PostgreSQL
    .venv/bin/python bench/what_if.py --variants baseline,policy_digest --database-url sqlite

Variants (see ``VARIANTS``): baseline; policy_digest (cache Policy.digest); policy_cache (process-wide
digest → Policy cache in PolicyStore); prebuilt_save (UPDATE built once, values as parameters);
notice_upsert (INSERT … ON CONFLICT DO NOTHING instead of SELECT then INSERT); price_cache (price
book cached per tick); number_returning (UPDATE … RETURNING for the invoice counter); charged_batch
(one query for "already billed?" per document); bulk_load (one SELECT of the day's due rows instead of
one per customer); safe_all (all of the above); group_commit (safe_all + 50 customers per transaction —
changes the crash unit); pg_async_commit (safe_all + synchronous_commit=off, PostgreSQL only — changes
durability); docs_list_batch and sim_all (= safe_all + docs_list_batch), which matter for ``simulate``
only (``bench/simulate_3y.py --what-if baseline,safe_all,sim_all``).

Since the batched tick (branch perf-tick, docs/performance.md) these prototypes patch functions that
were replaced: only ``baseline`` is meaningful now, and it is the default. It still counts statements
and prints the output fingerprint, which is how the batched tick was checked against the old one.
"""

from __future__ import annotations

import hashlib
import sqlite3
import statistics
import sys
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from itertools import groupby
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import _common as c

ZONE = ZoneInfo("Asia/Tokyo")


# ----------------------------------------------------------------- the prototypes
def policy_digest() -> None:
    """Policy.digest is recomputed (asdict + JSON + SHA-256) on every save: compute it once per object."""
    from functools import cached_property

    from licensedesk.domain import policy as pol

    if isinstance(pol.Policy.__dict__.get("digest"), cached_property):
        return  # already cached in the code (commit 8c3f949): nothing to prototype
    original = pol.Policy.digest.fget
    cache: dict[int, tuple[Any, str]] = {}

    def digest(self: Any) -> str:
        hit = cache.get(id(self))
        if hit is None or hit[0] is not self:
            hit = cache[id(self)] = (self, original(self))
        return hit[1]

    pol.Policy.digest = property(digest)  # type: ignore[assignment]


def policy_cache() -> None:
    """PolicyStore lives one unit of work: every customer-day re-reads and re-validates the policy body.
    A digest names immutable content, so a process-wide digest → Policy map is always right."""
    from licensedesk.adapters.db.repositories import PolicyStore

    original = PolicyStore.get
    shared: dict[str, Any] = {}

    def get(self: Any, digest: str) -> Any:
        found = shared.get(digest)
        if found is None:
            found = shared[digest] = original(self, digest)
        self._cache[digest] = found
        return found

    PolicyStore.get = get  # type: ignore[method-assign]


def prebuilt_save() -> None:
    """save() builds a 35-column UPDATE with literal values each time (statement construction and cache
    key ≈ most of its cost); a statement built once, with the values as execute() parameters, is not."""
    from sqlalchemy import bindparam, update

    from licensedesk.adapters.db import tables as t
    from licensedesk.adapters.db.repositories import SubscriptionRepository

    stmt = update(t.subscriptions).where(t.subscriptions.c.ref == bindparam("b_ref"),
                                         t.subscriptions.c.version == bindparam("b_version"))

    def save(self: Any, sub: Any) -> None:
        params = self._values(sub)
        params.update(version=sub.version + 1, b_ref=sub.ref, b_version=sub.version)
        if self.conn.execute(stmt, params).rowcount != 1:
            raise RuntimeError(f"subscription {sub.ref} was changed concurrently; retry")
        sub.version += 1

    SubscriptionRepository.save = save  # type: ignore[method-assign]


def notice_upsert() -> None:
    """NoticeRepository.add: SELECT then INSERT (2 round trips) → INSERT … ON CONFLICT DO NOTHING (1).
    With the outbox (``OutboxNoticeRepository``), the same insert also RETURNs the new id, instead of
    a third statement that selects the notice again to get it."""
    from sqlalchemy.dialects import postgresql, sqlite

    from licensedesk.adapters.db import tables as t
    from licensedesk.adapters.db.repositories import NoticeRepository

    stmts = {name: mod.insert(t.notices).on_conflict_do_nothing(index_elements=["kind", "subject", "on_date"])
             .returning(t.notices.c.id) for name, mod in (("postgresql", postgresql), ("sqlite", sqlite))}

    def insert_new(conn: Any, notice: Any, customer: str, at: datetime) -> int | None:
        row = conn.execute(stmts[conn.dialect.name], {
            "kind": notice.kind, "customer_ref": customer, "subject": notice.subject, "on_date": notice.on,
            "rule": notice.rule, "details": notice.details, "created_at": at}).first()
        return None if row is None else int(row[0])

    def add(self: Any, notice: Any, customer: str, at: datetime) -> bool:
        return insert_new(self.conn, notice, customer, at) is not None

    NoticeRepository.add = add  # type: ignore[method-assign]
    try:
        from licensedesk.adapters.db.repositories_outbox import OutboxNoticeRepository
    except ImportError:  # a tree without the outbox
        return

    def add_and_queue(self: Any, notice: Any, customer: str, at: datetime) -> bool:
        notice_id = insert_new(self.conn, notice, customer, at)
        if notice_id is None:
            return False
        self.outbox.enqueue(notice, customer, at, notice_id)
        return True

    OutboxNoticeRepository.add = add_and_queue  # type: ignore[method-assign]


def price_cache() -> None:
    """CatalogPrices reads the offer and all its price rows (2 queries) for every renewal: cache per tick."""
    from licensedesk.services import scheduler
    from licensedesk.services.context import CatalogPrices

    cache: dict[str, Any] = {}
    original_tick = scheduler.tick

    def unit_price(self: Any, offer: str, term: Any, billing: Any, on: date) -> int:
        found = cache.get(offer)
        if found is None:
            found = self.uow.offers.get(offer)
            if found is None:
                return int(original_unit_price(self, offer, term, billing, on))  # raises the named error
            cache[offer] = found
        return int(found.price_on(term, billing, on).unit_price)

    def tick(svc: Any, until: datetime) -> Any:
        cache.clear()
        return original_tick(svc, until)

    original_unit_price = CatalogPrices.unit_price
    CatalogPrices.unit_price = unit_price  # type: ignore[method-assign]
    scheduler.tick = tick  # type: ignore[assignment]


def number_returning() -> None:
    """next_number: SELECT … FOR UPDATE then UPDATE (2 round trips) → UPDATE … RETURNING (1), same row lock."""
    from sqlalchemy import bindparam, insert, update

    from licensedesk.adapters.db import tables as t
    from licensedesk.adapters.db.repositories import DocumentRepository

    ns = t.number_series
    stmt = (update(ns).where(ns.c.series == bindparam("b_series"))
            .values(next_value=ns.c.next_value + 1).returning(ns.c.next_value))

    def next_number(self: Any, series: str) -> int:
        row = self.conn.execute(stmt, {"b_series": series}).first()
        if row is None:
            self.conn.execute(insert(ns).values(series=series, next_value=2))
            return 1
        return int(row[0]) - 1

    DocumentRepository.next_number = next_number  # type: ignore[method-assign]


def charged_batch() -> None:
    """documents.issue asks "already billed?" once per line: ask once per document (one IN query)."""
    from sqlalchemy import select, tuple_

    from licensedesk.adapters.db import tables as t
    from licensedesk.services import documents

    dl = t.document_lines
    original = documents.issue

    def issue(uow: Any, customer: str, day: date, lines: Any, *args: Any, **kwargs: Any) -> Any:
        pairs = list({(line.subscription, line.key) for line in lines})
        repo = uow.documents
        billed = set(repo.conn.execute(select(dl.c.subscription_ref, dl.c.charge_key).where(
            tuple_(dl.c.subscription_ref, dl.c.charge_key).in_(pairs))).all()) if pairs else set()
        repo.charged = lambda sub, key: (sub, key) in billed  # this call only
        try:
            return original(uow, customer, day, lines, *args, **kwargs)
        finally:
            del repo.charged

    documents.issue = issue  # type: ignore[assignment]


_PRELOADED: dict[tuple[date, str], list[Any]] = {}


def bulk_load() -> None:
    """run_day: one SELECT of every row due that day, grouped by customer, instead of one
    ``due_for_customer`` query per customer-day (and the ``customers_due`` query); the optimistic
    version check in save() still guards against a row changed since."""
    from sqlalchemy import select

    from licensedesk.adapters.db import tables as t
    from licensedesk.adapters.db.repositories import SubscriptionRepository
    from licensedesk.services import scheduler

    original_run_day = scheduler.run_day
    original_due = SubscriptionRepository.due_for_customer
    original_customers = SubscriptionRepository.customers_due
    s = t.subscriptions

    def run_day(svc: Any, day: date, report: Any) -> None:
        _PRELOADED.clear()
        with svc.uow() as uow:
            rows = uow.subscriptions.conn.execute(select(s).where(s.c.next_due <= day)
                                                  .order_by(s.c.customer_ref, s.c.id)).all()
        for customer, group in groupby(rows, key=lambda r: r.customer_ref):
            _PRELOADED[(day, customer)] = list(group)
        try:
            original_run_day(svc, day, report)
        finally:
            _PRELOADED.clear()

    def customers_due(self: Any, day: date) -> list[str]:
        if _PRELOADED:
            return sorted(customer for d, customer in _PRELOADED if d == day)
        return original_customers(self, day)

    def due_for_customer(self: Any, customer: str, day: date) -> list[Any]:
        rows = _PRELOADED.pop((day, customer), None)
        if rows is None:
            return original_due(self, customer, day)
        return [self._from(r) for r in rows]

    scheduler.run_day = run_day  # type: ignore[assignment]
    SubscriptionRepository.customers_due = customers_due  # type: ignore[method-assign]
    SubscriptionRepository.due_for_customer = due_for_customer  # type: ignore[method-assign]


def group_commit(batch: int = 50) -> None:
    """``batch`` customer-days per transaction instead of one (a crash now rolls back up to a batch,
    which the idempotent tick redoes): the units of work inside a batch share one real transaction."""
    from licensedesk.services import scheduler

    original_customer_day = scheduler.run_customer_day

    class Shared:
        def __init__(self, real: Any) -> None:
            self.real = real

        def __enter__(self) -> Any:
            return self.real

        def __exit__(self, *exc: Any) -> None:
            return None

    class Batch:
        def __init__(self, svc: Any) -> None:
            self.svc, self.real, self.count, self.factory = svc, None, 0, svc.uow

        def open(self) -> None:
            self.real = self.factory().__enter__()
            self.real_commit = self.real.commit
            self.real.commit = lambda: None  # the customer-day's commit waits for the batch
            self.svc.uow = lambda: Shared(self.real)

        def close(self) -> None:
            if self.real is not None:
                self.real_commit()
                self.real.__exit__(None, None, None)
                self.real = None
            self.svc.uow = self.factory

    batches: dict[int, Batch] = {}

    def run_customer_day(svc: Any, customer: str, day: date, report: Any) -> None:
        b = batches.get(id(svc))
        if b is None:
            b = batches[id(svc)] = Batch(svc)
        if b.real is None:
            b.open()
        original_customer_day(svc, customer, day, report)
        b.count += 1
        if b.count % batch == 0:
            b.close()

    original_run_day = scheduler.run_day

    def run_day(svc: Any, day: date, report: Any) -> None:
        try:
            original_run_day(svc, day, report)
        finally:
            b = batches.get(id(svc))
            if b is not None:
                b.close()

    scheduler.run_customer_day = run_customer_day  # type: ignore[assignment]
    scheduler.run_day = run_day  # type: ignore[assignment]


def docs_list_batch() -> None:
    """DocumentRepository.list reads each document's lines with its own query (N + 1); read them in one.
    ``simulate`` lists all documents for every ``pay: last`` step and for the report."""
    from collections import defaultdict

    from sqlalchemy import select

    from licensedesk.adapters.db import tables as t
    from licensedesk.adapters.db.repositories import DocumentRepository

    dl = t.document_lines

    def list_(self: Any, customer: str | None = None) -> list[dict[str, Any]]:
        q = select(t.documents).order_by(t.documents.c.id)
        if customer is not None:
            q = q.where(t.documents.c.customer_ref == customer)
        docs = [dict(r._mapping) for r in self.conn.execute(q)]
        lines: dict[int, list[dict[str, Any]]] = defaultdict(list)
        if docs:
            sub = select(t.documents.c.id).order_by(t.documents.c.id)
            if customer is not None:
                sub = sub.where(t.documents.c.customer_ref == customer)
            for r in self.conn.execute(select(dl).where(dl.c.document_id.in_(sub))
                                       .order_by(dl.c.document_id, dl.c.line_no)):
                lines[r.document_id].append(dict(r._mapping))
        for doc in docs:
            doc["lines"] = lines[doc["id"]]
        return docs

    DocumentRepository.list = list_  # type: ignore[method-assign]


def pg_async_commit() -> None:
    """PostgreSQL waits for the WAL flush at every commit; ``synchronous_commit=off`` does not (a crash may
    lose the last few hundred ms of commits — re-run by the idempotent tick, but see the caveat)."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    @event.listens_for(Engine, "connect")
    def _async(dbapi_conn: Any, _record: Any) -> None:
        if type(dbapi_conn).__module__.startswith("psycopg"):
            with dbapi_conn.cursor() as cur:
                cur.execute("SET synchronous_commit = off")
            dbapi_conn.commit()


SAFE = (policy_digest, policy_cache, prebuilt_save, notice_upsert, price_cache, number_returning, charged_batch,
        bulk_load)
VARIANTS: dict[str, tuple[Callable[[], None], ...]] = {
    "baseline": (),
    **{f.__name__: (f,) for f in SAFE},
    "safe_all": SAFE,
    "group_commit": (*SAFE, group_commit),
    "pg_async_commit": (*SAFE, pg_async_commit),
    "docs_list_batch": (docs_list_batch,),  # simulate only: the month never lists documents
    "sim_all": (*SAFE, docs_list_batch),
}


# ----------------------------------------------------------------- running
def main(argv: list[str]) -> int:
    p = c.parser(__doc__ or "")
    p.add_argument("--subscriptions", type=int, default=3_000, help="N (default 3,000)")
    p.add_argument("--per-customer", type=int, default=5)
    p.add_argument("--start", type=date.fromisoformat, default=date(2026, 7, 1))
    p.add_argument("--days", type=int, default=10, help="days ticked per run (default 10, from the 1st)")
    p.add_argument("--variants", default="baseline",
                   help="comma-separated (default: baseline; the others prototype the pre-batch code)")
    p.add_argument("--repeat", type=int, default=3, help="interleaved rounds; the minimum counts (default 3)")
    args = p.parse_args(argv)
    unknown = [v for v in args.variants.split(",") if v not in VARIANTS]
    if unknown:
        p.error(f"unknown variant(s) {unknown}; known: {', '.join(VARIANTS)}")
    return c.run(args, argv, bench, report)


def run_variant(url: str, name: str, start: date, days: int) -> dict[str, Any]:
    from sqlalchemy import event

    from licensedesk.adapters.db.engine import create_engine
    from licensedesk.bootstrap import uow_factory
    from licensedesk.services import scheduler
    from licensedesk.services.context import Services

    for patch in VARIANTS[name]:
        patch()
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
    names = args.variants.split(",")
    if label != "postgresql":
        names = [n for n in names if n != "pg_async_commit"]
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
