"""Catalog use cases: put offers with their price history; load the built-in sample catalog."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from licensedesk.domain.calendar import Billing, Term
from licensedesk.domain.catalog import Offer, OfferKind, PriceRow
from licensedesk.domain.errors import InvalidInput
from licensedesk.domain.pricelist import PriceListEntry, PricingRule, parse_price_list
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


def import_price_list(svc: Services, text: str, rule: PricingRule, segment: str = "Commercial") -> dict[str, int]:
    """Import a Partner Center NCE price list: all or nothing, in one transaction.

    Rows of other segments are left out; each (offer, term, billing, effective date) row replaces the
    row with the same key and keeps the rest of the offer's price history.
    """
    parsed = parse_price_list(text, rule)
    entries = [e for e in parsed.entries if e.segment.lower() == segment.lower()]
    if not entries:
        raise InvalidInput(f"the price list has no {segment} rows for JP/JPY", f"{segment} の JP/JPY 行がありません",
                           code="PRICELIST-INVALID", segment=segment)
    by_offer: dict[str, list[PriceListEntry]] = {}
    for entry in entries:
        by_offer.setdefault(entry.offer_id, []).append(entry)
    with svc.uow() as uow:
        for code, rows in by_offer.items():
            offer = uow.offers.get(code) or Offer(code, rows[0].name, OfferKind.SEAT, [])
            fresh = {(e.term, e.billing, e.effective_start): PriceRow(e.term, e.billing, e.unit_price,
                                                                      e.effective_start, e.effective_end)
                     for e in rows}
            kept = [p for p in offer.prices if (p.term, p.billing, p.effective_from) not in fresh]
            offer.name = rows[0].name
            offer.prices = kept + list(fresh.values())
            uow.offers.put(offer)
        uow.commit()
    return {"offers": len(by_offer), "prices": len(entries), "skipped_market": parsed.skipped_market,
            "skipped_unsupported": parsed.skipped_unsupported,
            "skipped_segment": len(parsed.entries) - len(entries)}
