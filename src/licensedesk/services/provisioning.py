"""Provisioning (issue 8, part 5): a provisionable order is bought upstream once, then activated and announced.

A job is queued in the order's (or payment's) own transaction (``adapters/db/repositories_upstream``).
The worker takes one due job at a time:

1. **lease** — claim it (``FOR UPDATE SKIP LOCKED`` on PostgreSQL) and move its next attempt
   ``lease`` ahead, commit; no database lock is held during HTTP calls;
2. **customer** — the tenant's Partner Center customer: linked before, found by domain, or created
   (the admin login ID and temporary password come back with it), linked, commit;
3. **cart** — one cart per local order: created once, its ID committed before any checkout; a second
   worker that raced us keeps the recorded cart and abandons its own (never checked out, it expires);
4. **checkout** — with ``MS-RequestId`` derived from the cart ID, so a replay returns the first
   result; a cart already checked out (the commit after a successful checkout was lost) is resolved
   by finding its order among the customer's orders instead of buying again;
5. **settle** — lock the job again; unless another worker settled it, record the upstream
   subscription IDs, activate the local subscription (annual-prepaid, ORD-FLOW) and queue the
   activation notice (admin URL, contract number, login ID — ORD-FLOW) and, when the customer's
   tenant was created by us, the temporary password in a mail of its own (D-MAIL-NO-PASSWORD), commit.

A failure backs off (1 min × 2^attempts, capped) or, when Partner Center refused the request or the
attempts ran out, marks the job failed for ``licensedesk upstream failed`` / ``retry``.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from licensedesk.domain import subscription as subs
from licensedesk.domain.calendar import Billing
from licensedesk.domain.errors import DomainError, InvalidInput, NotFound
from licensedesk.domain.subscription import Status, Subscription

from . import subscriptions as subscription_service
from .context import Services
from .outbox import RetrySchedule
from .ports import UnitOfWork
from .ports_upstream import JobStatus, PartnerCenter, Resource, UpstreamError

CHECKOUT_NAMESPACE = uuid.UUID("5b1f0c1e-8d0c-4f55-9a39-1c3a0d7e0b51")
ALREADY_ORDERED = "800002"  # Partner Center: the cart has already been checked out
UPSTREAM_BILLING = {Billing.MONTHLY: "Monthly", Billing.ANNUAL: "Annual", Billing.TRIENNIAL: "Triennial"}


@dataclass
class Provisioner(RetrySchedule):
    """What the worker needs besides the database: the Partner Center client, its tuning and when to retry."""

    upstream: PartnerCenter
    catalog: dict[str, str] = field(default_factory=dict)  # local offer code → catalogItemId (default: the code)
    admin_url: str = "https://admin.microsoft.com/"
    lease: timedelta = timedelta(minutes=15)


@dataclass
class ProvisioningReport:
    done: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.done) + len(self.retrying) + len(self.failed) + len(self.skipped)


def checkout_request_id(cart_id: str) -> str:
    """The same MS-RequestId for every checkout of one cart: Partner Center answers a replay with the first result."""
    return str(uuid.uuid5(CHECKOUT_NAMESPACE, f"checkout:{cart_id}"))


def upstream_billing(sub: Subscription) -> str:
    if sub.billing is Billing.UPFRONT:
        return {"P1M": "Monthly", "P1Y": "Annual", "P3Y": "Triennial"}[sub.term.value]
    return UPSTREAM_BILLING.get(sub.billing, "Monthly")


def provision_due(svc: Services, prov: Provisioner, now: datetime, limit: int | None = None) -> ProvisioningReport:
    """Work every job due at ``now`` (at most ``limit``)."""
    report = ProvisioningReport()
    while limit is None or len(report) < limit:
        if not provision_one(svc, prov, now, report):
            break
    return report


def provision_one(svc: Services, prov: Provisioner, now: datetime, report: ProvisioningReport) -> bool:
    """Lease, buy and settle one due job; False when nothing is due."""
    with svc.uow() as uow:
        job = uow.upstream.claim_due(now)
        if job is None:
            return False
        sub = uow.subscriptions.get(job["subscription_ref"])
        reason = _not_provisionable(job, sub)
        if reason is not None:
            uow.upstream.update_job(job["id"], status=JobStatus.SKIPPED.value, last_error=reason, done_at=now)
            uow.commit()
            report.skipped.append(job["subscription_ref"])
            return True
        assert sub is not None
        uow.upstream.update_job(job["id"], next_attempt_at=now + prov.lease)  # leased to this worker
        tenant = uow.tenants.get(job["tenant_ref"])
        customer = uow.parties.details.customer(job["customer_ref"]) or uow.customers.get(job["customer_ref"])
        link = uow.upstream.customer_link(job["tenant_ref"])
        uow.commit()
    ref = job["subscription_ref"]
    try:
        link = link or _link_customer(svc, prov, job, tenant, customer, now)
        cart_id = job["cart_id"] or _record_cart(svc, prov, job, link["customer_id"], sub, now)
        order = _checkout(svc, prov, job, link["customer_id"], cart_id)
        upstream_subs = prov.upstream.subscriptions(link["customer_id"], order["id"])
        if not upstream_subs:
            raise UpstreamError(f"order {order['id']} has no subscriptions yet (pending)", retryable=True)
        if not sub.auto_renew:  # a cart cannot say it; Partner Center starts every subscription renewing
            for up in upstream_subs:
                if up.get("autoRenewEnabled"):
                    prov.upstream.update_subscription(link["customer_id"], str(up["id"]), {"autoRenewEnabled": False})
        settled = _settle(svc, prov, job, link, order, upstream_subs, now)
    except Exception as exc:  # recorded on the job, backed off, surfaced once it gives up
        retryable = exc.retryable if isinstance(exc, UpstreamError) else not isinstance(exc, DomainError)
        with svc.uow() as uow:
            current = uow.upstream.lock(job["id"])
            if current is not None and current["status"] == JobStatus.PENDING.value:
                retry_at = prov.retry_at(now, current["attempts"]) if retryable else None
                uow.upstream.mark_attempt_failed(job["id"], f"{type(exc).__name__}: {exc}", retry_at)
                (report.failed if retry_at is None else report.retrying).append(ref)
            uow.commit()
        return True
    (report.done if settled else report.skipped).append(ref)
    return True


def _not_provisionable(job: dict[str, Any], sub: Subscription | None) -> str | None:
    if sub is None:
        return f"subscription {job['subscription_ref']} no longer exists"
    if job["activate"] and sub.status is not Status.PROVISIONING:
        return f"not bought upstream: the subscription is already {sub.status.value} (activated by hand?)"
    if not job["activate"] and sub.status is not Status.ACTIVE:
        return f"not bought upstream: the subscription is {sub.status.value}"
    return None


def _link_customer(svc: Services, prov: Provisioner, job: dict[str, Any], tenant: Any, customer: Any,
                   now: datetime) -> dict[str, Any]:
    """The tenant's Partner Center customer: found by its domain, else created (with its first admin)."""
    if tenant is None:
        raise NotFound(f"no tenant {job['tenant_ref']}", f"テナント {job['tenant_ref']} はありません")
    login_id = password = None
    found = prov.upstream.find_customer_by_domain(tenant.domain)
    if found is None:
        try:
            created = prov.upstream.create_customer(_customer_resource(tenant, customer))
        except UpstreamError as exc:
            if exc.status != 409:
                raise
            found = prov.upstream.find_customer_by_domain(tenant.domain)  # another worker created it meanwhile
            if found is None:
                raise
        else:
            found = created
            credentials = created.get("userCredentials") or {}
            login_id, password = credentials.get("userName"), credentials.get("password")
    with svc.uow() as uow:
        if uow.upstream.customer_link(job["tenant_ref"]) is None:
            uow.upstream.link_customer(job["tenant_ref"], str(found["id"]), login_id, now, password)  # race-safe
            uow.commit()
        existing = uow.upstream.customer_link(job["tenant_ref"])
        assert existing is not None
        return existing


def _customer_resource(tenant: Any, customer: Any) -> Resource:
    name = getattr(customer, "name", tenant.customer_ref)
    address = getattr(customer, "address", None)
    contacts = getattr(customer, "contacts", ()) or ()
    email = next((c.email for c in contacts), f"admin@{tenant.domain}")
    return {"companyProfile": {"domain": tenant.domain, "companyName": name},
            "billingProfile": {"email": email, "culture": "ja-JP", "language": "ja", "companyName": name,
                               "defaultAddress": {"country": tenant.country,
                                                  "city": getattr(address, "city", ""),
                                                  "state": getattr(address, "prefecture", ""),
                                                  "addressLine1": getattr(address, "line1", ""),
                                                  "postalCode": getattr(address, "postal_code", "")}}}


def _record_cart(svc: Services, prov: Provisioner, job: dict[str, Any], customer_id: str, sub: Subscription,
                 now: datetime) -> str:
    item: Resource = {"id": 0, "catalogItemId": prov.catalog.get(sub.offer, sub.offer), "quantity": sub.quantity,
                      "billingCycle": upstream_billing(sub), "termDuration": sub.term.value, "friendlyName": sub.ref}
    if sub.first_term_end is not None:  # COTERM: the first term ends on the aligned date
        item["customTermEndDate"] = f"{sub.first_term_end.isoformat()}T00:00:00Z"
    cart = prov.upstream.create_cart(customer_id, {"lineItems": [item]})
    with svc.uow() as uow:
        current = uow.upstream.lock(job["id"])
        assert current is not None
        if current["cart_id"] is None:
            uow.upstream.update_job(job["id"], cart_id=str(cart["id"]), upstream_customer_id=customer_id)
            uow.commit()
            return str(cart["id"])
        return str(current["cart_id"])  # another worker recorded its cart first; ours is never checked out


def _checkout(svc: Services, prov: Provisioner, job: dict[str, Any], customer_id: str, cart_id: str) -> Resource:
    try:
        result = prov.upstream.checkout(customer_id, cart_id, request_id=checkout_request_id(cart_id))
    except UpstreamError as exc:
        if exc.code != ALREADY_ORDERED:
            raise
        return _order_of_cart(svc, prov, customer_id, cart_id)
    errors = result.get("orderErrors") or []
    if errors or not result.get("orders"):
        raise UpstreamError(f"checkout of cart {cart_id} failed: {errors}", code="CHECKOUT-ERROR")
    return dict(result["orders"][0])


def _order_of_cart(svc: Services, prov: Provisioner, customer_id: str, cart_id: str) -> Resource:
    """The order a cart became (its checkout succeeded, our record of it was lost): same offer and quantity,
    created after the cart, not yet linked to a local subscription."""
    cart = prov.upstream.get_cart(customer_id, cart_id)
    wanted = sorted((str(i["catalogItemId"]), int(i["quantity"])) for i in cart["lineItems"])
    with svc.uow() as uow:
        taken = uow.upstream.linked_order_ids(customer_id)
    candidates = [o for o in prov.upstream.orders(customer_id)
                  if o["id"] not in taken and o.get("creationDate", "") >= cart.get("creationTimestamp", "")
                  and sorted((str(li["offerId"]), int(li["quantity"])) for li in o.get("lineItems", [])) == wanted]
    if not candidates:
        raise UpstreamError(f"cart {cart_id} was checked out but its order cannot be found", code="ORDER-NOT-FOUND")
    return min(candidates, key=lambda o: str(o.get("creationDate", "")))


def _settle(svc: Services, prov: Provisioner, job: dict[str, Any], link: dict[str, Any], order: Resource,
            upstream_subs: list[Resource], now: datetime) -> bool:
    """Record, activate, announce, mark done — once (the job row is locked; a settled job is left alone)."""
    with svc.uow() as uow:
        current = uow.upstream.lock(job["id"])
        if current is None or current["status"] != JobStatus.PENDING.value:
            return False
        ref = job["subscription_ref"]
        first = upstream_subs[0]
        uow.upstream.link_subscription(ref, link["customer_id"], str(first["id"]), str(order["id"]), now)
        sub = subscription_service._current(uow, ref, svc, now)
        details = {"login_id": link.get("login_id") or f"admin@{_tenant_domain(uow, job)}",
                   "admin_url": prov.admin_url, "upstream_subscription": str(first["id"]),
                   "upstream_order": str(order["id"])}
        when = svc.when(now)
        if job["activate"] and sub.status is Status.PROVISIONING:
            step = getattr(subs.model_of(sub), "activate")  # noqa: B009 - the preset's optional step
            step(sub, when, svc.calendar)
            sub.notices = [dataclasses.replace(n, details={**n.details, **details}) if n.kind == "activation" else n
                           for n in sub.notices]
        elif sub.status is Status.ACTIVE:
            assert sub.term_start is not None and sub.term_end is not None
            sub.notify("activation", when.today, "ORD-FLOW", contract=sub.ref, holder=sub.customer_name,
                       product=sub.offer, quantity=sub.quantity, term_start=sub.term_start.isoformat(),
                       term_end=sub.term_end.isoformat(), **details)
        sub.record("provisioned_upstream", when, "ORD-FLOW", upstream_customer=link["customer_id"],
                   upstream_order=str(order["id"]), upstream_subscription=str(first["id"]),
                   activation_due=current["sla_due"],
                   late=current["sla_due"] is not None and when.today > current["sla_due"])
        if link.get("temporary_password"):  # D-MAIL-NO-PASSWORD: never in the activation mail; a mail of its own
            sub.notify("temporary_password", when.today, "ORD-FLOW", temporary_password=link["temporary_password"])
            uow.upstream.forget_password(job["tenant_ref"])  # it now lives only in that queued mail
        subscription_service.persist(uow, sub, now, svc)
        uow.upstream.update_job(job["id"], status=JobStatus.DONE.value, done_at=now, order_id=str(order["id"]),
                                upstream_customer_id=link["customer_id"], last_error=None)
        uow.commit()
        return True


def _tenant_domain(uow: UnitOfWork, job: dict[str, Any]) -> str:
    tenant = uow.tenants.get(job["tenant_ref"])
    return tenant.domain if tenant else "example.onmicrosoft.com"


# ---------------------------------------------------------------------- operators
def jobs(svc: Services, status: JobStatus | None = None) -> list[dict[str, Any]]:
    with svc.uow() as uow:
        return uow.upstream.jobs(status)


def retry(svc: Services, job_id: int, now: datetime) -> None:
    """A failed job goes back to pending, due now, with a fresh attempt count."""
    with svc.uow() as uow:
        row = uow.upstream.get(job_id)
        if row is None:
            raise NotFound(f"no provisioning job {job_id}", f"プロビジョニング {job_id} はありません", id=job_id)
        if not uow.upstream.retry(job_id, now):
            raise InvalidInput(f"provisioning job {job_id} is {row['status']}, not failed",
                               f"プロビジョニング {job_id} は失敗状態ではありません（{row['status']}）",
                               code="UPSTREAM-NOT-FAILED", id=job_id)
        uow.commit()


def overdue(svc: Services, now: datetime) -> list[dict[str, Any]]:
    """Jobs not done whose ORD-FLOW activation deadline (3 business days after payment) has passed."""
    today = svc.when(now).today
    return [j for j in jobs(svc) if j["status"] in (JobStatus.PENDING.value, JobStatus.FAILED.value)
            and j["sla_due"] is not None and today > j["sla_due"]]
