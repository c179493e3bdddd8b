"""Offers and their prices (PRICE-ONE, PRICE-LOCK-12M).

CSP has one price per offer (PRICE-ONE): a price row is chosen by term,
billing frequency and the date, never by quantity. Price rows keep their
effective dates so both a subscription's locked price and the price at its
renewal can be answered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from .calendar import Billing, Term
from .errors import InvalidInput


class OfferKind(StrEnum):
    SEAT = "seat"
    AZURE = "azure"
    PERPETUAL = "perpetual"
    TRIAL = "trial"
    THIRD_PARTY = "third_party"


@dataclass(frozen=True)
class PriceRow:
    """Tax-exclusive JPY per seat per billing period, valid ``[effective_from, effective_to]``."""

    term: Term
    billing: Billing
    unit_price: int
    effective_from: date | None = None
    effective_to: date | None = None

    def valid_on(self, d: date) -> bool:
        return (self.effective_from is None or self.effective_from <= d) and (
            self.effective_to is None or d <= self.effective_to
        )


def _same_billing(row: Billing, wanted: Billing) -> bool:
    """Upfront and annual are the same price row for a one-year term paid once."""
    upfrontish = {Billing.UPFRONT, Billing.ANNUAL, Billing.TRIENNIAL}
    return row is wanted or (row in upfrontish and wanted in upfrontish)


@dataclass
class Offer:
    code: str
    name: str
    kind: OfferKind = OfferKind.SEAT
    prices: list[PriceRow] = field(default_factory=list)

    def price_on(self, term: Term, billing: Billing, on: date) -> PriceRow:
        """The one price (PRICE-ONE) for ``term``/``billing`` valid on ``on``; the latest-starting row wins."""
        candidates = [p for p in self.prices if p.term is term and p.billing is billing and p.valid_on(on)]
        if not candidates:
            candidates = [p for p in self.prices if p.term is term and _same_billing(p.billing, billing)
                          and p.valid_on(on)]
        if not candidates:
            raise InvalidInput(
                f"offer {self.code} has no price for {term.value}/{billing.value} on {on.isoformat()}",
                f"商品 {self.code} には {on.isoformat()} 時点の {term.value}/{billing.value} の価格がありません",
                code="CATALOG-NO-PRICE", offer=self.code, term=term.value, billing=billing.value,
                date=on.isoformat(),
            )
        return max(candidates, key=lambda p: p.effective_from or date.min)

    def one_time_price(self, on: date) -> int:
        """A perpetual licence's price: its one row valid on ``on`` (ORD-PERPETUAL), whatever term it names."""
        rows = [p for p in self.prices if p.valid_on(on)]
        if not rows:
            raise InvalidInput(f"offer {self.code} has no price on {on.isoformat()}",
                               f"商品 {self.code} には {on.isoformat()} 時点の価格がありません",
                               code="CATALOG-NO-PRICE", offer=self.code, date=on.isoformat())
        return max(rows, key=lambda p: p.effective_from or date.min).unit_price

    @property
    def is_perpetual(self) -> bool:
        return self.kind is OfferKind.PERPETUAL

    @property
    def is_trial(self) -> bool:
        return self.kind is OfferKind.TRIAL
