"""Repositories over SQLAlchemy Core: rows in, domain objects out (a hand-written data mapper)."""

from __future__ import annotations

import operator
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from datetime import date, datetime
from functools import cache
from itertools import compress
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, func, insert, or_, select, union_all, update
from sqlalchemy.exc import IntegrityError

from licensedesk.domain.billing import NUMBER_DIGITS, DocumentDraft, DocumentStatus, document_number
from licensedesk.domain.calendar import Billing, Term
from licensedesk.domain.catalog import Offer, OfferKind, PriceRow
from licensedesk.domain.errors import NotFound
from licensedesk.domain.parties import Customer, Entity, Segment, Tenant
from licensedesk.domain.policy import Policy
from licensedesk.domain.subscription import Event, Notice, ReductionRequest, SeatAddition, Status, Subscription
from licensedesk.services.ports import Conflict

from . import bulk, direct
from . import tables as t


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@contextmanager
def _conflicts() -> Iterator[None]:
    """A batch write that hits a unique key lost a race (a rerun, another worker): say so in the ports' terms."""
    try:
        yield
    except IntegrityError as e:
        raise Conflict(str(e.orig)) from e


def _insert_all(conn: Connection, table: Any, rows: list[dict[str, Any]], key: tuple[str, ...]) -> list[int]:
    """Insert ``rows``; their ids, in order. One row: the id comes with the INSERT. Several on PostgreSQL: one
    unnest INSERT … RETURNING (``bulk``). Several on SQLite: one executemany, then one SELECT of the ids by the
    unique ``key``, one IN per key column (an INSERT … RETURNING in parameter order goes row by row on SQLite;
    a row-value IN scans the index)."""
    if len(rows) <= 1:
        return [int(conn.execute(bulk.insert_into(table), row).inserted_primary_key[0])  # type: ignore[index]
                for row in rows]
    if bulk.is_postgres(conn):  # one statement that hands the ids back
        by_key = {tuple(r[:-1]): int(r[-1]) for r in bulk.insert_returning(conn, table, rows, (*key, "id"))}
        return [by_key[tuple(r[k] for k in key)] for r in rows]
    conn.execute(bulk.insert_into(table), rows)
    cols = [table.c[k] for k in key]
    found = conn.execute(select(*cols, table.c.id).where(*(c.in_(sorted({r[k] for r in rows})) for c, k in
                                                           zip(cols, key, strict=True))))
    ids = {tuple(r[:-1]): int(r[-1]) for r in found}
    return [ids[tuple(r[k] for k in key)] for r in rows]


# The counter rows each engine's ``DocumentRepository`` found committed: they stay (D-ORDER-NUMBER-AT-COMMIT).
_SERIES_FOUND: weakref.WeakKeyDictionary[Engine, set[str]] = weakref.WeakKeyDictionary()

# ``document_number(series, c.n)`` written by PostgreSQL (D-DOC-NUMBERED-CTE): zero-padded to NUMBER_DIGITS, longer as is
_NUMBER_SQL = (f"%(s)s || '-' || CASE WHEN c.n < 1{'0' * NUMBER_DIGITS} "
               f"THEN lpad(c.n::text, {NUMBER_DIGITS}, '0') ELSE c.n::text END")


def _first(rows: Sequence[Sequence[Any]]) -> Any:
    """The first column of the first row; None without rows (``Result.scalar``)."""
    return rows[0][0] if rows else None


@cache
def _compiled(statement: Any, dialect: Any) -> str:
    """A statement built once, as SQL text with its ``%(name)s`` parameters, to embed in a larger statement."""
    return str(statement.compile(dialect=dialect))


@cache
def _due_for_customers_query(dialect_name: str) -> Any:
    """The due subscriptions of a list of customers, in id order; built once per dialect (the tick runs it per day)."""
    c = t.subscriptions.c
    return (select(t.subscriptions).where(bulk.among_param(c.customer_ref, "customers", dialect_name),
                                          c.next_due <= bindparam("day")).order_by(c.id))


@cache
def _charged_query(dialect_name: str) -> Any:
    """Billed (subscription, charge key) pairs among two lists: one IN per column, not a row-value IN (SQLite
    answers that by scanning the whole index); built once per dialect."""
    c = t.document_lines.c
    return select(c.subscription_ref, c.charge_key).where(bulk.among_param(c.subscription_ref, "subs", dialect_name),
                                                          bulk.among_param(c.charge_key, "keys", dialect_name))


_EVENT_COLUMNS = ("subscription_ref", "kind", "at", "rule", "details")


def _event_row(ref: str, e: Event) -> dict[str, Any]:
    """The ``subscription_events`` row of ``ref``'s event ``e`` (keys ``_EVENT_COLUMNS``)."""
    return {"subscription_ref": ref, "kind": e.kind, "at": e.at, "rule": e.rule,
            "details": {k: _iso(v) if isinstance(v, date | datetime) else v for k, v in e.details.items()}}


@cache
def new_subscription_insert(events: int) -> Any:
    """PostgreSQL: ``[WITH e AS (INSERT INTO subscription_events … VALUES …)] INSERT INTO subscriptions … RETURNING
    id``, built once per number of events, with typed parameters: ``s_<column>`` for ``_new_row``'s values and
    ``e<i>_<column>`` for the i-th event's ``_event_row`` (its ``subscription_ref`` is ``s_ref``: psycopg parses a
    statement of more than 50 parameters again every time). The events are one SELECT each, UNION ALL in the order
    given, so their ids ascend in that order as the separate INSERT gave them (D-ORDER-EVENTS-WITH-SUB)."""
    columns = [c.name for c in t.subscriptions.c if c.name in SubscriptionRepository.NEW_ROW_KEYS]
    statement = (insert(t.subscriptions).values({c: bindparam(f"s_{c}", type_=t.subscriptions.c[c].type)
                                                 for c in columns})
                 .returning(t.subscriptions.c.id))
    if not events:
        return statement
    ev = t.subscription_events.c
    # one SELECT of typed parameters per event, UNION ALL: a multi-row VALUES has no cache key in SQLAlchemy, so the
    # statement would be compiled again for every order
    rows = [select(*(bindparam("s_ref" if c == "subscription_ref" else f"e{i}_{c}", type_=ev[c].type)
                     for c in _EVENT_COLUMNS)) for i in range(events)]
    source = rows[0] if events == 1 else union_all(*rows)
    return statement.add_cte(insert(t.subscription_events).from_select(list(_EVENT_COLUMNS), source).cte("e"))


class CustomerRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, c: Customer, at: datetime) -> None:
        result = self.conn.execute(insert(t.customers).values(
            ref=c.ref, name=c.name, entity=c.entity.value, country=c.country, segment=c.segment.value,
            corporate_number=c.corporate_number, parent_ref=c.parent_ref,
            ownership_percent=None if c.ownership_percent is None else str(c.ownership_percent), created_at=at,
            name_kana=c.name_kana))
        c.id = result.inserted_primary_key[0] if result.inserted_primary_key else None

    @staticmethod
    def _from(row: Any) -> Customer:
        return Customer(ref=row.ref, name=row.name, entity=Entity(row.entity), country=row.country,
                        segment=Segment(row.segment), corporate_number=row.corporate_number,
                        parent_ref=row.parent_ref,
                        ownership_percent=None if row.ownership_percent is None else float(row.ownership_percent),
                        id=row.id, name_kana=row.name_kana)

    # Built once (as the hot queries below): SQLAlchemy then neither rebuilds the statement nor its cache key.
    _GET = select(t.customers).where(t.customers.c.ref == bindparam("ref"))

    def get(self, ref: str) -> Customer | None:
        row = self.conn.execute(self._GET, {"ref": ref}).first()
        return self._from(row) if row else None

    def list(self) -> list[Customer]:
        return [self._from(r) for r in self.conn.execute(select(t.customers).order_by(t.customers.c.id))]


class TenantRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, tenant: Tenant) -> None:
        self.conn.execute(insert(t.tenants).values(ref=tenant.ref, customer_ref=tenant.customer_ref,
                                                   domain=tenant.domain.lower(), country=tenant.country,
                                                   syndication=tenant.syndication))

    @staticmethod
    def _from(row: Any) -> Tenant:
        return Tenant(ref=row.ref, customer_ref=row.customer_ref, domain=row.domain, country=row.country,
                      syndication=row.syndication, id=row.id)

    _GET = select(t.tenants).where(t.tenants.c.ref == bindparam("ref"))

    def get(self, ref: str) -> Tenant | None:
        row = self.conn.execute(self._GET, {"ref": ref}).first()
        return self._from(row) if row else None

    def by_domain(self, domain: str) -> Tenant | None:
        row = self.conn.execute(select(t.tenants).where(t.tenants.c.domain == domain.lower())).first()
        return self._from(row) if row else None


class OfferRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._read: dict[str, Offer] = {}  # offers read in this unit of work (an order reads its offer once)

    def put(self, offer: Offer) -> None:
        """Insert or replace an offer with its whole price history."""
        self._read.pop(offer.code, None)
        exists = self.conn.execute(select(t.offers.c.code).where(t.offers.c.code == offer.code)).first()
        if exists:
            self.conn.execute(update(t.offers).where(t.offers.c.code == offer.code)
                              .values(name=offer.name, kind=offer.kind.value))
            self.conn.execute(t.price_rows.delete().where(t.price_rows.c.offer_code == offer.code))
        else:
            self.conn.execute(insert(t.offers).values(code=offer.code, name=offer.name, kind=offer.kind.value))
        if offer.prices:
            self.conn.execute(insert(t.price_rows), [
                {"offer_code": offer.code, "term": p.term.value, "billing": p.billing.value,
                 "unit_price": p.unit_price, "effective_from": p.effective_from, "effective_to": p.effective_to}
                for p in offer.prices])

    # built once: the tick prices every renewal and cycle through get()
    _PRICES = (select(t.price_rows).where(t.price_rows.c.offer_code.in_(bindparam("codes", expanding=True)))
               .order_by(t.price_rows.c.id))

    def _prices(self, codes: Sequence[str]) -> dict[str, list[PriceRow]]:
        out: dict[str, list[PriceRow]] = {c: [] for c in codes}
        rows = self.conn.execute(self._PRICES, {"codes": list(codes)})
        for r in rows:
            out[r.offer_code].append(PriceRow(Term(r.term), Billing(r.billing), r.unit_price,
                                              r.effective_from, r.effective_to))
        return out

    # the offer with its price rows in one read (a LEFT JOIN: an offer without prices gives one row of NULLs)
    _WITH_PRICES = (select(t.offers.c.code, t.offers.c.name, t.offers.c.kind, t.price_rows.c.term,
                           t.price_rows.c.billing, t.price_rows.c.unit_price, t.price_rows.c.effective_from,
                           t.price_rows.c.effective_to)
                    .outerjoin(t.price_rows, t.price_rows.c.offer_code == t.offers.c.code)
                    .where(t.offers.c.code == bindparam("code")).order_by(t.price_rows.c.id))

    def get(self, code: str) -> Offer | None:
        if code in self._read:
            return self._read[code]
        rows = direct.rows(self.conn, self._WITH_PRICES, {"code": code})
        if not rows:
            return None
        first = rows[0]
        prices = [PriceRow(Term(r.term), Billing(r.billing), r.unit_price, r.effective_from, r.effective_to)
                  for r in rows if r.term is not None]
        found = self._read[code] = Offer(first.code, first.name, OfferKind(first.kind), prices)
        return found

    def kind(self, code: str) -> str | None:
        """The offer's kind (from the offer read in this unit of work, if it was)."""
        if code in self._read:
            return self._read[code].kind.value
        value: str | None = self.conn.execute(select(t.offers.c.kind).where(t.offers.c.code == code)).scalar()
        return value

    def list(self) -> list[Offer]:
        rows = list(self.conn.execute(select(t.offers).order_by(t.offers.c.code)))
        prices = self._prices([r.code for r in rows])
        return [Offer(r.code, r.name, OfferKind(r.kind), prices[r.code]) for r in rows]


class PolicyStore:
    """Policies by digest: a subscription keeps the exact terms it was bound to."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._cache: dict[str, Policy] = {}
        self._committed = _COMMITTED_DIGESTS.setdefault(conn.engine, set())

    def ensure(self, policy: Policy) -> str:
        digest = policy.digest
        if digest not in self._cache and digest not in self._committed:
            found = self.conn.execute(select(t.policies.c.digest).where(t.policies.c.digest == digest)).first()
            if found:
                self._committed.add(digest)  # committed by someone: it stays (policies are never deleted)
            else:  # content-addressed: a row another transaction inserts meanwhile is this very row
                self.conn.execute(bulk.insert_ignoring(t.policies, "digest", self.conn.dialect.name), {
                    "digest": digest, "name": policy.name, "version": policy.version, "body": policy.to_mapping()})
            self._cache[digest] = policy
        return digest

    def get(self, digest: str) -> Policy:
        if digest not in _PARSED:  # content-addressed, so one parsed copy serves every database
            body = self.conn.execute(select(t.policies.c.body).where(t.policies.c.digest == digest)).scalar_one()
            _PARSED[digest] = Policy.from_mapping(body)
        self._cache[digest] = _PARSED[digest]  # its row is in this database: ``ensure`` need not look
        return _PARSED[digest]


_PARSED: dict[str, Policy] = {}
# Per database (engine): digests whose row was found committed. A row this transaction inserts is not added
# (it may roll back); the next unit of work finds it and adds it. Saves every order its policy look-up.
_COMMITTED_DIGESTS: weakref.WeakKeyDictionary[Engine, set[str]] = weakref.WeakKeyDictionary()


_SCALARS = (
    "customer_name", "unit_price", "quantity", "auto_renew", "auto_renew_reason", "term_start", "term_end",
    "term_began_at", "term_number", "first_term_end", "next_term_quantity", "price_locked_until", "status_since",
    "cancel_effective", "delete_on", "activation_due", "renewal_invoice_key", "renewal_paid", "renewal_price",
    "processed_through", "next_due", "in_trial", "cycle_anchor", "pending_billing_from",
)


_GET_SCALARS = operator.attrgetter(*_SCALARS)  # one C call for all of them (the tick reads and writes them per row)
# ``_values``' keys, in its order; and, for a row of ``select(t.subscriptions)``, the same values (and the scalars)
# by position: a Row read by index is one C call, where each attribute costs a key look-up in Python.
_VALUE_KEYS = (*_SCALARS, "status", "term", "billing", "offer", "pending_billing", "policy_digest", "state")
_POSITION = {c.key: i for i, c in enumerate(t.subscriptions.c)}
_ROW_SCALARS = operator.itemgetter(*(_POSITION[k] for k in _SCALARS))
_ROW_VALUES = operator.itemgetter(*(_POSITION[k] for k in _VALUE_KEYS))
# A stored value's member by a dict look-up (``Term(value)`` goes through EnumType.__call__ in Python)
_TERMS: dict[str, Term] = {str(m): m for m in Term}
_BILLINGS: dict[str, Billing] = {str(m): m for m in Billing}
_STATUSES: dict[str, Status] = {str(m): m for m in Status}


def _state(sub: Subscription) -> dict[str, Any]:
    def additions(a: SeatAddition) -> dict[str, Any]:
        return {"at": a.at.isoformat(), "quantity": a.quantity, "unit_amount": a.unit_amount,
                "period_end": a.period_end.isoformat(), "remaining": a.remaining}

    def request(r: ReductionRequest) -> dict[str, Any]:
        return {**asdict(r), "requested_at": r.requested_at.isoformat()}

    return {"seat_additions": [additions(a) for a in sub.seat_additions], "pending_seats": sub.pending_seats,
            "accrued": sub.accrued, "requests": [request(r) for r in sub.requests]}


def _restore_state(sub: Subscription, state: dict[str, Any]) -> None:
    sub.seat_additions = [SeatAddition(datetime.fromisoformat(a["at"]), a["quantity"], a["unit_amount"],
                                       date.fromisoformat(a["period_end"]), a["remaining"])
                          for a in state.get("seat_additions", [])]
    sub.pending_seats = list(state.get("pending_seats", []))
    sub.accrued = list(state.get("accrued", []))
    sub.requests = [ReductionRequest(**{**r, "requested_at": datetime.fromisoformat(r["requested_at"])})
                    for r in state.get("requests", [])]


class SubscriptionRepository:
    def __init__(self, conn: Connection, policies: PolicyStore) -> None:
        self.conn = conn
        self.policies = policies
        # The tick's subscriptions as read (id(sub) → (sub, ``_values`` as stored, in ``_VALUE_KEYS`` order)), so
        # save_all sends only what changed.
        self._as_read: dict[int, tuple[Subscription, tuple[Any, ...]]] = {}

    def _values(self, sub: Subscription) -> dict[str, Any]:
        return dict(zip(_VALUE_KEYS, self._value_tuple(sub), strict=True))

    def _value_tuple(self, sub: Subscription) -> tuple[Any, ...]:
        """The stored values of ``sub``'s changeable columns, in ``_VALUE_KEYS`` order."""
        # str() of a StrEnum is its value, in C (``.value`` is a Python-level property: 10,000 rows a tick)
        return (*_GET_SCALARS(sub), str(sub.status), str(sub.term), str(sub.billing), sub.offer,
                str(sub.pending_billing) if sub.pending_billing else None, self.policies.ensure(sub.policy),
                _state(sub))

    def add(self, sub: Subscription, events: Sequence[Event] = ()) -> None:
        """A new subscription (version 1) and the events it recorded, in order: on PostgreSQL one statement."""
        if events and bulk.is_postgres(self.conn):
            self._insert_new(sub, events, new_subscription_insert(len(events)))
            return
        # the values as parameters of a statement built once: ``insert(...).values(**row)`` would build a bind
        # parameter per column and the statement's cache key on every order
        result = self.conn.execute(bulk.insert_into(t.subscriptions), self._new_row(sub))
        sub.id = result.inserted_primary_key[0] if result.inserted_primary_key else None
        sub.version = 1
        self.add_events(sub.ref, events)

    def _insert_new(self, sub: Subscription, events: Sequence[Event], statement: Any, **params: Any) -> None:
        """PostgreSQL: run ``statement`` (a ``new_subscription_insert``, maybe with more WITH queries needing
        ``params``) on ``sub``'s row and its ``events``' rows."""
        values = {**{f"s_{k}": v for k, v in self._new_row(sub).items()},
                  **{f"e{i}_{k}": v for i, e in enumerate(events) for k, v in _event_row(sub.ref, e).items()
                     if k != "subscription_ref"}}  # the events' ref is the subscription's own parameter
        (sub.id,), = direct.rows(self.conn, statement, {**values, **params})
        sub.version = 1

    NEW_ROW_KEYS = ("ref", "customer_ref", "tenant_ref", "ordered_at", "version", *_VALUE_KEYS)

    def _new_row(self, sub: Subscription) -> dict[str, Any]:
        """The row ``add`` inserts for a new subscription (version 1), keys ``NEW_ROW_KEYS``."""
        return {"ref": sub.ref, "customer_ref": sub.customer, "tenant_ref": sub.tenant, "ordered_at": sub.ordered_at,
                "version": 1, **self._values(sub)}

    # Built once: the columns come from the parameters, so SQLAlchemy compiles and caches it once.
    _SAVE = update(t.subscriptions).where(t.subscriptions.c.ref == bindparam("w_ref"),
                                          t.subscriptions.c.version == bindparam("w_version"))

    def save(self, sub: Subscription) -> None:
        """Write back, refusing a lost update (optimistic version check)."""
        result = self.conn.execute(self._SAVE, {"w_ref": sub.ref, "w_version": sub.version,
                                                "version": sub.version + 1, **self._values(sub)})
        if result.rowcount != 1:
            raise Conflict(f"subscription {sub.ref} was changed concurrently; retry")
        sub.version += 1
        self._as_read.pop(id(sub), None)  # written whole: compare nothing against the row as read

    def save_all(self, subs: Sequence[Subscription]) -> None:
        """``save`` for many in one executemany; any lost update refuses them all (the caller retries)."""
        if not subs:
            return
        values = [self._value_tuple(s) for s in subs]
        if bulk.is_postgres(self.conn):
            updated = self._update_changed(subs, values)
        else:
            updated = self.conn.execute(self._SAVE, [
                {"w_ref": s.ref, "w_version": s.version, "version": s.version + 1,
                 **dict(zip(_VALUE_KEYS, v, strict=True))} for s, v in zip(subs, values, strict=True)]).rowcount
        if updated != len(subs):
            raise Conflict(f"{len(subs) - updated} of {len(subs)} subscriptions were changed concurrently")
        for sub, v in zip(subs, values, strict=True):
            sub.version += 1
            if id(sub) in self._as_read:
                self._as_read[id(sub)] = (sub, v)

    def _update_changed(self, subs: Sequence[Subscription], values: list[tuple[Any, ...]]) -> int:
        """PostgreSQL: one UPDATE … FROM unnest per set of changed columns (the tick's usual case: a few dates and
        the version), each row matched on ref and version. A subscription not read through ``due_for_customers``,
        or a value that compares unequal for any reason, is written."""
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for sub, new in zip(subs, values, strict=True):
            seen = self._as_read.get(id(sub))
            if seen is not None and seen[0] is sub:
                differs = list(map(operator.ne, seen[1], new))  # compared in C, column by column
                keys, changed = tuple(compress(_VALUE_KEYS, differs)), tuple(compress(new, differs))
            else:
                keys, changed = _VALUE_KEYS, new
            groups.setdefault(keys, []).append({"w_ref": sub.ref, "w_version": sub.version, "version": sub.version + 1,
                                                **dict(zip(keys, changed, strict=True))})
        return sum(bulk.update_rows(self.conn, t.subscriptions, rows, {"ref": "w_ref", "version": "w_version"})
                   for rows in groups.values())

    def _from(self, row: Any) -> Subscription:
        """``row``: a whole row of ``select(t.subscriptions)`` (its columns in table order)."""
        p = _POSITION
        sub = Subscription(
            ref=row[p["ref"]], customer=row[p["customer_ref"]], tenant=row[p["tenant_ref"]], offer=row[p["offer"]],
            policy=self.policies.get(row[p["policy_digest"]]), term=_TERMS[row[p["term"]]],
            billing=_BILLINGS[row[p["billing"]]], unit_price=row[p["unit_price"]], quantity=row[p["quantity"]],
            ordered_at=row[p["ordered_at"]], auto_renew=row[p["auto_renew"]], status=_STATUSES[row[p["status"]]],
            id=row[p["id"]], version=row[p["version"]],
        )
        vars(sub).update(zip(_SCALARS, _ROW_SCALARS(row), strict=True))  # plain dataclass: its fields live there
        pending = row[p["pending_billing"]]
        sub.pending_billing = _BILLINGS[pending] if pending else None
        _restore_state(sub, row[p["state"]])
        return sub

    _GET = select(t.subscriptions).where(t.subscriptions.c.ref == bindparam("ref"))

    def get(self, ref: str) -> Subscription | None:
        row = self.conn.execute(self._GET, {"ref": ref}).first()
        return self._from(row) if row else None

    def for_customer(self, customer: str) -> list[Subscription]:
        rows = self.conn.execute(select(t.subscriptions).where(t.subscriptions.c.customer_ref == customer)
                                 .order_by(t.subscriptions.c.id))
        return [self._from(r) for r in rows]

    def all(self) -> list[Subscription]:
        return [self._from(r) for r in self.conn.execute(select(t.subscriptions).order_by(t.subscriptions.c.id))]

    def policies_in_use(self) -> list[Policy]:
        """The policies some active or provisioning subscription is bound to (the agenda's date margins)."""
        rows = self.conn.execute(select(t.subscriptions.c.policy_digest).distinct().where(
            t.subscriptions.c.status.in_([Status.ACTIVE.value, Status.PROVISIONING.value])))
        return [self.policies.get(r[0]) for r in rows]

    def renewal_totals(self, last: date) -> list[dict[str, Any]]:
        """Active subscriptions whose term ends by ``last``, grouped by (term, billing, auto_renew, term_end):
        how many, and the sum of next-term quantity × unit price (the renewals chart; no aggregate loaded)."""
        c = t.subscriptions.c
        keys = (c.term, c.billing, c.auto_renew, c.term_end)
        value = func.sum(func.coalesce(c.next_term_quantity, c.quantity) * func.coalesce(c.renewal_price, c.unit_price))
        q = (select(*keys, func.count().label("count"), value.label("value"))
             .where(c.status == Status.ACTIVE.value, c.term_end <= last).group_by(*keys).order_by(*keys))
        return [dict(r._mapping) for r in self.conn.execute(q)]

    def deadline_candidates(self, term_ends: Sequence[tuple[date, date]], began_since: datetime
                            ) -> list[Subscription]:
        """The agenda's candidates: provisioning with an activation due; active with a term ending in one of
        the ``term_ends`` ranges (opt-out, reduction deadlines) or begun or ordered since ``began_since``
        (cancel window)."""
        c = t.subscriptions.c
        q = select(t.subscriptions).where(or_(
            and_(c.status == Status.PROVISIONING.value, c.activation_due.is_not(None)),
            and_(c.status == Status.ACTIVE.value, or_(*(c.term_end.between(lo, hi) for lo, hi in term_ends),
                                                      c.term_began_at >= began_since, c.ordered_at >= began_since))))
        return [self._from(r) for r in self.conn.execute(q.order_by(c.id))]

    # Statements the tick runs every day it has work, built once (building one costs more than running it)
    _NEXT_DUE_DAY = select(func.min(t.subscriptions.c.next_due))
    _CUSTOMERS_DUE = (select(t.subscriptions.c.customer_ref).where(t.subscriptions.c.next_due <= bindparam("day"))
                      .distinct())

    def next_due_day(self) -> date | None:
        """The earliest day on which any subscription has work due (index on next_due)."""
        value = self.conn.execute(self._NEXT_DUE_DAY).scalar()
        return value if value is None or isinstance(value, date) else date.fromisoformat(str(value))

    def customers_due(self, day: date) -> list[str]:
        """Customers with work due on or before ``day`` (uses the next_due index)."""
        rows = self.conn.execute(self._CUSTOMERS_DUE, {"day": day})
        return sorted(r[0] for r in rows)

    def due_for_customers(self, customers: Sequence[str], day: date) -> dict[str, list[Subscription]]:
        """The due subscriptions of several customers in one query, each customer's in id order."""
        dialect = self.conn.dialect.name
        rows = self.conn.execute(_due_for_customers_query(dialect),
                                 {"customers": bulk.among_value(customers, dialect), "day": day}).all()
        out: dict[str, list[Subscription]] = {}
        remember = bulk.is_postgres(self.conn)  # only PostgreSQL's save_all sends just what changed
        for r in rows:
            sub = self._from(r)
            if remember:
                self._as_read[id(sub)] = (sub, _ROW_VALUES(r))
            out.setdefault(sub.customer, []).append(sub)
        return out

    def count(self) -> int:
        return int(self.conn.execute(select(func.count()).select_from(t.subscriptions)).scalar_one())

    def add_events(self, ref: str, events: Sequence[Event]) -> None:
        self.add_events_all([(ref, events)])

    def add_events_all(self, recorded: Sequence[tuple[str, Sequence[Event]]]) -> None:
        """The events of many subscriptions, in the given order, with one executemany."""
        rows = [_event_row(ref, e) for ref, events in recorded for e in events]
        bulk.insert_rows(self.conn, t.subscription_events, rows)

    def events(self, ref: str) -> list[dict[str, Any]]:
        rows = self.conn.execute(select(t.subscription_events).where(t.subscription_events.c.subscription_ref == ref)
                                 .order_by(t.subscription_events.c.id))
        return [{"kind": r.kind, "at": r.at, "rule": r.rule, "details": r.details} for r in rows]


class DocumentRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._started: set[str] = set()  # series whose counter row this unit of work inserted (not committed yet)

    _TAKE = (update(t.number_series).where(t.number_series.c.series == bindparam("s"))
             .values(next_value=t.number_series.c.next_value + bindparam("k")).returning(t.number_series.c.next_value))

    def take_numbers(self, series: str, count: int) -> int:
        """Reserve ``count`` consecutive numbers of a gapless per-series counter; returns the first.

        One ``UPDATE … RETURNING`` on the series row (never MAX()+1): the row stays locked until the
        transaction ends, so numbers are unique and, rolled back, leave no gap. A new series starts with
        INSERT … ON CONFLICT DO NOTHING, so transactions racing for its first number wait for one another.
        """
        after = self._from_counter(series, lambda: self.conn.execute(self._TAKE, {"s": series, "k": count}).scalar())
        return int(after) - count

    def _from_counter(self, series: str, take: Callable[[], Any]) -> Any:
        """What ``take`` returns: a statement taking from ``series``' counter (``_TAKE``), None while the series has
        no row. Then the series is started (INSERT … ON CONFLICT DO NOTHING, so transactions racing for its first
        number wait for one another) and ``take`` runs again. A series found without starting it had a committed row,
        which stays for good (no counter row is ever deleted): ``add_one_later`` may number from it."""
        taken = take()
        if taken is None:
            self.conn.execute(bulk.insert_ignoring(t.number_series, "series", self.conn.dialect.name),
                              {"series": series, "next_value": 1})
            self._started.add(series)
            taken = take()
            assert taken is not None
        elif series not in self._started:
            _SERIES_FOUND.setdefault(self.conn.engine, set()).add(series)
        return taken

    @staticmethod
    def _rows(issued: Sequence[tuple[DocumentDraft, date | None]], at: datetime
              ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[int]]:
        """The documents' rows (but their numbers), their lines' rows (but their document ids), each line's document."""
        issued_status = DocumentStatus.ISSUED.value
        documents = [{"kind": str(draft.kind), "customer_ref": draft.customer, "issue_date": draft.issue_date,
                      "due_date": draft.due_date, "status": issued_status, "subtotal": draft.subtotal,
                      "tax": draft.tax, "total": draft.total, "paid_amount": 0, "issued_at": at,
                      "taxes": [{"rate": str(x.rate), "net": x.net, "tax": x.tax} for x in draft.taxes],
                      "dunning_on": dunning_on} for draft, dunning_on in issued]
        lines = [{"line_no": i, "subscription_ref": line.subscription, "kind": str(line.kind),
                  "quantity": line.quantity, "unit_amount": line.unit_amount, "amount": line.amount,
                  "period_start": line.period_start, "period_end": line.period_end, "rule": line.why.rule,
                  "charge_key": line.key, "explanation": line.why.as_dict()}
                 for draft, _ in issued for i, line in enumerate(draft.lines)]
        of_document = [n for n, (draft, _) in enumerate(issued) for _ in draft.lines]  # each line's document
        return documents, lines, of_document

    def add_all(self, issued: Sequence[tuple[DocumentDraft, date | None]], at: datetime,
                numbers: Callable[[], Sequence[str]]) -> list[str]:
        """Documents (with their lines and first dunning date), numbered by ``numbers``; the numbers, in order.

        Every row is built before ``numbers`` is called: it takes them from the gapless counter, which then stays
        locked until commit, so the lock is held for the writes alone (on PostgreSQL every array of the two
        INSERTs is built by then, but for the numbers and the lines' document ids)."""
        documents, lines, of_document = self._rows(issued, at)
        with _conflicts():
            if bulk.is_postgres(self.conn) and len(documents) > 1:
                add_documents = bulk.insert_later(self.conn, t.documents, documents, ("number",), ("number", "id"))
                add_lines = bulk.insert_later(self.conn, t.document_lines, lines, ("document_id",))
                taken = list(numbers())
                id_of = dict(add_documents(number=taken))
                ids = [int(id_of[number]) for number in taken]
                add_lines(document_id=[ids[n] for n in of_document])
                return taken
            taken = list(numbers())
            ids = _insert_all(self.conn, t.documents, [{"number": number, **row} for number, row
                                                       in zip(taken, documents, strict=True)], key=("number",))
            bulk.insert_rows(self.conn, t.document_lines, [{"document_id": ids[n], **row} for n, row
                                                           in zip(of_document, lines, strict=True)])
        return taken

    def add_one(self, draft: DocumentDraft, dunning_on: date | None, at: datetime, series: str) -> str:
        """One document with its lines, numbered with the next number of ``series`` (``document_number``); its number.

        On PostgreSQL the counter's update, the document and its lines are one statement (D-DOC-NUMBERED-CTE): the
        number is made by the server (``_TAKE`` as a WITH query, then ``_NUMBER_SQL``, the same text as
        ``document_number``), so the counter is locked for one round trip, not three, before the rest of the
        transaction. A series' first number starts its row, as ``take_numbers`` does (``_from_counter``). Elsewhere,
        ``add_all`` with ``take_numbers``."""
        if not bulk.is_postgres(self.conn):
            return self.add_all([(draft, dunning_on)], at,
                                lambda: [document_number(series, self.take_numbers(series, 1))])[0]
        sql, values = self._numbered(draft, dunning_on, at, series, loud=False)
        with _conflicts():
            return str(self._from_counter(series, lambda: _first(direct.run(self.conn, f"{sql} SELECT number FROM d",
                                                                             values)[1])))

    def add_one_later(self, draft: DocumentDraft, dunning_on: date | None, at: datetime, series: str
                      ) -> tuple[str, dict[str, Any]] | None:
        """PostgreSQL: ``add_one``'s statement, to be sent with COMMIT (D-ORDER-NUMBER-AT-COMMIT) by the caller, who
        adds to it: its ``WITH`` queries (``d`` gives the document's ``id`` and ``number``) and their values. None
        where this connection has not yet seen ``series``' counter row committed (``add_one`` starts it)."""
        if series not in _SERIES_FOUND.get(self.conn.engine, ()):
            return None
        return self._numbered(draft, dunning_on, at, series, loud=True)

    @staticmethod
    def forget_series(engine: Engine, series: str) -> None:
        """``series`` is no longer taken as having a row (a statement of ``add_one_later`` failed)."""
        _SERIES_FOUND.get(engine, set()).discard(series)

    def _numbered(self, draft: DocumentDraft, dunning_on: date | None, at: datetime, series: str, *, loud: bool
                  ) -> tuple[str, dict[str, Any]]:
        """``WITH c AS (counter), d AS (document RETURNING id, number), l AS (lines)`` and its values. Without a
        counter row ``d`` inserts nothing, or, ``loud``, a document without a number, which the database refuses."""
        (document,), lines, _ = self._rows([(draft, dunning_on)], at)
        doc_of, params = bulk.unnest_of(self.conn, t.documents, [document], first=0)
        lines_of, line_params = bulk.unnest_of(self.conn, t.document_lines, lines, first=len(params))
        doc_keys, line_keys = ", ".join(f'"{k}"' for k in document), ", ".join(f'"{k}"' for k in lines[0])
        counter = "(SELECT next_value - 1 AS n FROM c) AS c"
        if loud:
            counter = f"(SELECT 1) AS one LEFT JOIN {counter} ON true"
        sql = (f"WITH c AS ({_compiled(self._TAKE, self.conn.dialect)}), "
               f'd AS (INSERT INTO "{t.documents.name}" ("number", {doc_keys}) '
               f"SELECT {_NUMBER_SQL}, v.* FROM {counter}, {doc_of} AS v({doc_keys}) RETURNING id, number), "
               f'l AS (INSERT INTO "{t.document_lines.name}" ("document_id", {line_keys}) '
               f"SELECT d.id, v.* FROM d, {lines_of} AS v({line_keys}))")
        return sql, {**params, **line_params, "s": series, "k": 1}

    def charged(self, subscription: str, key: str) -> bool:
        return (subscription, key) in self.charged_among([(subscription, key)])

    def charged_among(self, charges: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which of these (subscription, charge key) pairs some document already bills (one query)."""
        if not charges:
            return set()
        dialect = self.conn.dialect.name
        rows = self.conn.execute(_charged_query(dialect), {
            "subs": bulk.among_value(sorted({s for s, _ in charges}), dialect),
            "keys": bulk.among_value(sorted({k for _, k in charges}), dialect)}).all()
        return {(r[0], r[1]) for r in rows} & set(charges)

    _LINE_COLUMNS = tuple(c.label(f"line_{c.name}") for c in t.document_lines.c)

    def _with_lines(self, query: Any) -> list[dict[str, Any]]:
        """Documents of ``query`` with their lines, in one statement (a LEFT JOIN, not one query per document)."""
        q = (query.add_columns(*self._LINE_COLUMNS)
             .outerjoin(t.document_lines, t.document_lines.c.document_id == t.documents.c.id)
             .order_by(t.documents.c.id, t.document_lines.c.line_no))
        docs: dict[int, dict[str, Any]] = {}
        width = len(t.documents.c)
        for row in self.conn.execute(q):
            values = tuple(row)
            doc = docs.get(values[0])
            if doc is None:
                doc = docs[values[0]] = dict(zip(t.documents.c.keys(), values[:width], strict=True))
                doc["lines"] = []
            if values[width] is not None:
                doc["lines"].append(dict(zip(t.document_lines.c.keys(), values[width:], strict=True)))
        return list(docs.values())

    def get(self, number: str) -> dict[str, Any] | None:
        docs = self._with_lines(select(t.documents).where(t.documents.c.number == number))
        return docs[0] if docs else None

    def list(self, customer: str | None = None) -> list[dict[str, Any]]:
        q = select(t.documents)
        if customer is not None:
            q = q.where(t.documents.c.customer_ref == customer)
        return self._with_lines(q)

    def latest_number(self, kind: str) -> str | None:
        """The number of the last document of ``kind`` issued (highest id), without reading the others."""
        return self.conn.execute(select(t.documents.c.number).where(t.documents.c.kind == kind)
                                 .order_by(t.documents.c.id.desc()).limit(1)).scalar()

    def number_at(self, index: int) -> str | None:
        """The number of the ``index``-th document in issue order (0-based)."""
        return self.conn.execute(select(t.documents.c.number).order_by(t.documents.c.id)
                                 .offset(index).limit(1)).scalar()

    def add_payment(self, number: str, amount: int, at: datetime, reference: str | None) -> dict[str, Any]:
        row = self.conn.execute(select(t.documents).where(t.documents.c.number == number).with_for_update()).first()
        if row is None:
            raise NotFound(f"no document {number}", f"請求書 {number} はありません", number=number)
        self.conn.execute(insert(t.payments).values(document_id=row.id, amount=amount, received_at=at,
                                                    reference=reference))
        paid = row.paid_amount + amount
        status = DocumentStatus.PAID.value if paid >= row.total else row.status
        self.conn.execute(update(t.documents).where(t.documents.c.id == row.id).values(paid_amount=paid,
                                                                                     status=status))
        return {**dict(row._mapping), "paid_amount": paid, "status": status}

    def void_charge(self, subscription: str, key: str, at: datetime, reason: str) -> None:
        doc_id = self.conn.execute(select(t.document_lines.c.document_id).where(
            t.document_lines.c.subscription_ref == subscription, t.document_lines.c.charge_key == key)).scalar()
        if doc_id is not None:
            self.conn.execute(update(t.documents).where(t.documents.c.id == doc_id,
                                                        t.documents.c.status == DocumentStatus.ISSUED.value)
                              .values(status=DocumentStatus.VOID.value, voided_at=at, void_reason=reason))


class NoticeRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, notice: Notice, customer: str, at: datetime) -> bool:
        """Record a decided notice once (kind, subject, date); False when it was already there."""
        return bool(self.add_all([(notice, customer)], at))

    def add_all(self, notices: Sequence[tuple[Notice, str]], at: datetime) -> list[tuple[int, Notice, str]]:
        """Record each (notice, customer) once, in order; the new ones.

        A notice already recorded (kind, subject, date), or met earlier in ``notices``, is skipped.
        """
        if len(notices) <= 1:
            return self._add_once(notices, at)
        if bulk.is_postgres(self.conn):
            return self._add_all_skipping(notices, at)
        return self._insert(self._unseen(notices, self._recorded([notice for notice, _ in notices])), at)

    def add_issued(self, notices: Sequence[tuple[Notice, str]], at: datetime) -> None:
        """``add_all`` for the notices of documents numbered in this transaction, without the look-up: their
        subject is a number just taken from the gapless counter, so none can be recorded yet (the unique
        key on (kind, subject, date) still stands behind this)."""
        self._recorded_issued(notices, at)

    def _recorded_issued(self, notices: Sequence[tuple[Notice, str]], at: datetime) -> list[tuple[int, Notice, str]]:
        return self._insert(self._unseen(notices, set()), at)

    def expect(self, customers: Sequence[str]) -> None:
        """Notices for these customers follow in this transaction: nothing to prepare here."""

    def know_recipients(self, customers: Sequence[Customer]) -> None:
        """These customers were read with their contacts: nothing to remember here (no messages are queued)."""

    @staticmethod
    def _unseen(notices: Sequence[tuple[Notice, str]], seen: set[tuple[str, str, date]]) -> list[tuple[Notice, str]]:
        new = []
        for notice, customer in notices:
            if (notice.kind, notice.subject, notice.on) not in seen:
                seen.add((notice.kind, notice.subject, notice.on))
                new.append((notice, customer))
        return new

    def _insert(self, new: Sequence[tuple[Notice, str]], at: datetime) -> list[tuple[int, Notice, str]]:
        with _conflicts():
            ids = _insert_all(self.conn, t.notices, self._rows(new, at), key=("kind", "subject", "on_date"))
        return [(i, n, customer) for i, (n, customer) in zip(ids, new, strict=True)]

    def _add_all_skipping(self, notices: Sequence[tuple[Notice, str]], at: datetime) -> list[tuple[int, Notice, str]]:
        """PostgreSQL: one INSERT that leaves out what is recorded already (ON CONFLICT DO NOTHING) and returns
        the new rows' ids, instead of first reading what is recorded (that read grows with the ledger)."""
        new = self._unseen(notices, set())
        with _conflicts():
            rows = bulk.insert_returning(self.conn, t.notices, self._rows(new, at),
                                         ("kind", "subject", "on_date", "id"), skip_conflicts_on="uq_notices_once")
        ids = {(kind, subject, on): int(i) for kind, subject, on, i in rows}
        return [(ids[key], n, customer) for n, customer in new if (key := (n.kind, n.subject, n.on)) in ids]

    def _add_once(self, notices: Sequence[tuple[Notice, str]], at: datetime) -> list[tuple[int, Notice, str]]:
        """One notice (or none): ``INSERT … ON CONFLICT DO NOTHING RETURNING id``, one statement where a read of
        what is recorded and an insert were two (the usual case of a single change and of ``simulate``)."""
        once = bulk.insert_ignoring(t.notices, ("kind", "subject", "on_date"), self.conn.dialect.name, ("id",))
        with _conflicts():
            inserted = [(self.conn.execute(once, row).first(), n, customer)
                        for (n, customer), row in zip(notices, self._rows(notices, at), strict=True)]
        return [(int(done[0]), n, customer) for done, n, customer in inserted if done is not None]

    @staticmethod
    def _rows(new: Sequence[tuple[Notice, str]], at: datetime) -> list[dict[str, Any]]:
        return [{"kind": n.kind, "customer_ref": customer, "subject": n.subject, "on_date": n.on, "rule": n.rule,
                 "details": n.details, "created_at": at} for n, customer in new]

    def _recorded(self, notices: Sequence[Notice]) -> set[tuple[str, str, date]]:
        """Which (kind, subject, date) are recorded: one IN per column (a row-value IN scans the index on SQLite)."""
        if not notices:
            return set()
        rows = self.conn.execute(self._RECORDED, {"kinds": sorted({n.kind for n in notices}),
                                                  "subjects": sorted({n.subject for n in notices})})
        return {(r[0], r[1], r[2]) for r in rows}

    _RECORDED = select(t.notices.c.kind, t.notices.c.subject, t.notices.c.on_date).where(
        t.notices.c.kind.in_(bindparam("kinds", expanding=True)),
        t.notices.c.subject.in_(bindparam("subjects", expanding=True)))

    def list(self) -> list[dict[str, Any]]:
        return [dict(r._mapping) for r in self.conn.execute(select(t.notices).order_by(t.notices.c.id))]


_OTHER_WORK_LOCK = 0x6C64_7469_636B  # "ldtick": the advisory lock key of the tick's other-work passes


class SchedulerStateRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # built once: the tick moves the last day forward after every day it has work
    _LAST_DAY = select(t.scheduler_state.c.value).where(t.scheduler_state.c.key == "last_day")
    _MOVE_LAST_DAY = (update(t.scheduler_state)
                      .where(t.scheduler_state.c.key == "last_day", t.scheduler_state.c.value < bindparam("before"))
                      .values(value=bindparam("day")))

    def last_day(self) -> date | None:
        value = self.conn.execute(self._LAST_DAY).scalar()
        return date.fromisoformat(value) if value else None

    def claim(self, customers: Sequence[str]) -> list[str]:
        """Lock these customers' rows for this transaction, skipping any another worker holds (PostgreSQL
        ``FOR NO KEY UPDATE SKIP LOCKED``). SQLite takes no row locks and serialises writers: all are claimed.

        NO KEY, so orders inserting rows that reference a claimed customer do not wait for the tick.
        """
        if not customers or self.conn.dialect.name != "postgresql":
            return list(customers)
        rows = self.conn.execute(select(t.customers.c.ref).where(bulk.among(self.conn, t.customers.c.ref, customers))
                                 .with_for_update(skip_locked=True, key_share=True)).all()
        claimed = {r[0] for r in rows}
        return [c for c in customers if c in claimed]

    def lock_other_work(self) -> None:
        """Wait until no other tick worker runs the other capabilities' passes (PostgreSQL: an advisory lock
        held until this transaction ends; SQLite serialises writers anyway)."""
        if self.conn.dialect.name == "postgresql":
            self.conn.execute(select(func.pg_advisory_xact_lock(_OTHER_WORK_LOCK)))

    def set_last_day(self, day: date) -> None:
        """Move the last day done forward (never back: a slower tick worker may finish an earlier day last)."""
        moved = self.conn.execute(self._MOVE_LAST_DAY, {"before": day.isoformat(), "day": day.isoformat()}).rowcount
        if not moved and self.last_day() is None:
            self.conn.execute(insert(t.scheduler_state).values(key="last_day", value=day.isoformat()))
