"""Price-list import on both databases: prices with history, and all-or-nothing on a bad row."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from licensedesk.domain.calendar import Billing, Term
from licensedesk.domain.errors import InvalidInput
from licensedesk.domain.pricelist import PricingRule
from licensedesk.services.catalog import import_price_list
from licensedesk.services.context import Services

SAMPLE = (Path(__file__).parents[1] / "data" / "pricelist_sample.csv").read_text(encoding="utf-8")


def test_import_keeps_jp_jpy_rows_and_answers_prices(svc: Services) -> None:
    counts = import_price_list(svc, SAMPLE, PricingRule.erp())
    assert counts["skipped_market"] == 3 and counts["skipped_unsupported"] == 1
    with svc.uow() as uow:
        offer = uow.offers.get("CFQ7TTC0LFLZ:0002")
        assert offer is not None
        row = offer.price_on(Term.P1Y, Billing.MONTHLY, date(2026, 11, 15))
    assert row.unit_price > 0


def test_a_later_price_list_adds_history_instead_of_overwriting(svc: Services) -> None:
    import_price_list(svc, SAMPLE, PricingRule.erp())
    with svc.uow() as uow:
        before = len(uow.offers.get("CFQ7TTC0LFLZ:0002").prices)  # type: ignore[union-attr]
    later = SAMPLE.replace("2026-11-01,2026-11-30", "2027-01-01,2027-01-31")
    import_price_list(svc, later, PricingRule.cost_plus(10))
    with svc.uow() as uow:
        after = uow.offers.get("CFQ7TTC0LFLZ:0002").prices  # type: ignore[union-attr]
    assert len(after) == 2 * before
    assert {p.effective_from for p in after} >= {date(2027, 1, 1)}


def test_one_bad_row_imports_nothing(svc: Services) -> None:
    lines = SAMPLE.splitlines()
    bad = "\n".join([*lines, lines[1].replace("JPY", "JPY").replace(",P1Y,", ",P9Y,", 1)])
    with pytest.raises(InvalidInput) as err:
        import_price_list(svc, bad, PricingRule.erp())
    assert err.value.code == "PRICELIST-INVALID"
    assert err.value.details["errors"][0]["line"] == len(lines) + 1
    with svc.uow() as uow:
        assert uow.offers.list() == []
