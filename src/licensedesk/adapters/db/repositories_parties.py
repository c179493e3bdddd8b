"""Repositories of the parties capability over SQLAlchemy Core (see ``tables_parties``).

``PartyStore`` gathers them, so the unit of work gains one attribute: ``uow.parties``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, exists, func, insert, select, update

from licensedesk.domain.onboarding import Application, ApplicationStatus
from licensedesk.domain.parties import Address, Contact, ContactRole, Customer, Purpose, Tenant, TenantOrigin
from licensedesk.domain.transfers import (
    AdminKind,
    AdminRelationship,
    AdminStatus,
    RelationshipRequest,
    RelationshipStatus,
)
from licensedesk.services.ports_parties import TenantForOrder

from . import direct
from . import tables as t
from . import tables_parties as p
from .repositories import CustomerRepository, TenantRepository


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


class _Prefixed:
    """A row's columns named ``prefix + name``, read as ``name`` (a row that holds two tables' columns)."""

    def __init__(self, row: Any, prefix: str) -> None:
        self._row, self._prefix = row, prefix

    def __getattr__(self, name: str) -> Any:
        return getattr(self._row, self._prefix + name)


class PartyDetailRepository:
    """Customers and tenants with their details; the parent/affiliate ordering parties; party events."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def save_customer(self, c: Customer) -> None:
        """Write the details of a customer whose core row exists (insert or replace)."""
        a = c.address
        values = {"purpose": c.purpose.value, "postal_code": a and a.postal_code, "prefecture": a and a.prefecture,
                  "city": a and a.city, "line1": a and a.line1, "line2": a and a.line2}
        done = self.conn.execute(update(p.customer_details).where(p.customer_details.c.customer_ref == c.ref)
                                 .values(**values)).rowcount
        if not done:
            self.conn.execute(insert(p.customer_details).values(customer_ref=c.ref, **values))
        self.conn.execute(delete(p.customer_contacts).where(p.customer_contacts.c.customer_ref == c.ref))
        if c.contacts:
            self.conn.execute(insert(p.customer_contacts), [
                {"customer_ref": c.ref, "position": i, "name": x.name, "email": x.email, "role": x.role.value}
                for i, x in enumerate(c.contacts)])

    _DETAILS = select(p.customer_details).where(p.customer_details.c.customer_ref == bindparam("ref"))
    _CONTACTS = (select(p.customer_contacts).where(p.customer_contacts.c.customer_ref == bindparam("ref"))
                 .order_by(p.customer_contacts.c.position))
    # One customer with its details and contacts in one round trip (an order reads one): a row per contact,
    # or one row with NULL contact columns; the details' columns are NULL when it has none (purpose is NOT NULL).
    _ONE_CUSTOMER = (
        select(t.customers, *(c for c in p.customer_details.c if c.name != "customer_ref"),
               *(c.label(f"contact_{c.name}") for c in p.customer_contacts.c if c.name in ("id", "name", "email", "role")))
        .select_from(t.customers
                     .outerjoin(p.customer_details, p.customer_details.c.customer_ref == t.customers.c.ref)
                     .outerjoin(p.customer_contacts, p.customer_contacts.c.customer_ref == t.customers.c.ref))
        .where(t.customers.c.ref == bindparam("ref")).order_by(p.customer_contacts.c.position))
    _ONE_TENANT = (select(t.tenants, p.tenant_details.c.origin, p.tenant_details.c.vl_licences)
                   .select_from(t.tenants.outerjoin(p.tenant_details, p.tenant_details.c.tenant_ref == t.tenants.c.ref))
                   .where(t.tenants.c.ref == bindparam("ref")))
    _TENANT_DETAILS = select(p.tenant_details).where(p.tenant_details.c.tenant_ref == bindparam("ref"))

    @staticmethod
    def _details(c: Customer, row: Any) -> None:
        if row is not None and row.purpose is not None:
            c.purpose = Purpose(row.purpose)
            if row.postal_code is not None:
                c.address = Address(row.postal_code, row.prefecture, row.city, row.line1, row.line2 or "")

    def _with_details(self, c: Customer) -> Customer:
        self._details(c, self.conn.execute(self._DETAILS, {"ref": c.ref}).first())
        contacts = self.conn.execute(self._CONTACTS, {"ref": c.ref})
        c.contacts = tuple(Contact(r.name, r.email, ContactRole(r.role)) for r in contacts)
        return c

    def customer(self, ref: str) -> Customer | None:
        rows = self.conn.execute(self._ONE_CUSTOMER, {"ref": ref}).all()
        return self._customer_from(rows) if rows else None

    def _customer_from(self, rows: Any) -> Customer:
        """A customer from ``_ONE_CUSTOMER``'s columns: one row per contact (or one row without any)."""
        found = CustomerRepository._from(rows[0])
        self._details(found, rows[0])
        found.contacts = tuple(Contact(r.contact_name, r.contact_email, ContactRole(r.contact_role))
                               for r in rows if r.contact_id is not None)
        return found

    def customers(self) -> list[Customer]:
        return [self._with_details(c) for c in CustomerRepository(self.conn).list()]

    def save_tenant(self, tenant: Tenant) -> None:
        values = {"origin": tenant.origin.value, "vl_licences": tenant.vl_licences}
        done = self.conn.execute(update(p.tenant_details).where(p.tenant_details.c.tenant_ref == tenant.ref)
                                 .values(**values)).rowcount
        if not done:
            self.conn.execute(insert(p.tenant_details).values(tenant_ref=tenant.ref, **values))

    @staticmethod
    def _tenant_from(tenant: Tenant, row: Any) -> Tenant:
        if row is not None and row.origin is not None:
            tenant.origin, tenant.vl_licences = TenantOrigin(row.origin), bool(row.vl_licences)
        return tenant

    def _tenant_details(self, tenant: Tenant) -> Tenant:
        return self._tenant_from(tenant, self.conn.execute(self._TENANT_DETAILS, {"ref": tenant.ref}).first())

    def tenant(self, ref: str) -> Tenant | None:
        row = self.conn.execute(self._ONE_TENANT, {"ref": ref}).first()
        return None if row is None else self._tenant_from(TenantRepository._from(row), row)

    # An order's reads of its parties in one round trip (D-API-ORDER-READS): ``_ONE_TENANT``'s columns (prefixed
    # ``t_``), its customer as ``_ONE_CUSTOMER`` reads it (a row per contact), and two yes/no answers.
    _FOR_ORDER = (
        select(*(c.label(f"t_{c.name}") for c in t.tenants.c), p.tenant_details.c.origin, p.tenant_details.c.vl_licences,
               *_ONE_CUSTOMER.selected_columns,
               exists().where(p.relationship_requests.c.tenant_ref == t.tenants.c.ref,
                              p.relationship_requests.c.status == RelationshipStatus.ACCEPTED.value)
               .label("relationship_accepted"),
               exists().where(t.subscriptions.c.ref == bindparam("subscription")).label("ref_taken"))
        .select_from(t.tenants
                     .outerjoin(p.tenant_details, p.tenant_details.c.tenant_ref == t.tenants.c.ref)
                     .outerjoin(t.customers, t.customers.c.ref == t.tenants.c.customer_ref)
                     .outerjoin(p.customer_details, p.customer_details.c.customer_ref == t.customers.c.ref)
                     .outerjoin(p.customer_contacts, p.customer_contacts.c.customer_ref == t.customers.c.ref))
        .where(t.tenants.c.ref == bindparam("ref")).order_by(p.customer_contacts.c.position))

    def tenant_for_order(self, ref: str, subscription: str) -> TenantForOrder | None:
        """The tenant ``ref`` as ``tenant`` reads it, its customer as ``customer`` reads it, whether
        ``relationships.accepted(ref)`` and whether subscription ``subscription`` exists; None: no such tenant."""
        rows = direct.rows(self.conn, self._FOR_ORDER, {"ref": ref, "subscription": subscription})
        if not rows:
            return None
        first = rows[0]
        tenant = self._tenant_from(TenantRepository._from(_Prefixed(first, "t_")), first)
        customer = None if first.ref is None else self._customer_from(rows)
        return TenantForOrder(tenant, customer, bool(first.relationship_accepted), bool(first.ref_taken))

    def tenants(self) -> list[Tenant]:
        rows = self.conn.execute(select(t.tenants).order_by(t.tenants.c.id))
        return [self._tenant_details(TenantRepository._from(r)) for r in rows]

    def set_ordering_party(self, subscription: str, end_user: str, ordering_party: str, percent: str) -> None:
        self.conn.execute(insert(p.ordering_parties).values(
            subscription_ref=subscription, end_user_ref=end_user, ordering_party_ref=ordering_party,
            ownership_percent=percent, rule="ELIG-GROUP"))

    def ordering_parties(self) -> list[dict[str, Any]]:
        rows = self.conn.execute(select(p.ordering_parties).order_by(p.ordering_parties.c.subscription_ref))
        return [dict(r._mapping) for r in rows]

    def add_event(self, subject: str, kind: str, at: datetime, rule: str, **details: Any) -> None:
        self.conn.execute(insert(p.party_events).values(subject_ref=subject, kind=kind, at=at, rule=rule,
                                                        details=_plain(details)))

    def events(self, subject: str) -> list[dict[str, Any]]:
        rows = self.conn.execute(select(p.party_events).where(p.party_events.c.subject_ref == subject)
                                 .order_by(p.party_events.c.id))
        return [{"kind": r.kind, "at": r.at, "rule": r.rule, "details": r.details} for r in rows]


class ApplicationRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    @staticmethod
    def _values(a: Application) -> dict[str, Any]:
        return {"customer_ref": a.customer_ref, "received_at": a.received_at, "received_on": a.received_on,
                "login_due": a.login_due, "status": a.status.value, "login_id": a.login_id,
                "login_issued_at": a.login_issued_at, "contract_start": a.contract_start, "overdue_on": a.overdue_on,
                "reissues": a.reissues}

    def add(self, a: Application) -> None:
        self.conn.execute(insert(p.applications).values(ref=a.ref, **self._values(a)))

    def save(self, a: Application) -> None:
        self.conn.execute(update(p.applications).where(p.applications.c.ref == a.ref).values(**self._values(a)))

    @staticmethod
    def _from(r: Any) -> Application:
        return Application(r.ref, r.customer_ref, r.received_at, r.received_on, r.login_due,
                           ApplicationStatus(r.status), r.login_id, r.login_issued_at, r.contract_start,
                           r.overdue_on, r.reissues, r.id)

    def get(self, ref: str) -> Application | None:
        row = self.conn.execute(select(p.applications).where(p.applications.c.ref == ref)).first()
        return None if row is None else self._from(row)

    def list(self) -> list[Application]:
        return [self._from(r) for r in self.conn.execute(select(p.applications).order_by(p.applications.c.id))]


class RelationshipRepository:
    """Reseller relationship requests, delegated admin privileges and transfer plans."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    @staticmethod
    def _values(r: RelationshipRequest) -> dict[str, Any]:
        return {"customer_ref": r.customer_ref, "tenant_ref": r.tenant_ref, "partner": r.partner,
                "status": r.status.value, "sent_at": r.sent_at, "open_until": r.open_until,
                "accepted_at": r.accepted_at, "closed_on": r.closed_on, "admin_kind": r.admin.value,
                "gdap_days": r.gdap_days}

    def add(self, r: RelationshipRequest) -> None:
        self.conn.execute(insert(p.relationship_requests).values(ref=r.ref, **self._values(r)))

    def save(self, r: RelationshipRequest) -> None:
        self.conn.execute(update(p.relationship_requests).where(p.relationship_requests.c.ref == r.ref)
                          .values(**self._values(r)))

    @staticmethod
    def _from(r: Any) -> RelationshipRequest:
        return RelationshipRequest(r.ref, r.customer_ref, r.tenant_ref, r.sent_at, r.open_until,
                                   AdminKind(r.admin_kind), r.gdap_days, r.partner, RelationshipStatus(r.status),
                                   r.accepted_at, r.closed_on, r.id)

    def get(self, ref: str) -> RelationshipRequest | None:
        row = self.conn.execute(select(p.relationship_requests).where(p.relationship_requests.c.ref == ref)).first()
        return None if row is None else self._from(row)

    def requests(self) -> list[RelationshipRequest]:
        rows = self.conn.execute(select(p.relationship_requests).order_by(p.relationship_requests.c.id))
        return [self._from(r) for r in rows]

    _ACCEPTED = select(p.relationship_requests.c.id).where(
        p.relationship_requests.c.tenant_ref == bindparam("tenant"),
        p.relationship_requests.c.status == RelationshipStatus.ACCEPTED.value)

    def accepted(self, tenant: str) -> bool:
        return self.conn.execute(self._ACCEPTED, {"tenant": tenant}).first() is not None

    def add_admin(self, a: AdminRelationship) -> None:
        result = self.conn.execute(insert(p.admin_relationships).values(
            tenant_ref=a.tenant_ref, kind=a.kind.value, status=a.status.value, granted_at=a.granted_at,
            ends_on=a.ends_on, revoked_at=a.revoked_at))
        a.id = result.inserted_primary_key[0] if result.inserted_primary_key else None

    def save_admin(self, a: AdminRelationship) -> None:
        self.conn.execute(update(p.admin_relationships).where(p.admin_relationships.c.id == a.id)
                          .values(status=a.status.value, revoked_at=a.revoked_at))

    def admin(self, tenant: str) -> AdminRelationship | None:
        """The tenant's latest delegated admin record (active, revoked or expired)."""
        r = self.conn.execute(select(p.admin_relationships).where(p.admin_relationships.c.tenant_ref == tenant)
                              .order_by(p.admin_relationships.c.id.desc())).first()
        if r is None:
            return None
        return AdminRelationship(r.tenant_ref, AdminKind(r.kind), r.granted_at, r.ends_on, AdminStatus(r.status),
                                 r.revoked_at, r.id)

    def add_plan(self, ref: str, tenant: str, customer: str, direction: str, at: datetime,
                 body: dict[str, Any]) -> None:
        self.conn.execute(insert(p.transfer_plans).values(ref=ref, tenant_ref=tenant, customer_ref=customer,
                                                          direction=direction, created_at=at, body=_plain(body)))

    def plan_exists(self, ref: str) -> bool:
        return self.conn.execute(select(p.transfer_plans.c.id).where(p.transfer_plans.c.ref == ref)).first() is not None

    def plans(self) -> list[dict[str, Any]]:
        rows = self.conn.execute(select(p.transfer_plans).order_by(p.transfer_plans.c.id))
        return [{"ref": r.ref, "created_at": r.created_at, **r.body} for r in rows]


class LicenceRepository:
    """ORD-IDS: which users hold a licence of an offer in a tenant."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def users(self, tenant: str, offer: str) -> list[str]:
        rows = self.conn.execute(select(p.licence_assignments.c.user_name).where(
            p.licence_assignments.c.tenant_ref == tenant, p.licence_assignments.c.offer == offer)
            .order_by(p.licence_assignments.c.id))
        return [r[0] for r in rows]

    def assign(self, tenant: str, offer: str, user: str, at: datetime) -> None:
        self.conn.execute(insert(p.licence_assignments).values(tenant_ref=tenant, offer=offer, user_name=user,
                                                               assigned_at=at))

    def unassign(self, tenant: str, offer: str, user: str) -> bool:
        return bool(self.conn.execute(delete(p.licence_assignments).where(
            p.licence_assignments.c.tenant_ref == tenant, p.licence_assignments.c.offer == offer,
            p.licence_assignments.c.user_name == user)).rowcount)

    def counts(self, tenant: str) -> dict[str, int]:
        rows = self.conn.execute(select(p.licence_assignments.c.offer, func.count()).where(
            p.licence_assignments.c.tenant_ref == tenant).group_by(p.licence_assignments.c.offer))
        return {r[0]: int(r[1]) for r in rows}


class DeadlineRepository:
    """Pending deadlines (one per kind and subject); the tick reads those due, by the ``due_on`` index."""

    _NEXT_DUE_DAY = select(func.min(p.party_deadlines.c.due_on))

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def set(self, kind: str, subject: str, due_on: date) -> None:
        self.clear(kind, subject)
        self.conn.execute(insert(p.party_deadlines).values(kind=kind, subject_ref=subject, due_on=due_on))

    def clear(self, kind: str, subject: str) -> None:
        self.conn.execute(delete(p.party_deadlines).where(p.party_deadlines.c.kind == kind,
                                                          p.party_deadlines.c.subject_ref == subject))

    def due(self, day: date) -> list[tuple[str, str, date]]:
        rows = self.conn.execute(select(p.party_deadlines).where(p.party_deadlines.c.due_on <= day)
                                 .order_by(p.party_deadlines.c.due_on, p.party_deadlines.c.id))
        return [(r.kind, r.subject_ref, r.due_on) for r in rows]

    def next_due_day(self) -> date | None:
        """The earliest pending deadline (the ``due_on`` index), so the tick skips days without any."""
        value = self.conn.execute(self._NEXT_DUE_DAY).scalar()
        return value if value is None or isinstance(value, date) else date.fromisoformat(str(value))


class PartyStore:
    """Everything the parties capability keeps, on the unit of work's connection."""

    def __init__(self, conn: Connection) -> None:
        self.details = PartyDetailRepository(conn)
        self.applications = ApplicationRepository(conn)
        self.relationships = RelationshipRepository(conn)
        self.licences = LicenceRepository(conn)
        self.deadlines = DeadlineRepository(conn)
