"""The upstream link's storage (issue 8, parts 3–6): provisioning jobs, upstream IDs, mail language.

``ProvisioningSubscriptionRepository`` is the one hook: a subscription that becomes provisionable
(a seat order placed and running at once — mca-nce, monthly-prorated — or an annual-prepaid order
paid, ORD-FLOW) gets its provisioning job in the same transaction, so a rolled-back order buys
nothing upstream and a committed one is bought exactly once by the worker (``services/provisioning.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from licensedesk.domain.catalog import OfferKind
from licensedesk.domain.subscription import Event, Status, Subscription
from licensedesk.services.ports_upstream import JobStatus

from . import bulk
from .repositories import OfferRepository, PolicyStore, SubscriptionRepository, new_subscription_insert
from .tables_upstream import customer_preferences as cp
from .tables_upstream import upstream_customers as uc
from .tables_upstream import upstream_jobs as uj
from .tables_upstream import upstream_subscriptions as us

PROVISIONED_KINDS = (OfferKind.SEAT.value,)  # licence-based NCE; Azure, software and trials are not bought here


_JOB_COLUMNS = ("subscription_ref", "customer_ref", "tenant_ref", "activate", "status", "attempts", "next_attempt_at",
                "sla_due", "created_at")


def job_row(subscription: str, customer: str, tenant: str, *, activate: bool, at: datetime,
            sla_due: date | None) -> dict[str, Any]:
    """A new provisioning job's row: pending, due at ``at``."""
    return dict(zip(_JOB_COLUMNS, (subscription, customer, tenant, activate, JobStatus.PENDING.value, 0, at, sla_due, at),
                    strict=True))


@cache
def _job() -> Any:
    """PostgreSQL: ``j AS (INSERT INTO upstream_jobs … ON CONFLICT DO NOTHING)``, built once (on first use: the
    PostgreSQL dialect is not imported on SQLite) with typed parameters ``j_<column>`` for ``job_row``'s values."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    return (pg_insert(uj).values({c: bindparam(_SHARED.get(c, f"j_{c}"), type_=uj.c[c].type) for c in _JOB_COLUMNS})
            .on_conflict_do_nothing(index_elements=[uj.c.subscription_ref]).cte("j"))


# a new subscription's job takes these values from the subscription's own parameters (``_job``: due at the order
# instant): the statement keeps to psycopg's 50 parameters, beyond which it is parsed again every time
_SHARED = {"subscription_ref": "s_ref", "customer_ref": "s_customer_ref", "tenant_ref": "s_tenant_ref",
           "next_attempt_at": "s_ordered_at", "created_at": "s_ordered_at"}


@cache
def _subscription_with_job(events: int) -> Any:
    """PostgreSQL: ``new_subscription_insert`` (the subscription and its ``events`` events) with its provisioning job
    in one more data-modifying WITH, built once per number of events."""
    return new_subscription_insert(events).add_cte(_job())


class UpstreamRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def enqueue(self, subscription: str, customer: str, tenant: str, *, activate: bool, at: datetime,
                sla_due: date | None = None) -> bool:
        """A provisioning job for ``subscription`` unless it already has one (one purchase per local order):
        one INSERT … ON CONFLICT DO NOTHING on the unique subscription_ref."""
        done = self.conn.execute(bulk.insert_ignoring(uj, "subscription_ref", self.conn.dialect.name),
                                 job_row(subscription, customer, tenant, activate=activate, at=at, sla_due=sla_due))
        return bool(done.rowcount)

    def claim_due(self, now: datetime) -> dict[str, Any] | None:
        """The next due pending job, locked for this transaction (PostgreSQL: SKIP LOCKED)."""
        row = self.conn.execute(select(uj).where(uj.c.status == JobStatus.PENDING.value, uj.c.next_attempt_at <= now)
                                .order_by(uj.c.next_attempt_at, uj.c.id).limit(1)
                                .with_for_update(skip_locked=True)).first()
        return dict(row._mapping) if row else None

    def lock(self, job_id: int) -> dict[str, Any] | None:
        row = self.conn.execute(select(uj).where(uj.c.id == job_id).with_for_update()).first()
        return dict(row._mapping) if row else None

    def update_job(self, job_id: int, **values: Any) -> None:
        self.conn.execute(update(uj).where(uj.c.id == job_id).values(**values))

    def mark_attempt_failed(self, job_id: int, error: str, retry_at: datetime | None) -> None:
        values: dict[str, Any] = {"attempts": uj.c.attempts + 1, "last_error": error[:2000]}
        if retry_at is None:
            values["status"] = JobStatus.FAILED.value
        else:
            values["next_attempt_at"] = retry_at
        self.conn.execute(update(uj).where(uj.c.id == job_id).values(**values))

    def retry(self, job_id: int, at: datetime) -> bool:
        done = self.conn.execute(update(uj).where(uj.c.id == job_id, uj.c.status == JobStatus.FAILED.value)
                                 .values(status=JobStatus.PENDING.value, attempts=0, next_attempt_at=at))
        return bool(done.rowcount)

    def get(self, job_id: int) -> dict[str, Any] | None:
        row = self.conn.execute(select(uj).where(uj.c.id == job_id)).first()
        return dict(row._mapping) if row else None

    def jobs(self, status: JobStatus | None = None) -> list[dict[str, Any]]:
        q = select(uj).order_by(uj.c.id)
        if status is not None:
            q = q.where(uj.c.status == status.value)
        return [dict(r._mapping) for r in self.conn.execute(q)]

    def customer_link(self, tenant: str) -> dict[str, Any] | None:
        row = self.conn.execute(select(uc).where(uc.c.tenant_ref == tenant)).first()
        return dict(row._mapping) if row else None

    def link_customer(self, tenant: str, customer_id: str, login_id: str | None, at: datetime,
                      temporary_password: str | None = None) -> None:
        """Link the tenant unless another worker linked it first (then theirs stands; a savepoint keeps our
        transaction usable after the unique violation)."""
        try:
            with self.conn.begin_nested():
                self.conn.execute(insert(uc).values(tenant_ref=tenant, customer_id=customer_id, login_id=login_id,
                                                    temporary_password=temporary_password, linked_at=at))
        except IntegrityError:
            if login_id is not None:  # we created the customer, the other worker only found it: keep our credentials
                self.conn.execute(update(uc).where(uc.c.tenant_ref == tenant, uc.c.customer_id == customer_id,
                                                   uc.c.login_id.is_(None))
                                  .values(login_id=login_id, temporary_password=temporary_password))

    def forget_password(self, tenant: str) -> None:
        self.conn.execute(update(uc).where(uc.c.tenant_ref == tenant).values(temporary_password=None))

    def link_subscription(self, subscription: str, customer_id: str, subscription_id: str, order_id: str,
                          at: datetime) -> None:
        self.conn.execute(insert(us).values(subscription_ref=subscription, customer_id=customer_id,
                                            subscription_id=subscription_id, order_id=order_id, linked_at=at))

    def customer_links(self) -> list[dict[str, Any]]:
        return [dict(r._mapping) for r in self.conn.execute(select(uc).order_by(uc.c.tenant_ref))]

    def subscription_links(self) -> list[dict[str, Any]]:
        return [dict(r._mapping) for r in self.conn.execute(select(us).order_by(us.c.subscription_ref))]

    def linked_order_ids(self, customer_id: str) -> set[str]:
        rows = self.conn.execute(select(us.c.order_id).where(us.c.customer_id == customer_id))
        return {r[0] for r in rows}


class PreferencesRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def mail_language(self, customer: str) -> str | None:
        return self.conn.execute(select(cp.c.mail_language).where(cp.c.customer_ref == customer)).scalar()

    def set_mail_language(self, customer: str, language: str, at: datetime) -> None:
        done = self.conn.execute(update(cp).where(cp.c.customer_ref == customer)
                                 .values(mail_language=language, updated_at=at))
        if not done.rowcount:
            self.conn.execute(insert(cp).values(customer_ref=customer, mail_language=language, updated_at=at))


class ProvisioningSubscriptionRepository(SubscriptionRepository):
    """Subscriptions that also queue their upstream purchase when they become provisionable."""

    def __init__(self, conn: Connection, policies: PolicyStore, upstream: UpstreamRepository,
                 offers: OfferRepository) -> None:
        super().__init__(conn, policies)
        self.upstream, self.offers = upstream, offers

    def add(self, sub: Subscription, events: Sequence[Event] = ()) -> None:
        if not (sub.status in (Status.ACTIVE, Status.PROVISIONING) and self._bought_upstream(sub)):
            super().add(sub, events)
        elif bulk.is_postgres(self.conn):  # a seat order running at once: with its job in one round trip (D-API-ORDER-JOB)
            job = job_row(**self._job(sub))
            self._insert_new(sub, events, _subscription_with_job(len(events)),
                             **{f"j_{k}": v for k, v in job.items() if k not in _SHARED})
        else:
            super().add(sub, events)
            self.upstream.enqueue(**self._job(sub))

    def save(self, sub: Subscription) -> None:
        super().save(sub)
        # annual-prepaid, paid (ORD-FLOW); enqueue is a no-op afterwards
        if sub.status is Status.PROVISIONING and self._bought_upstream(sub):
            self.upstream.enqueue(**self._job(sub))

    def _bought_upstream(self, sub: Subscription) -> bool:
        """Whether ``sub``'s purchase is queued upstream once it runs: a seat offer, not a trial."""
        return self.offers.kind(sub.offer) in PROVISIONED_KINDS and not sub.in_trial

    @staticmethod
    def _job(sub: Subscription) -> dict[str, Any]:
        """``enqueue``'s (and ``job_row``'s) arguments for ``sub``'s purchase, due at once: the order instant is always
        in the past of the transaction that queues the job."""
        return {"subscription": sub.ref, "customer": sub.customer, "tenant": sub.tenant,
                "activate": sub.status is Status.PROVISIONING, "at": sub.ordered_at, "sla_due": sub.activation_due}
