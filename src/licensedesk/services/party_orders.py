"""An order with the parties' checks: ELIG-GROUP (a parent ordering for an affiliate), AZ-NO-MIGRATE,
AZ-FIRST-ACCOUNT, ORD-MIGRATE / XFER-RELATIONSHIP; then the subscription engine's own order handler,
in the same transaction, and the ordering party recorded next to the subscription.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from licensedesk.domain.parties import GroupRule, MigrationSource, OrderParties
from licensedesk.domain.subscription import Subscription

from . import lookups
from . import subscriptions as subscription_service
from .context import Services
from .parties import choice, customer_of, tenant_for_order


def order(svc: Services, now: datetime, *, ref: str, tenant: str, offer: str, policy: str | None = None,
          ordering_party: str | None = None, migrate: bool = False, migrate_from: str | None = None,
          **order_fields: Any) -> Subscription:
    """Place an order; ``order_fields`` go to the subscription engine's ``order`` unchanged."""
    source = None if migrate_from is None else choice(MigrationSource, migrate_from, "migrate_from")
    with svc.uow() as uow:
        read = tenant_for_order(uow, tenant, ref)  # tenant, customer, relationship, ref: one round trip
        ten, end_user = read.tenant, read.customer
        assert end_user is not None
        uow.notices.know_recipients([end_user])  # read with its contacts: its invoice's mail reads them no more
        found = lookups.offer(uow, offer)
        chosen = svc.policy(policy)
        parties = OrderParties(end_user, ten, found.kind,
                               None if ordering_party is None else customer_of(uow, ordering_party),
                               migrate, source, read.relationship_accepted)
        share = parties.check(GroupRule(chosen.group_ownership_threshold_percent, chosen.group_ownership_inclusive))
        subscription_service.refuse_taken(ref, read.ref_taken)
        # the engine's own order on the parties and offer just checked (read once, not twice)
        sub = subscription_service.place(uow, svc, now, end_user, ten, found, ref=ref, policy=policy,
                                         **order_fields)
        if ordering_party is not None and share is not None:
            uow.parties.details.set_ordering_party(ref, end_user.ref, ordering_party, f"{share.normalize():f}")
        uow.commit()
        return sub
