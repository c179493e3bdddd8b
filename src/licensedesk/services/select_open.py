"""Use cases on Select Plus and Open programs (RULES.md §3 PRICE-SELECT-*, PRICE-OV-*; §4 OPEN-ACTIVATION-START)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from licensedesk.domain.agreements import parse_enum
from licensedesk.domain.errors import InvalidInput, NotFound
from licensedesk.domain.select_open import (
    LicenceKind,
    OpenLine,
    OpenOrder,
    OpenProgram,
    Pool,
    ProductKey,
    SelectPlus,
    open_select_plus,
    place_open_order,
)

from .agreements import as_date
from .context import Services
from .ports import UnitOfWork


def _pools(points: Mapping[str, int]) -> dict[Pool, int]:
    out = {}
    for name, value in points.items():
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInput(f"points of {name} must be a whole number", f"{name} のポイントは整数です",
                               code="SELECT-POINTS-INVALID")
        out[parse_enum(Pool, name, "pool")] = value
    return out


def select_plus(svc: Services, now: datetime, *, ref: str, customer: str, pools: Mapping[str, int],
                start: date | str | None = None, qualifying_enrollment: str | None = None) -> SelectPlus:
    """A Select Plus agreement with its first-year annual points per pool (PRICE-SELECT-MIN, -LEVEL)."""
    with svc.uow() as uow:
        if uow.customers.get(customer) is None:
            raise NotFound(f"no customer {customer}", f"お客様 {customer} は登録されていません", ref=customer)
        if uow.vl.select_plus.get(ref) is not None:
            raise InvalidInput(f"Select Plus {ref} already exists", f"Select Plus {ref} は既に存在します",
                               code="DUPLICATE-REF")
        agreement = open_select_plus(ref=ref, customer=customer,
                                     start=svc.when(now).today if start is None else as_date(start, "start"),
                                     qualifying_enrollment=qualifying_enrollment, pools=_pools(pools))
        uow.vl.select_plus.add(agreement)
        uow.commit()
    return agreement


def select_points(svc: Services, now: datetime, *, agreement: str, pools: Mapping[str, int],
                  year: int | None = None) -> SelectPlus:
    """Annual points per pool for an agreement year (default: the year containing today)."""
    with svc.uow() as uow:
        found = uow.vl.select_plus.get(agreement)
        if found is None:
            raise NotFound(f"no Select Plus {agreement}", f"Select Plus {agreement} はありません", ref=agreement)
        found.set_points(year or found.year_of(svc.when(now).today), _pools(pools))
        uow.vl.select_plus.save(found)
        uow.commit()
    return found


def _line(raw: Mapping[str, Any], i: int) -> OpenLine:
    try:
        return OpenLine(str(raw["product"]), parse_enum(LicenceKind, raw["kind"], f"lines[{i}].kind"),
                        int(raw["quantity"]), int(raw.get("term_months", 12)))
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(f"lines[{i}] needs product, kind and quantity ({exc})",
                           f"lines[{i}] には product・kind・quantity が必要です", code="INVALID-INPUT") from None


def open_order(svc: Services, now: datetime, *, ref: str, customer: str, program: str,
               lines: Sequence[Mapping[str, Any]]) -> tuple[OpenOrder, list[ProductKey]]:
    """An Open License / Open Value order; its online-service lines get product keys."""
    today = svc.when(now).today
    kind = parse_enum(OpenProgram, program, "program")
    with svc.uow() as uow:
        if uow.customers.get(customer) is None:
            raise NotFound(f"no customer {customer}", f"お客様 {customer} は登録されていません", ref=customer)
        if uow.vl.open_orders.get(ref) is not None:
            raise InvalidInput(f"Open order {ref} already exists", f"Open 発注 {ref} は既に存在します",
                               code="DUPLICATE-REF")
        first = not any(o.program is kind for o in uow.vl.open_orders.for_customer(customer))
        order, keys = place_open_order(ref=ref, customer=customer, program=kind,
                                       lines=[_line(raw, i) for i, raw in enumerate(lines)], today=today, first=first)
        uow.vl.open_orders.add(order)
        for key in keys:
            uow.vl.product_keys.add(key)
        uow.commit()
    return order, keys


def _key(uow: UnitOfWork, ref: str) -> ProductKey:
    found = uow.vl.product_keys.get(ref)
    if found is None:
        raise NotFound(f"no product key {ref}", f"プロダクト キー {ref} はありません", ref=ref)
    return found


def activate_key(svc: Services, now: datetime, *, key: str) -> ProductKey:
    """OPEN-ACTIVATION-START: the online-service term starts today."""
    with svc.uow() as uow:
        found = _key(uow, key)
        found.activate(svc.when(now).today)
        uow.vl.product_keys.save(found)
        uow.commit()
    return found


def return_key(svc: Services, now: datetime, *, key: str) -> ProductKey:
    """A return is accepted only before activation (OPEN-ACTIVATION-START)."""
    with svc.uow() as uow:
        found = _key(uow, key)
        found.give_back(svc.when(now).today)
        uow.vl.product_keys.save(found)
        uow.commit()
    return found
