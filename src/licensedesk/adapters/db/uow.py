"""The SQL unit of work: one connection, one transaction, all repositories on it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from types import TracebackType
from typing import Any, ClassVar

from sqlalchemy import Connection, Engine

from licensedesk.domain.billing import DocumentDraft
from licensedesk.services import ports

from . import bulk, issue_later
from .repositories import (
    CustomerRepository,
    DocumentRepository,
    NoticeRepository,
    OfferRepository,
    PolicyStore,
    SchedulerStateRepository,
    SubscriptionRepository,
    TenantRepository,
)
from .repositories_agreements import SqlVolumeLicensing
from .repositories_api import ApiRepository
from .repositories_archive import ArchiveRepository
from .repositories_billing import BillingRepository
from .repositories_outbox import OutboxNoticeRepository, OutboxRepository
from .repositories_parties import PartyStore
from .repositories_upstream import PreferencesRepository, ProvisioningSubscriptionRepository, UpstreamRepository
from .repositories_web import WebRepository


class SqlUnitOfWork:
    customers: ports.Customers
    tenants: ports.Tenants
    offers: ports.Offers
    subscriptions: ports.Subscriptions
    documents: ports.Documents
    billing: ports.Billing
    notices: ports.Notices
    scheduler: ports.SchedulerState
    parties: ports.Parties
    vl: ports.VolumeLicensing
    api: ports.ApiStore
    outbox: ports.Outbox
    web: ports.WebStore
    upstream: ports.UpstreamStore
    preferences: ports.Preferences
    archive: ports.Archive

    def __init__(self, engine: Engine, *, queue_mail: bool = True) -> None:
        self.engine = engine
        self.queue_mail = queue_mail  # a what-if simulation decides notices but sends nothing
        self._conn: Connection | None = None

    def __enter__(self) -> SqlUnitOfWork:
        conn = self.engine.connect()
        conn.begin()
        self._conn = conn
        self.policies = PolicyStore(conn)
        self.customers = CustomerRepository(conn)
        self.tenants = TenantRepository(conn)
        self.offers = OfferRepository(conn)
        self.subscriptions = SubscriptionRepository(conn, self.policies)
        self.documents = DocumentRepository(conn)
        self.billing = BillingRepository(conn)
        if self.queue_mail:
            self.notices = notices = OutboxNoticeRepository(conn)  # every notice also queues its message
            self.outbox = notices.outbox
        else:
            self.notices = NoticeRepository(conn)
            self.outbox = OutboxRepository(conn)
        self.scheduler = SchedulerStateRepository(conn)
        if self.queue_mail:  # a committed provisionable order also queues its upstream purchase (issue 8)
            self.upstream = upstream = UpstreamRepository(conn)
            self.subscriptions = ProvisioningSubscriptionRepository(conn, self.policies, upstream, self.offers)
        return self  # the rest are built on first use (__getattr__): most units of work never use them

    _ON_FIRST_USE: ClassVar[dict[str, Callable[[SqlUnitOfWork, Connection], Any]]] = {
        "parties": lambda _uow, conn: PartyStore(conn),
        "vl": lambda _uow, conn: SqlVolumeLicensing(conn),
        "api": lambda _uow, conn: ApiRepository(conn),
        "archive": lambda uow, conn: ArchiveRepository(conn, enabled=uow.queue_mail),  # simulations archive nothing
        "web": lambda _uow, conn: WebRepository(conn),
        "upstream": lambda _uow, conn: UpstreamRepository(conn),
        "preferences": lambda _uow, conn: PreferencesRepository(conn),
    }

    def __getattr__(self, name: str) -> Any:
        factory = SqlUnitOfWork._ON_FIRST_USE.get(name)
        conn = self.__dict__.get("_conn")
        if factory is None or conn is None:
            raise AttributeError(name)
        repository = factory(self, conn)
        setattr(self, name, repository)
        return repository

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        assert self._conn is not None
        try:
            if self._conn.in_transaction():
                self._conn.rollback()
        finally:
            self._conn.close()
            self._conn = None
            for name in self._ON_FIRST_USE:
                self.__dict__.pop(name, None)

    def commit(self) -> None:
        assert self._conn is not None
        self._conn.commit()
        self._conn.begin()

    def rollback(self) -> None:
        assert self._conn is not None
        self._conn.rollback()
        self._conn.begin()

    def issue_at_commit(self, draft: DocumentDraft, dunning_on: date | None, at: datetime, series: str,
                        notice: ports.IssuedNotice) -> bool:
        """PostgreSQL, notices and mail queued for real (not a what-if): D-ORDER-NUMBER-AT-COMMIT."""
        conn = self._conn
        assert conn is not None
        if not (self.queue_mail and bulk.is_postgres(conn)):
            return False
        documents, outbox = self.documents, self.outbox
        assert isinstance(documents, DocumentRepository) and isinstance(outbox, OutboxRepository)
        return issue_later.issue(conn, documents, outbox, draft, dunning_on, at, series, notice)
