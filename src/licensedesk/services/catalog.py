"""Catalog use cases: put offers with their price history; load the built-in sample catalog."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from licensedesk.domain.calendar import Billing, Term
from licensedesk.domain.catalog import Offer, OfferKind, PriceRow
from licensedesk.domain.errors import InvalidInput
from licensedesk.presets import sample_catalog

from .context import Services


def _date(value: Any, where: str) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(f"{where}: not a date: {value!r}", f"{where}: 日付ではありません: {value!r}",
                           code="CATALOG-INVALID", field=where) from None


def offer_from_mapping(data: Mapping[str, Any], where: str = "catalog") -> Offer:
    """An offer from catalog data (the scenario ``catalog`` block and ``presets/catalog.yaml``)."""
    try:
        code, name = str(data["offer"]), str(data.get("name") or data["offer"])
        kind = OfferKind(data.get("kind", "seat"))
        prices = [
            PriceRow(Term(p["term"]), Billing(p["billing"]), int(p["unit_price"]),
                     _date(p.get("effective_from"), f"{where}.prices[{i}].effective_from"),
                     _date(p.get("effective_to"), f"{where}.prices[{i}].effective_to"))
            for i, p in enumerate(data.get("prices") or [])
        ]
    except (KeyError, ValueError, TypeError) as exc:
        raise InvalidInput(f"{where}: invalid offer ({exc})", f"{where}: 商品定義が不正です（{exc}）",
                           code="CATALOG-INVALID", field=where) from None
    if any(p.unit_price < 0 for p in prices):
        raise InvalidInput(f"{where}: negative price", f"{where}: 価格が負です", code="CATALOG-INVALID", field=where)
    return Offer(code, name, kind, prices)


def put_offers(svc: Services, offers: Iterable[Offer]) -> int:
    count = 0
    with svc.uow() as uow:
        for offer in offers:
            uow.offers.put(offer)
            count += 1
        uow.commit()
    return count


def load_sample_catalog(svc: Services) -> int:
    return put_offers(svc, [offer_from_mapping(o, f"catalog[{i}]") for i, o in enumerate(sample_catalog())])
