"""Managed-device classification for licence counting (RULES.md §8, DEV-MANAGED)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from licensedesk.domain.devices import Classification, classify, parse_inventory, summary
from licensedesk.domain.errors import InvalidInput

from . import lookups
from .context import Services


def classify_text(text: str) -> tuple[list[Classification], dict[str, Any]]:
    """Classify an inventory CSV without storing it."""
    results = [classify(d) for d in parse_inventory(text)]
    return results, summary(results)


def import_inventory(svc: Services, now: datetime, *, ref: str, customer: str, text: str
                     ) -> tuple[list[Classification], dict[str, Any]]:
    """Classify an inventory CSV and keep it, with every device's verdict and reasons, for the customer."""
    results, totals = classify_text(text)
    with svc.uow() as uow:
        lookups.customer(uow, customer)
        if uow.vl.devices.exists(ref):
            raise InvalidInput(f"inventory {ref} already exists", f"デバイス一覧 {ref} は既に存在します",
                               code="DUPLICATE-REF")
        uow.vl.devices.add(ref, customer, now, results, totals)
        uow.commit()
    return results, totals
