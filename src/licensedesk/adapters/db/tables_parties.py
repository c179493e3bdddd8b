"""Tables of the parties capability (GitHub issue 5): customer details, tenant details, ordering parties,
onboarding applications, reseller relationships, delegated admin, transfer plans, licence assignments and
the pending deadlines the tick runs (``party_deadlines``, indexed on ``due_on``).

The core ``customers`` / ``tenants`` rows stay as they are; these tables extend them by reference.
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Date, ForeignKey, Index, Integer, String, Table, UniqueConstraint

from .tables import UtcDateTime, metadata

customer_details = Table(
    "customer_details", metadata,
    Column("customer_ref", String(64), ForeignKey("customers.ref"), primary_key=True),
    Column("purpose", String(16), nullable=False),
    Column("postal_code", String(8)),
    Column("prefecture", String(32)),
    Column("city", String(100)),
    Column("line1", String(200)),
    Column("line2", String(200)),
)

customer_contacts = Table(
    "customer_contacts", metadata,
    Column("id", Integer, primary_key=True),
    Column("customer_ref", String(64), ForeignKey("customers.ref"), nullable=False, index=True),
    Column("position", Integer, nullable=False),
    Column("name", String(200), nullable=False),
    Column("email", String(254), nullable=False),
    Column("role", String(32), nullable=False),
)

tenant_details = Table(
    "tenant_details", metadata,
    Column("tenant_ref", String(64), ForeignKey("tenants.ref"), primary_key=True),
    Column("origin", String(32), nullable=False),
    Column("vl_licences", Boolean, nullable=False),
)

ordering_parties = Table(
    "ordering_parties", metadata,
    Column("subscription_ref", String(64), ForeignKey("subscriptions.ref"), primary_key=True),
    Column("end_user_ref", String(64), ForeignKey("customers.ref"), nullable=False),
    Column("ordering_party_ref", String(64), ForeignKey("customers.ref"), nullable=False, index=True),
    Column("ownership_percent", String(16), nullable=False),
    Column("rule", String(64), nullable=False),
)

applications = Table(
    "applications", metadata,
    Column("id", Integer, primary_key=True),
    Column("ref", String(64), nullable=False, unique=True),
    Column("customer_ref", String(64), ForeignKey("customers.ref"), nullable=False, index=True),
    Column("received_at", UtcDateTime, nullable=False),
    Column("received_on", Date, nullable=False),
    Column("login_due", Date, nullable=False),
    Column("status", String(16), nullable=False),
    Column("login_id", String(128)),
    Column("login_issued_at", UtcDateTime),
    Column("contract_start", Date),
    Column("overdue_on", Date),
    Column("reissues", Integer, nullable=False),
)

relationship_requests = Table(
    "relationship_requests", metadata,
    Column("id", Integer, primary_key=True),
    Column("ref", String(64), nullable=False, unique=True),
    Column("customer_ref", String(64), ForeignKey("customers.ref"), nullable=False),
    Column("tenant_ref", String(64), ForeignKey("tenants.ref"), nullable=False, index=True),
    Column("partner", String(200)),
    Column("status", String(16), nullable=False),
    Column("sent_at", UtcDateTime, nullable=False),
    Column("open_until", Date, nullable=False),
    Column("accepted_at", UtcDateTime),
    Column("closed_on", Date),
    Column("admin_kind", String(8), nullable=False),
    Column("gdap_days", Integer),
)

admin_relationships = Table(
    "admin_relationships", metadata,
    Column("id", Integer, primary_key=True),
    Column("tenant_ref", String(64), ForeignKey("tenants.ref"), nullable=False, index=True),
    Column("kind", String(8), nullable=False),
    Column("status", String(16), nullable=False),
    Column("granted_at", UtcDateTime, nullable=False),
    Column("ends_on", Date),
    Column("revoked_at", UtcDateTime),
)

transfer_plans = Table(
    "transfer_plans", metadata,
    Column("id", Integer, primary_key=True),
    Column("ref", String(64), nullable=False, unique=True),
    Column("tenant_ref", String(64), ForeignKey("tenants.ref"), nullable=False, index=True),
    Column("customer_ref", String(64), ForeignKey("customers.ref"), nullable=False),
    Column("direction", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("body", JSON, nullable=False),
)

licence_assignments = Table(
    "licence_assignments", metadata,
    Column("id", Integer, primary_key=True),
    Column("tenant_ref", String(64), ForeignKey("tenants.ref"), nullable=False),
    Column("offer", String(128), nullable=False),
    Column("user_name", String(254), nullable=False),
    Column("assigned_at", UtcDateTime, nullable=False),
    UniqueConstraint("tenant_ref", "offer", "user_name", name="uq_licence_assignments_user"),
)

party_deadlines = Table(
    "party_deadlines", metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("subject_ref", String(64), nullable=False),
    Column("due_on", Date, nullable=False),
    UniqueConstraint("kind", "subject_ref", name="uq_party_deadlines_subject"),
    Index("ix_party_deadlines_due_on", "due_on"),
)

party_events = Table(
    "party_events", metadata,
    Column("id", Integer, primary_key=True),
    Column("subject_ref", String(64), nullable=False, index=True),
    Column("kind", String(64), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("rule", String(64), nullable=False),
    Column("details", JSON, nullable=False),
)
