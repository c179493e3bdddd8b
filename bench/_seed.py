"""Fast, realistic seeding for the benchmarks.

Subscriptions are not invented column by column: one *template* per
(kind, start day) is ordered through the domain (``place_order``), paid and
activated where the preset needs it, and run forward with ``run_due`` to the
day before the benchmark starts, exactly as the scheduler would have. Its row
values (``SubscriptionRepository._values``) are then cloned with a new ref,
customer and tenant and bulk-inserted (SQLite: executemany of values converted
by the columns' own SQLAlchemy bind processors; PostgreSQL: psycopg ``COPY``). ``processed_through`` is the day before the
benchmark and ``next_due`` comes from ``refresh_next_due``.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, Table, insert, text

from licensedesk.adapters.db import tables as t
from licensedesk.adapters.db.repositories import PolicyStore, SubscriptionRepository
from licensedesk.domain import subscription as subs
from licensedesk.domain.calendar import Billing, BusinessCalendar, Term
from licensedesk.domain.catalog import Offer
from licensedesk.domain.ordering import OrderRequest, place_order
from licensedesk.domain.parties import Customer, Entity, Segment, Tenant
from licensedesk.domain.subscription import Status, Subscription, When
from licensedesk.presets import preset, sample_catalog
from licensedesk.services.catalog import offer_from_mapping

ZONE = ZoneInfo("Asia/Tokyo")
CALENDAR = BusinessCalendar()
OFFERS: dict[str, Offer] = {o.code: o for o in (offer_from_mapping(m) for m in sample_catalog())}
SEAT_OFFERS = ("M365-E3", "M365-BUSINESS-BASIC", "M365-BUSINESS-STANDARD", "O365-E3")


@dataclass(frozen=True)
class Kind:
    policy: str
    term: Term
    billing: Billing

    @property
    def label(self) -> str:
        return f"{self.policy} {self.term.value} {self.billing.value}"


#: The mix, in equal shares: the three mca-nce shapes and the two other presets.
MIX = (
    Kind("mca-nce", Term.P1Y, Billing.MONTHLY),
    Kind("mca-nce", Term.P1M, Billing.MONTHLY),
    Kind("mca-nce", Term.P1Y, Billing.ANNUAL),
    Kind("monthly-prorated", Term.P1Y, Billing.MONTHLY),
    Kind("annual-prepaid", Term.P1Y, Billing.ANNUAL),
)


class MemoryPrices:
    """The sample catalog as a PriceBook (the templates are evolved without a database)."""

    def unit_price(self, offer: str, term: Term, billing: Billing, on: date) -> int:
        return OFFERS[offer].price_on(term, billing, on).unit_price


def start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZONE)


def at(day: date, hour: int) -> When:
    return When(datetime.combine(day, time(hour), tzinfo=ZONE), day)


_CUSTOMER = Customer("template", "テンプレート株式会社", Entity.CORPORATION, "JP", Segment.COMMERCIAL)
_TENANT = Tenant("template-t", "template", "template.onmicrosoft.com", "JP")


def template(kind: Kind, start: date, offer: str, quantity: int, through: date) -> Subscription | None:
    """A subscription ordered on ``start`` and run by the domain up to ``through`` (the scheduler's last day)."""
    policy = preset(kind.policy)
    found = OFFERS[offer]
    price = found.price_on(kind.term, kind.billing, start).unit_price
    req = OrderRequest("template", found, kind.term, kind.billing, quantity)
    sub = place_order(policy, _CUSTOMER, _TENANT, req, at(start, 10), price)
    model = subs.model_of(sub)
    if sub.status is Status.PENDING_PAYMENT:  # annual-prepaid: paid the same afternoon, activated next business day
        model.paid(sub, at(start, 15), ["new"], CALENDAR)  # type: ignore[attr-defined]
        model.activate(sub, at(CALENDAR.add_business_days(start, 1), 10), CALENDAR)  # type: ignore[attr-defined]
    sub.drain()
    subs.refresh_next_due(sub)
    prices = MemoryPrices()
    while sub.next_due is not None and sub.next_due <= through:
        day = sub.next_due
        subs.run_due(sub, day, start_of, prices)
        sub.drain()
        if sub.renewal_invoice_key is not None and not sub.renewal_paid:  # prepaid: the customer pays on time
            model.paid(sub, at(day, 12), [sub.renewal_invoice_key], CALENDAR)  # type: ignore[attr-defined]
            sub.drain()
        subs.refresh_next_due(sub)
    if sub.status is not Status.ACTIVE or sub.term_start is None or sub.term_start > through:
        return None  # not live, or (prepaid) activated after ``through``: not a state the past could hold
    sub.processed_through = through
    subs.refresh_next_due(sub)
    return sub


@dataclass
class Template:
    kind: Kind
    start: date
    values: dict[str, Any]  # the subscription row minus ref/customer/tenant

    @property
    def next_due(self) -> date | None:
        return self.values["next_due"]


def templates(engine: Engine, through: date, days: int = 365, kinds: Iterable[Kind] = MIX) -> list[Template]:
    """One template per (kind, start day in the ``days`` before ``through``); ensures the policies rows."""
    out: list[Template] = []
    with engine.begin() as conn:
        repo = SubscriptionRepository(conn, PolicyStore(conn))
        for kind in kinds:
            for back in range(days):
                start = through - timedelta(days=back)
                offer = SEAT_OFFERS[back % len(SEAT_OFFERS)]
                sub = template(kind, start, offer, 1 + (back * 7) % 50, through)
                if sub is None:
                    continue
                values = repo._values(sub)  # also inserts the policies row (PolicyStore.ensure)
                values.update(ordered_at=sub.ordered_at, version=1)
                out.append(Template(kind, start, values))
    return out


# ----------------------------------------------------------------- rows
# Rows are tuples of driver-level values in ``columns`` order, converted once per template with the
# column types' own bind processors (SQLite) or to COPY-ready values (PostgreSQL): the per-row work of
# a million-row seed is then a list copy and four strings.
def customer_ref(i: int) -> str:
    return f"c{i:07d}"


def customer_name(i: int) -> str:
    return f"ベンチ商事{i}株式会社"


CUSTOMER_COLUMNS = ("ref", "name", "entity", "country", "segment", "created_at")
TENANT_COLUMNS = ("ref", "customer_ref", "domain", "country", "syndication")
VARYING = ("ref", "customer_ref", "tenant_ref", "customer_name")


def customer_rows(engine: Engine, count: int, created: datetime) -> Iterator[list[Any]]:
    base = prepare(engine, t.customers, {"ref": "", "name": "", "entity": "corporation", "country": "JP",
                                         "segment": "commercial", "created_at": created})
    for i in range(count):
        row = list(base)
        row[0], row[1] = customer_ref(i), customer_name(i)
        yield row


def tenant_rows(engine: Engine, count: int) -> Iterator[list[Any]]:
    base = prepare(engine, t.tenants, {"ref": "", "customer_ref": "", "domain": "", "country": "JP",
                                       "syndication": False})
    for i in range(count):
        row = list(base)
        row[0], row[1], row[2] = f"t{i:07d}", customer_ref(i), f"bench{i}.onmicrosoft.com"
        yield row


CONTACT_COLUMNS = ("customer_ref", "position", "name", "email", "role")


def contact_rows(engine: Engine, count: int) -> Iterator[list[Any]]:
    """A billing contact per customer, so that every notice's mail is queued for someone."""
    table = t.metadata.tables["customer_contacts"]
    base = prepare(engine, table, {"customer_ref": "", "position": 0, "name": "経理部", "email": "",
                                   "role": "billing"}, CONTACT_COLUMNS)
    for i in range(count):
        row = list(base)
        row[0], row[3] = customer_ref(i), f"billing@bench{i}.example.jp"
        yield row


def seed_parties(engine: Engine, count: int, created: datetime) -> None:
    """``count`` customers with a tenant each (and a billing contact when the schema has contacts)."""
    bulk_insert(engine, t.customers, CUSTOMER_COLUMNS, customer_rows(engine, count, created))
    bulk_insert(engine, t.tenants, TENANT_COLUMNS, tenant_rows(engine, count))
    if "customer_contacts" in t.metadata.tables:
        bulk_insert(engine, t.metadata.tables["customer_contacts"], CONTACT_COLUMNS, contact_rows(engine, count))


def subscription_columns(pool: list[Template]) -> tuple[str, ...]:
    rest = sorted(k for k in pool[0].values if k not in VARYING)
    return (*VARYING, *rest)


def subscription_rows(engine: Engine, count: int, per_customer: int, pool: list[Template], seed: int = 1
                      ) -> Iterator[list[Any]]:
    """``count`` clones of templates drawn at random (fixed seed), ``per_customer`` per customer."""
    columns = subscription_columns(pool)
    prepared = [prepare(engine, t.subscriptions, {**{k: "" for k in VARYING}, **tp.values}, columns)
                for tp in pool]
    rng = random.Random(seed)
    for j in range(count):
        c = j // per_customer
        row = list(rng.choice(prepared))
        row[0], row[1], row[2], row[3] = f"s{j:08d}", customer_ref(c), f"t{c:07d}", customer_name(c)
        yield row


def prepare(engine: Engine, table: Table, values: dict[str, Any], columns: Iterable[str] | None = None
            ) -> tuple[Any, ...]:
    names = tuple(columns or values)
    if engine.dialect.name == "postgresql":
        return tuple(_pg_value(values[n]) for n in names)
    out = []
    for n in names:
        proc = table.c[n].type._cached_bind_processor(engine.dialect)
        out.append(proc(values[n]) if proc else values[n])
    return tuple(out)


def _pg_value(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return value


# ----------------------------------------------------------------- bulk insert
def bulk_insert(engine: Engine, table: Table, columns: Iterable[str], rows: Iterable[list[Any]],
                chunk: int = 50_000) -> int:
    """Insert prepared rows: DBAPI executemany in chunks on SQLite, ``COPY … FROM STDIN`` on PostgreSQL."""
    names = list(columns)
    quoted = ", ".join(f'"{c}"' for c in names)
    n = 0
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            raw = conn.connection.dbapi_connection
            assert raw is not None
            with raw.cursor() as cur, cur.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:  # type: ignore[attr-defined]
                for row in rows:
                    copy.write_row(row)
                    n += 1
            return n
        sql = f'INSERT INTO "{table.name}" ({quoted}) VALUES ({", ".join("?" for _ in names)})'
        batch: list[tuple[Any, ...]] = []
        for row in rows:
            batch.append(tuple(row))
            if len(batch) >= chunk:
                conn.exec_driver_sql(sql, batch)  # type: ignore[arg-type]
                n += len(batch)
                batch = []
        if batch:
            conn.exec_driver_sql(sql, batch)  # type: ignore[arg-type]
            n += len(batch)
    return n


def analyze(engine: Engine) -> None:
    """Refresh planner statistics after a bulk load (autovacuum/ANALYZE would in production)."""
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))


def set_last_day(engine: Engine, day: date) -> None:
    with engine.begin() as conn:
        conn.execute(t.scheduler_state.delete().where(t.scheduler_state.c.key == "last_day"))
        conn.execute(insert(t.scheduler_state).values(key="last_day", value=day.isoformat()))
