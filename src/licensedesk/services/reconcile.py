"""Reconciliation (issue 8, part 6): local subscriptions against Partner Center, every difference reported.

Compared per linked subscription: quantity, status (local ``cancelled`` is upstream ``deleted``),
term start and end (``effectiveStartDate`` / ``commitmentEndDate``), and auto-renew. Partner Center
keeps term dates as UTC dates; ours are Tokyo dates. A subscription bought between 00:00 and 09:00 JST
has UTC dates one day earlier than ours for the same term, so the upstream dates are compared after
shifting them by the day difference at the moment of purchase (the link's ``linked_at``); the report
shows them as Partner Center has them. Also reported: a live local seat subscription with no upstream
subscription (``missing_upstream``: not provisioned, or its link was lost) and an upstream
subscription of a linked customer that no local subscription claims (``missing_locally``).
Nothing is changed on either side: the report is for a person to decide.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from licensedesk.domain.subscription import Status, Subscription

from .context import Services
from .ports_upstream import PartnerCenter, Resource

UPSTREAM_STATUS = {Status.ACTIVE: "active", Status.SUSPENDED: "suspended", Status.EXPIRED: "expired",
                   Status.DISABLED: "disabled", Status.CANCELLED: "deleted", Status.DELETED: "deleted"}
NOT_YET_UPSTREAM = (Status.PENDING_PAYMENT, Status.PROVISIONING)
GONE_UPSTREAM = ("deleted",)


@dataclass(frozen=True)
class Mismatch:
    subscription: str | None  # local ref (None: only upstream has it)
    upstream_id: str | None
    customer_id: str | None
    field: str  # quantity, status, term_start, term_end, auto_renew, missing_upstream, missing_locally
    local: Any
    upstream: Any

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _day(value: Any) -> date | None:
    return date.fromisoformat(str(value)[:10]) if value else None


def day_shift(bought_at: datetime, zone: tzinfo) -> timedelta:
    """How far our calendar date of the purchase is ahead of its UTC date (JST: 1 day from 00:00 to 09:00)."""
    return bought_at.astimezone(zone).date() - bought_at.astimezone(UTC).date()


def compare(sub: Subscription, up: Resource, customer_id: str, shift: timedelta = timedelta(0)) -> list[Mismatch]:
    local_status = UPSTREAM_STATUS.get(sub.status, sub.status.value)
    start, end = _day(up.get("effectiveStartDate")), _day(up.get("commitmentEndDate"))
    checks: list[tuple[str, Any, Any, Any]] = [  # (field, ours, theirs as reported, theirs as comparable)
        ("quantity", sub.quantity, int(up.get("quantity", 0)), None),
        ("status", local_status, up.get("status"), None),
        ("term_start", sub.term_start, start, start + shift if start else None),
        ("term_end", sub.term_end, end, end + shift if end else None),
        ("auto_renew", sub.auto_renew, bool(up.get("autoRenewEnabled")), None),
    ]
    return [Mismatch(sub.ref, str(up["id"]), customer_id, name, mine, theirs)
            for name, mine, theirs, comparable in checks
            if mine != (theirs if comparable is None else comparable)]


def reconcile(svc: Services, upstream: PartnerCenter, now: datetime) -> list[Mismatch]:
    """Every difference between the local subscriptions and Partner Center, in a stable order."""
    with svc.uow() as uow:
        links = uow.upstream.subscription_links()
        customers = uow.upstream.customer_links()
        local = {s.ref: s for s in uow.subscriptions.all()}
        seat_offers = {o.code for o in uow.offers.list() if o.kind.value == "seat"}
    linked = {link["subscription_ref"]: link for link in links}
    claimed = {link["subscription_id"] for link in links}
    found: list[Mismatch] = []
    for customer_id in sorted({c["customer_id"] for c in customers} | {link["customer_id"] for link in links}):
        theirs = {str(s["id"]): s for s in upstream.subscriptions(customer_id)}
        for ref, link in sorted(linked.items()):
            if link["customer_id"] != customer_id:
                continue
            sub, up = local.get(ref), theirs.get(link["subscription_id"])
            if up is None:
                found.append(Mismatch(ref, link["subscription_id"], customer_id, "missing_upstream",
                                      sub.status.value if sub else None, None))
            elif sub is None:
                found.append(Mismatch(None, link["subscription_id"], customer_id, "missing_locally", None,
                                      up.get("status")))
            else:
                found.extend(compare(sub, up, customer_id, day_shift(link["linked_at"], svc.zone)))
        for sid, up in sorted(theirs.items()):
            if sid not in claimed and up.get("status") not in GONE_UPSTREAM:
                found.append(Mismatch(None, sid, customer_id, "missing_locally", None,
                                      f"{up.get('offerId')} ×{up.get('quantity')} {up.get('status')}"))
    for ref, sub in sorted(local.items()):
        if (ref not in linked and sub.offer in seat_offers and not sub.in_trial
                and sub.status not in NOT_YET_UPSTREAM and UPSTREAM_STATUS.get(sub.status) not in GONE_UPSTREAM
                and sub.status is not Status.EXPIRED):
            found.append(Mismatch(ref, None, None, "missing_upstream", sub.status.value, None))
    return found
