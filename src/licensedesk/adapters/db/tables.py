"""SQLAlchemy Core tables: the one schema, identical on SQLite and PostgreSQL.

Business identifiers (``ref``) are the keys the domain speaks; integer ids
exist for ordering and joins. Every money column is an integer number of yen.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.sql.expression import false
from sqlalchemy.types import TypeDecorator

metadata = MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})


class UtcDateTime(TypeDecorator[datetime]):
    """An instant stored in UTC; comes back timezone-aware on SQLite and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored: give an aware instant")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _ref(name: str = "ref") -> Column[str]:
    return Column(name, String(64), nullable=False, unique=True)


policies = Table(
    "policies", metadata,
    Column("digest", String(64), primary_key=True),
    Column("name", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("body", JSON, nullable=False),
)

customers = Table(
    "customers", metadata,
    Column("id", Integer, primary_key=True),
    _ref(),
    Column("name", String(200), nullable=False),
    Column("entity", String(32), nullable=False),
    Column("country", String(2), nullable=False),
    Column("segment", String(32), nullable=False),
    Column("corporate_number", String(13)),
    Column("parent_ref", String(64)),
    Column("ownership_percent", String(16)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("name_kana", String(200)),  # as banks spell the payer (issue 4: deposit matching)
)

tenants = Table(
    "tenants", metadata,
    Column("id", Integer, primary_key=True),
    _ref(),
    Column("customer_ref", String(64), ForeignKey("customers.ref"), nullable=False, index=True),
    Column("domain", String(255), nullable=False, unique=True),
    Column("country", String(2), nullable=False),
    Column("syndication", Boolean, nullable=False, default=False),
)

offers = Table(
    "offers", metadata,
    Column("code", String(128), primary_key=True),
    Column("name", String(300), nullable=False),
    Column("kind", String(32), nullable=False),
)

price_rows = Table(
    "price_rows", metadata,
    Column("id", Integer, primary_key=True),
    Column("offer_code", String(128), ForeignKey("offers.code"), nullable=False, index=True),
    Column("term", String(8), nullable=False),
    Column("billing", String(16), nullable=False),
    Column("unit_price", BigInteger, nullable=False),
    Column("effective_from", Date),
    Column("effective_to", Date),
)

subscriptions = Table(
    "subscriptions", metadata,
    Column("id", Integer, primary_key=True),
    _ref(),
    Column("customer_ref", String(64), ForeignKey("customers.ref"), nullable=False, index=True),
    Column("tenant_ref", String(64), ForeignKey("tenants.ref"), nullable=False),
    Column("offer", String(128), nullable=False),
    Column("policy_digest", String(64), ForeignKey("policies.digest"), nullable=False),
    Column("term", String(8), nullable=False),
    Column("billing", String(16), nullable=False),
    Column("unit_price", BigInteger, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("status", String(32), nullable=False),
    Column("ordered_at", UtcDateTime, nullable=False),
    Column("auto_renew", Boolean, nullable=False),
    Column("auto_renew_reason", String(64)),
    Column("customer_name", String(200), nullable=False),
    Column("term_start", Date),
    Column("term_end", Date),
    Column("term_began_at", UtcDateTime),
    Column("term_number", Integer, nullable=False),
    Column("first_term_end", Date),
    Column("in_trial", Boolean, nullable=False, default=False, server_default=false()),
    Column("cycle_anchor", Date),
    Column("pending_billing", String(16)),
    Column("pending_billing_from", Date),
    Column("next_term_quantity", Integer),
    Column("price_locked_until", Date),
    Column("status_since", Date),
    Column("cancel_effective", Date),
    Column("delete_on", Date),
    Column("activation_due", Date),
    Column("renewal_invoice_key", String(128)),
    Column("renewal_paid", Boolean, nullable=False, default=False),
    Column("renewal_price", BigInteger),
    Column("processed_through", Date),
    Column("next_due", Date),
    Column("version", Integer, nullable=False),
    Column("state", JSON, nullable=False),
    Index("ix_subscriptions_next_due", "next_due"),
)

subscription_events = Table(
    "subscription_events", metadata,
    Column("id", Integer, primary_key=True),
    Column("subscription_ref", String(64), nullable=False, index=True),
    Column("kind", String(64), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("rule", String(64), nullable=False),
    Column("details", JSON, nullable=False),
)

number_series = Table(
    "number_series", metadata,
    Column("series", String(32), primary_key=True),
    Column("next_value", BigInteger, nullable=False),
)

documents = Table(
    "documents", metadata,
    Column("id", Integer, primary_key=True),
    Column("number", String(32), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("customer_ref", String(64), ForeignKey("customers.ref"), nullable=False, index=True),
    Column("issue_date", Date, nullable=False),
    Column("due_date", Date),
    Column("status", String(16), nullable=False),
    Column("subtotal", BigInteger, nullable=False),
    Column("tax", BigInteger, nullable=False),
    Column("total", BigInteger, nullable=False),
    Column("paid_amount", BigInteger, nullable=False, default=0),
    Column("taxes", JSON, nullable=False),
    Column("issued_at", UtcDateTime, nullable=False),
    Column("voided_at", UtcDateTime),
    Column("void_reason", Text),
    Column("replaces", String(32)),  # the void document this one re-issues (issue 4)
    Column("dunning_on", Date),  # next payment reminder / overdue notice; NULL when settled or void
    Index("ix_documents_dunning_on", "dunning_on"),
)

document_lines = Table(
    "document_lines", metadata,
    Column("id", Integer, primary_key=True),
    Column("document_id", Integer, ForeignKey("documents.id"), nullable=False, index=True),
    Column("line_no", Integer, nullable=False),
    Column("subscription_ref", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_amount", BigInteger, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("period_start", Date),
    Column("period_end", Date),
    Column("rule", String(64), nullable=False),
    Column("charge_key", String(160), nullable=False),
    Column("explanation", JSON, nullable=False),
    # Exactly once: the same charge of a subscription can never be billed twice.
    UniqueConstraint("subscription_ref", "charge_key", name="uq_document_lines_charge"),
)

payments = Table(
    "payments", metadata,
    Column("id", Integer, primary_key=True),
    Column("document_id", Integer, ForeignKey("documents.id"), nullable=False, index=True),
    Column("amount", BigInteger, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("reference", String(200)),
)

notices = Table(
    "notices", metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(64), nullable=False),
    Column("customer_ref", String(64), nullable=False, index=True),
    Column("subject", String(64), nullable=False),
    Column("on_date", Date, nullable=False),
    Column("rule", String(64), nullable=False),
    Column("details", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("kind", "subject", "on_date", name="uq_notices_once"),
)

scheduler_state = Table(
    "scheduler_state", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", String(64), nullable=False),
)
