"""Repositories of the volume licensing capability: aggregates stored as JSON state plus query columns."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from functools import cache
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import Connection, Table, func, insert, select, update

from licensedesk.domain.agreements import Agreement
from licensedesk.domain.cicr import Cicr
from licensedesk.domain.cocp import Cocp
from licensedesk.domain.devices import Classification
from licensedesk.domain.enrollment import Enrollment
from licensedesk.domain.select_open import OpenOrder, ProductKey, SelectPlus
from licensedesk.domain.subscription import Event
from licensedesk.domain.vl_orders import VlOrder
from licensedesk.services import ports_agreements as ports

from . import tables_agreements as t
from .codec import dump, load_as


class _Versioned(Protocol):
    ref: str
    row_version: int


A = TypeVar("A", bound=_Versioned)


def _day(value: Any) -> date | None:
    return value if value is None or isinstance(value, date) else date.fromisoformat(str(value))


class _StateRepository(Generic[A]):
    """Insert / optimistic update / load of one aggregate type kept as ``state`` JSON."""

    def __init__(self, conn: Connection, table: Table, cls: type[A], columns: Callable[[A], dict[str, Any]]) -> None:
        self.conn, self.table, self.cls, self.columns = conn, table, cls, columns

    def add(self, obj: A) -> None:
        obj.row_version = 1
        self.conn.execute(insert(self.table).values(ref=obj.ref, version=1, state=dump(obj), **self.columns(obj)))

    def save(self, obj: A) -> None:
        c = self.table.c
        done = self.conn.execute(update(self.table).where(c.ref == obj.ref, c.version == obj.row_version)
                                 .values(version=obj.row_version + 1, state=dump(obj), **self.columns(obj))).rowcount
        if done != 1:
            raise RuntimeError(f"{self.table.name} {obj.ref} was changed concurrently; retry")
        obj.row_version += 1

    def _load(self, row: Any) -> A:
        obj = load_as(self.cls, row.state)
        obj.row_version = row.version
        return obj

    def get(self, ref: str) -> A | None:
        row = self.conn.execute(select(self.table).where(self.table.c.ref == ref)).first()
        return self._load(row) if row else None

    def where(self, *conditions: Any) -> list[A]:
        rows = self.conn.execute(select(self.table).where(*conditions).order_by(self.table.c.id))
        return [self._load(r) for r in rows]

    def list(self) -> list[A]:
        return self.where()


class AgreementRepository(_StateRepository[Agreement]):
    def __init__(self, conn: Connection) -> None:
        super().__init__(conn, t.vl_agreements, Agreement, lambda a: {
            "customer_ref": a.customer, "program": a.program.value, "region": a.region.value,
            "public_customer_number": a.public_customer_number, "status": a.status.value})


@cache
def _next_due_query(table: Table) -> Any:
    """``MIN(next_due)`` of a table, built once (the tick reads it for enrollments and COCPs)."""
    return select(func.min(table.c.next_due))


class _DueMixin:
    conn: Connection
    table: Table

    def next_due_day(self) -> date | None:
        return _day(self.conn.execute(_next_due_query(self.table)).scalar())

    def due(self, day: date) -> list[str]:
        """Refs with work due on or before ``day`` (indexed ``next_due``)."""
        rows = self.conn.execute(select(self.table.c.ref).where(self.table.c.next_due <= day)
                                 .order_by(self.table.c.id))
        return [r[0] for r in rows]


class EnrollmentRepository(_DueMixin, _StateRepository[Enrollment]):
    def __init__(self, conn: Connection) -> None:
        super().__init__(conn, t.vl_enrollments, Enrollment, lambda e: {
            "agreement_ref": e.agreement, "customer_ref": e.customer, "status": e.status.value,
            "next_due": e.next_due})

    def for_agreement(self, agreement: str) -> list[Enrollment]:
        return self.where(self.table.c.agreement_ref == agreement)


class CocpRepository(_DueMixin, _StateRepository[Cocp]):
    def __init__(self, conn: Connection) -> None:
        super().__init__(conn, t.vl_cocps, Cocp, lambda c: {
            "customer_ref": c.customer, "status": c.status.value, "next_due": c.next_due})

    def for_customer(self, customer: str) -> list[Cocp]:
        return self.where(self.table.c.customer_ref == customer)


class CicrRepository(_StateRepository[Cicr]):
    def __init__(self, conn: Connection) -> None:
        super().__init__(conn, t.vl_cicrs, Cicr, lambda c: {
            "agreement_ref": c.agreement, "role": c.role.value, "status": c.status.value})

    def for_agreement(self, agreement: str) -> list[Cicr]:
        return self.where(self.table.c.agreement_ref == agreement)


class SelectPlusRepository(_StateRepository[SelectPlus]):
    def __init__(self, conn: Connection) -> None:
        super().__init__(conn, t.vl_select_plus, SelectPlus, lambda s: {"customer_ref": s.customer})


class OpenOrderRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, order: OpenOrder) -> None:
        self.conn.execute(insert(t.vl_open_orders).values(ref=order.ref, customer_ref=order.customer,
                                                          program=order.program.value, version=1, state=dump(order)))

    def _where(self, *conditions: Any) -> list[OpenOrder]:
        rows = self.conn.execute(select(t.vl_open_orders).where(*conditions).order_by(t.vl_open_orders.c.id))
        return [load_as(OpenOrder, r.state) for r in rows]

    def get(self, ref: str) -> OpenOrder | None:
        found = self._where(t.vl_open_orders.c.ref == ref)
        return found[0] if found else None

    def for_customer(self, customer: str) -> list[OpenOrder]:
        return self._where(t.vl_open_orders.c.customer_ref == customer)

    def list(self) -> list[OpenOrder]:
        return self._where()


class ProductKeyRepository(_StateRepository[ProductKey]):
    def __init__(self, conn: Connection) -> None:
        super().__init__(conn, t.vl_product_keys, ProductKey, lambda k: {"order_ref": k.order, "status": k.status.value})


class VlOrderRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    @staticmethod
    def _columns(order: VlOrder) -> dict[str, Any]:
        return {"reseller": order.reseller, "online": order.online, "auto_renew": order.auto_renew,
                "state": dump(order)}

    def add(self, order: VlOrder) -> None:
        self.conn.execute(insert(t.vl_orders).values(enrollment_ref=order.enrollment, po=order.po, version=1,
                                                     **self._columns(order)))

    def save(self, order: VlOrder) -> None:
        c = t.vl_orders.c
        self.conn.execute(update(t.vl_orders).where(c.enrollment_ref == order.enrollment, c.po == order.po)
                          .values(version=c.version + 1, **self._columns(order)))

    def for_enrollment(self, enrollment: str) -> list[VlOrder]:
        rows = self.conn.execute(select(t.vl_orders).where(t.vl_orders.c.enrollment_ref == enrollment)
                                 .order_by(t.vl_orders.c.id))
        return [load_as(VlOrder, r.state) for r in rows]


class DeviceInventoryRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, ref: str, customer: str, at: datetime, results: Sequence[Classification],
            summary: dict[str, Any]) -> None:
        self.conn.execute(insert(t.vl_device_inventories).values(ref=ref, customer_ref=customer, imported_at=at,
                                                                 summary=summary))
        if results:
            self.conn.execute(insert(t.vl_devices), [
                {"inventory_ref": ref, "device_id": r.device.device_id, "managed": r.managed,
                 "reasons": list(r.reasons), "attributes": r.device.attributes, "explanation": r.why.as_dict()}
                for r in results])

    def exists(self, ref: str) -> bool:
        return self.conn.execute(select(t.vl_device_inventories.c.id)
                                 .where(t.vl_device_inventories.c.ref == ref)).first() is not None

    def list(self) -> list[dict[str, Any]]:
        out = []
        for inv in self.conn.execute(select(t.vl_device_inventories).order_by(t.vl_device_inventories.c.id)):
            devices = self.conn.execute(select(t.vl_devices).where(t.vl_devices.c.inventory_ref == inv.ref)
                                        .order_by(t.vl_devices.c.id))
            out.append({"ref": inv.ref, "customer": inv.customer_ref, "imported_at": inv.imported_at,
                        "summary": inv.summary,
                        "devices": [{"device_id": d.device_id, "managed": d.managed, "reasons": d.reasons,
                                     "explain": d.explanation} for d in devices]})
        return out


class VlEventRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, subject: str, events: Sequence[Event]) -> None:
        if events:
            self.conn.execute(insert(t.vl_events), [
                {"subject_ref": subject, "kind": e.kind, "at": e.at, "rule": e.rule, "details": dump(e.details)}
                for e in events])

    def for_subject(self, subject: str) -> list[dict[str, Any]]:
        rows = self.conn.execute(select(t.vl_events).where(t.vl_events.c.subject_ref == subject)
                                 .order_by(t.vl_events.c.id))
        return [{"kind": r.kind, "at": r.at, "rule": r.rule, "details": r.details} for r in rows]


class SqlVolumeLicensing:
    """All volume licensing repositories on one connection (``uow.vl``)."""

    def __init__(self, conn: Connection) -> None:
        self.agreements: ports.Agreements = AgreementRepository(conn)
        self.enrollments: ports.Enrollments = EnrollmentRepository(conn)
        self.orders: ports.VlOrders = VlOrderRepository(conn)
        self.cocps: ports.Cocps = CocpRepository(conn)
        self.cicrs: ports.Cicrs = CicrRepository(conn)
        self.select_plus: ports.SelectPlusAgreements = SelectPlusRepository(conn)
        self.open_orders: ports.OpenOrders = OpenOrderRepository(conn)
        self.product_keys: ports.ProductKeys = ProductKeyRepository(conn)
        self.devices: ports.DeviceInventories = DeviceInventoryRepository(conn)
        self.events: ports.VlEvents = VlEventRepository(conn)
