"""Volume licensing tables (EES / School agreements and enrollments, COCP, CICR, Select Plus, Open, devices).

Each aggregate is a row with the columns the queries need (refs, status, the indexed ``next_due``
of the scheduler) plus its whole state as JSON; ``version`` is the optimistic lock.
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Date, ForeignKey, Index, Integer, String, Table, UniqueConstraint

from .tables import UtcDateTime, metadata


def _ref() -> Column[str]:
    return Column("ref", String(64), nullable=False, unique=True)


def _state() -> tuple[Column[int], Column[object]]:
    return Column("version", Integer, nullable=False), Column("state", JSON, nullable=False)


vl_agreements = Table(
    "vl_agreements", metadata,
    Column("id", Integer, primary_key=True),
    _ref(),
    Column("customer_ref", String(64), ForeignKey("customers.ref"), nullable=False, index=True),
    Column("program", String(16), nullable=False),
    Column("region", String(16), nullable=False),
    Column("public_customer_number", String(64), nullable=False, index=True),
    Column("status", String(16), nullable=False),
    *_state(),
)

vl_enrollments = Table(
    "vl_enrollments", metadata,
    Column("id", Integer, primary_key=True),
    _ref(),
    Column("agreement_ref", String(64), ForeignKey("vl_agreements.ref"), nullable=False, index=True),
    Column("customer_ref", String(64), nullable=False, index=True),
    Column("status", String(16), nullable=False),
    Column("next_due", Date),
    *_state(),
    Index("ix_vl_enrollments_next_due", "next_due"),
)

vl_orders = Table(
    "vl_orders", metadata,
    Column("id", Integer, primary_key=True),
    Column("enrollment_ref", String(64), ForeignKey("vl_enrollments.ref"), nullable=False, index=True),
    Column("po", String(64), nullable=False),
    Column("reseller", String(128), nullable=False),
    Column("online", Boolean, nullable=False),
    Column("auto_renew", Boolean, nullable=False),
    *_state(),
    UniqueConstraint("enrollment_ref", "po", name="uq_vl_orders_po"),
)

vl_cocps = Table(
    "vl_cocps", metadata,
    Column("id", Integer, primary_key=True),
    _ref(),
    Column("customer_ref", String(64), nullable=False, index=True),
    Column("status", String(32), nullable=False),
    Column("next_due", Date),
    *_state(),
    Index("ix_vl_cocps_next_due", "next_due"),
)

vl_cicrs = Table(
    "vl_cicrs", metadata,
    Column("id", Integer, primary_key=True),
    _ref(),
    Column("agreement_ref", String(64), ForeignKey("vl_agreements.ref"), nullable=False, index=True),
    Column("role", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    *_state(),
)

vl_select_plus = Table(
    "vl_select_plus", metadata,
    Column("id", Integer, primary_key=True),
    _ref(),
    Column("customer_ref", String(64), ForeignKey("customers.ref"), nullable=False, index=True),
    *_state(),
)

vl_open_orders = Table(
    "vl_open_orders", metadata,
    Column("id", Integer, primary_key=True),
    _ref(),
    Column("customer_ref", String(64), ForeignKey("customers.ref"), nullable=False, index=True),
    Column("program", String(32), nullable=False),
    *_state(),
)

vl_product_keys = Table(
    "vl_product_keys", metadata,
    Column("id", Integer, primary_key=True),
    _ref(),
    Column("order_ref", String(64), ForeignKey("vl_open_orders.ref"), nullable=False, index=True),
    Column("status", String(16), nullable=False),
    *_state(),
)

vl_device_inventories = Table(
    "vl_device_inventories", metadata,
    Column("id", Integer, primary_key=True),
    _ref(),
    Column("customer_ref", String(64), ForeignKey("customers.ref"), nullable=False, index=True),
    Column("imported_at", UtcDateTime, nullable=False),
    Column("summary", JSON, nullable=False),
)

vl_devices = Table(
    "vl_devices", metadata,
    Column("id", Integer, primary_key=True),
    Column("inventory_ref", String(64), ForeignKey("vl_device_inventories.ref"), nullable=False, index=True),
    Column("device_id", String(128), nullable=False),
    Column("managed", Boolean, nullable=False),
    Column("reasons", JSON, nullable=False),
    Column("attributes", JSON, nullable=False),
    Column("explanation", JSON, nullable=False),
    UniqueConstraint("inventory_ref", "device_id", name="uq_vl_devices_device"),
)

vl_events = Table(
    "vl_events", metadata,
    Column("id", Integer, primary_key=True),
    Column("subject_ref", String(64), nullable=False, index=True),
    Column("kind", String(64), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("rule", String(64), nullable=False),
    Column("details", JSON, nullable=False),
)
