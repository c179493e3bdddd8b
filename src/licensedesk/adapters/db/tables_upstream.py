"""Tables of the upstream link (issue 8, parts 3–6): provisioning jobs, upstream IDs, mail language.

A job is written in the same transaction as the order (or payment) that made the subscription
provisionable and is worked after commit by ``services/provisioning.py``; the migration is
``0700_upstream``.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Date, Index, Integer, String, Table, Text

from .tables import UtcDateTime, metadata

upstream_jobs = Table(
    "upstream_jobs", metadata,
    Column("id", Integer, primary_key=True),
    Column("subscription_ref", String(64), nullable=False, unique=True),  # one purchase per local order
    Column("customer_ref", String(64), nullable=False),
    Column("tenant_ref", String(64), nullable=False),
    Column("activate", Boolean, nullable=False),  # annual-prepaid: activate locally once bought (ORD-FLOW)
    Column("status", String(16), nullable=False),  # pending, done, failed, skipped
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("last_error", Text),
    Column("sla_due", Date),  # ORD-FLOW activation deadline (business days after payment)
    Column("upstream_customer_id", String(64)),
    Column("cart_id", String(64)),  # committed before checkout: a retry checks out this cart, never a new one
    Column("order_id", String(64)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("done_at", UtcDateTime),
    Index("ix_upstream_jobs_due", "status", "next_attempt_at"),
)

upstream_customers = Table(
    "upstream_customers", metadata,
    Column("tenant_ref", String(64), primary_key=True),
    Column("customer_id", String(64), nullable=False, unique=True),  # Partner Center customer (= tenant) ID
    Column("login_id", String(254)),  # the admin account created with the customer, if we created it
    Column("temporary_password", String(200)),  # until the activation mail that carries it is queued (ORD-FLOW)
    Column("linked_at", UtcDateTime, nullable=False),
)

upstream_subscriptions = Table(
    "upstream_subscriptions", metadata,
    Column("subscription_ref", String(64), primary_key=True),
    Column("customer_id", String(64), nullable=False),
    Column("subscription_id", String(64), nullable=False, unique=True),
    Column("order_id", String(64), nullable=False),
    Column("linked_at", UtcDateTime, nullable=False),
)

customer_preferences = Table(
    "customer_preferences", metadata,
    Column("customer_ref", String(64), primary_key=True),
    Column("mail_language", String(8), nullable=False),  # ja (default) or en
    Column("updated_at", UtcDateTime, nullable=False),
)
