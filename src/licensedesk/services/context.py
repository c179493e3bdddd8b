"""What every handler needs: a unit-of-work factory, the time zone, the business calendar and policies."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from licensedesk.domain.calendar import Billing as BillingFrequency
from licensedesk.domain.calendar import BusinessCalendar, Term
from licensedesk.domain.catalog import Offer
from licensedesk.domain.policy import Policy
from licensedesk.domain.subscription import When
from licensedesk.presets import preset

from . import lookups
from .ports import UnitOfWork


@dataclass
class Services:
    uow: Callable[[], UnitOfWork]
    zone: ZoneInfo
    calendar: BusinessCalendar = field(default_factory=BusinessCalendar)
    default_policy: str = "mca-nce"
    policies: dict[str, Policy] = field(default_factory=dict)

    def when(self, instant: datetime) -> When:
        """The domain's view of an instant: itself and the local calendar date."""
        local = instant.astimezone(self.zone)
        return When(local, local.date())

    def start_of(self, day: date) -> datetime:
        """00:00 of ``day`` in the reseller's time zone (POLICIES.md §0, start of day)."""
        return datetime.combine(day, time(0), tzinfo=self.zone)

    def policy(self, name: str | None) -> Policy:
        name = name or self.default_policy
        return self.policies.get(name) or preset(name)


class CatalogPrices:
    """The domain's PriceBook over the offers repository (current catalog prices)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self._offers: dict[str, Offer] = {}  # read once per unit of work (a tick chunk renews many)

    def unit_price(self, offer: str, term: Term, billing: BillingFrequency, on: date) -> int:
        if offer not in self._offers:
            self._offers[offer] = lookups.offer(self.uow, offer)
        return self._offers[offer].price_on(term, billing, on).unit_price
