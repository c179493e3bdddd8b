"""Select Plus price levels and minimums, Open Value minimums, Open online-service keys (RULES.md §3, §4).

- PRICE-SELECT-LEVEL: a corporate customer's price level per product pool from its annual points:
  A ≥ 500, B ≥ 4,000, C ≥ 10,000, D ≥ 25,000 (below 500: no level).
- PRICE-SELECT-MIN: in the first agreement year every product pool ordered needs ≥ 500 points, and
  at least one pool must be ordered, unless a qualifying enrollment is designated.
- PRICE-OV-MIN: an Open Value first order needs ≥ 5 licences; online-service user SLs count.
- PRICE-OV-ORGWIDE: Open Value company-wide and Open Value Subscription need, on the first order,
  ≥ 5 desktop platform or desktop component licences in addition to user SLs.
- OPEN-ACTIVATION-START: an Open online-service term starts on the day its product key is
  activated and ends ``add_months(activation, months) − 1 day``; an activated key cannot be returned.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from .calendar import ONE_DAY, add_months
from .errors import InvalidInput, RuleViolation
from .explain import Explanation, because

SELECT_FIRST_YEAR_MIN = 500
OV_MIN_LICENCES = 5
OV_ORGWIDE_MIN_DESKTOP = 5


class Pool(StrEnum):
    APPLICATIONS = "applications"
    SYSTEMS = "systems"
    SERVERS = "servers"


class PriceLevel(StrEnum):
    A = "A"
    B = "B"
    C = "C"
    D = "D"


LEVEL_THRESHOLDS = ((PriceLevel.D, 25_000), (PriceLevel.C, 10_000), (PriceLevel.B, 4_000), (PriceLevel.A, 500))


def price_level(points: int) -> tuple[PriceLevel | None, Explanation]:
    """PRICE-SELECT-LEVEL: the highest level whose annual minimum ``points`` reaches."""
    for level, minimum in LEVEL_THRESHOLDS:
        if points >= minimum:
            return level, because("PRICE-SELECT-LEVEL", f"{points:,} points ≥ {minimum:,} → level {level.value}",
                                  f"{points:,} ポイント ≥ {minimum:,} → レベル {level.value}", points=points)
    return None, because("PRICE-SELECT-LEVEL", f"{points:,} points < 500 → no price level",
                         f"{points:,} ポイント < 500 → 価格レベルなし", points=points)


@dataclass
class SelectPlus:
    ref: str
    customer: str
    start: date
    qualifying_enrollment: str | None
    points: dict[int, dict[Pool, int]] = field(default_factory=dict)  # agreement year → pool → annual points
    row_version: int = 0

    def year_of(self, day: date) -> int:
        """Agreement year containing ``day``: year k runs add_months(start, 12(k−1)) … add_months(start, 12k) − 1."""
        k = 1
        while add_months(self.start, 12 * k) <= day:
            k += 1
        return k

    def levels(self, year: int) -> dict[Pool, tuple[PriceLevel | None, Explanation]]:
        return {pool: price_level(points) for pool, points in self.points.get(year, {}).items()}

    def set_points(self, year: int, pools: Mapping[Pool, int]) -> None:
        if year < 1 or any(p < 0 for p in pools.values()):
            raise InvalidInput("agreement year ≥ 1 and points ≥ 0 are needed", "契約年は 1 以上、ポイントは 0 以上です",
                               code="SELECT-POINTS-INVALID")
        merged = {**self.points.get(year, {}), **pools}
        if year == 1:
            check_first_year(merged, self.qualifying_enrollment)
        self.points[year] = merged


def check_first_year(pools: Mapping[Pool, int], qualifying_enrollment: str | None) -> None:
    """PRICE-SELECT-MIN (skipped when a qualifying enrollment is designated)."""
    if qualifying_enrollment:
        return
    short = {p.value: n for p, n in pools.items() if 0 < n < SELECT_FIRST_YEAR_MIN}
    if short or not any(pools.values()):
        raise RuleViolation("PRICE-SELECT-MIN",
                            f"Select Plus needs at least {SELECT_FIRST_YEAR_MIN} points per product pool in the first "
                            f"year unless a qualifying enrollment is designated (short: {short or 'no pool ordered'})",
                            f"Select Plus は対象となる加入契約の指定がない限り、初年度に製品群ごとに {SELECT_FIRST_YEAR_MIN} "
                            f"ポイント以上が必要です（不足: {short or '発注なし'}）", {"short": short})


def open_select_plus(*, ref: str, customer: str, start: date, qualifying_enrollment: str | None,
                     pools: Mapping[Pool, int]) -> SelectPlus:
    agreement = SelectPlus(ref, customer, start, qualifying_enrollment or None)
    agreement.set_points(1, pools)
    return agreement


# ---------------------------------------------------------------------------- Open
class OpenProgram(StrEnum):
    OPEN_LICENSE = "open_license"
    OPEN_VALUE = "open_value"
    OPEN_VALUE_COMPANY_WIDE = "open_value_company_wide"
    OPEN_VALUE_SUBSCRIPTION = "open_value_subscription"

    @property
    def is_open_value(self) -> bool:
        return self is not OpenProgram.OPEN_LICENSE

    @property
    def org_wide(self) -> bool:
        return self in (OpenProgram.OPEN_VALUE_COMPANY_WIDE, OpenProgram.OPEN_VALUE_SUBSCRIPTION)


class LicenceKind(StrEnum):
    DESKTOP_PLATFORM = "desktop_platform"
    DESKTOP_COMPONENT = "desktop_component"
    USER_SL = "user_sl"  # online-service user subscription licence: gets a product key
    OTHER = "other"


@dataclass(frozen=True)
class OpenLine:
    product: str
    kind: LicenceKind
    quantity: int
    term_months: int = 12


def check_open_order(program: OpenProgram, lines: Sequence[OpenLine], first: bool) -> list[Explanation]:
    """PRICE-OV-MIN and PRICE-OV-ORGWIDE on a first order; later orders have no minimum."""
    if any(line.quantity < 1 for line in lines) or not lines:
        raise InvalidInput("an order needs lines with a quantity of at least 1", "数量 1 以上の明細が必要です",
                           code="INVALID-QUANTITY")
    if not (first and program.is_open_value):
        return []
    total = sum(line.quantity for line in lines)
    if total < OV_MIN_LICENCES:
        raise RuleViolation("PRICE-OV-MIN", f"Open Value needs at least {OV_MIN_LICENCES} licences (user SLs count); "
                                            f"this first order has {total}",
                            f"Open Value は {OV_MIN_LICENCES} ライセンス以上が必要です（ユーザー SL を含む。この初回発注は {total}）",
                            {"licences": total})
    why = [because("PRICE-OV-MIN", f"{total} licences ≥ {OV_MIN_LICENCES}", f"{total} ライセンス ≥ {OV_MIN_LICENCES}",
                   licences=total)]
    if program.org_wide:
        desktop = sum(line.quantity for line in lines
                      if line.kind in (LicenceKind.DESKTOP_PLATFORM, LicenceKind.DESKTOP_COMPONENT))
        if desktop < OV_ORGWIDE_MIN_DESKTOP:
            raise RuleViolation(
                "PRICE-OV-ORGWIDE",
                f"{program.value} needs, on the first order, at least {OV_ORGWIDE_MIN_DESKTOP} desktop platform or "
                f"component licences in addition to user SLs; this order has {desktop}",
                f"{program.value} は初回発注時にユーザー SL のほかにデスクトップ プラットフォームまたはコンポーネントの"
                f"ライセンスが {OV_ORGWIDE_MIN_DESKTOP} 以上必要です（この発注は {desktop}）", {"desktop": desktop})
        why.append(because("PRICE-OV-ORGWIDE", f"{desktop} desktop licences ≥ {OV_ORGWIDE_MIN_DESKTOP}",
                           f"デスクトップ ライセンス {desktop} ≥ {OV_ORGWIDE_MIN_DESKTOP}", desktop=desktop))
    return why


@dataclass
class OpenOrder:
    ref: str
    customer: str
    program: OpenProgram
    lines: list[OpenLine]
    ordered_on: date
    first: bool
    why: list[Explanation] = field(default_factory=list)


def place_open_order(*, ref: str, customer: str, program: OpenProgram, lines: Sequence[OpenLine], today: date,
                     first: bool) -> tuple[OpenOrder, list[ProductKey]]:
    """An Open order (minimums on the first one) and the product keys of its online-service lines."""
    why = check_open_order(program, lines, first)
    return (OpenOrder(ref, customer, program, list(lines), today, first, why),
            keys_for(ref, customer, program, lines, today))


class KeyStatus(StrEnum):
    ORDERED = "ordered"
    ACTIVE = "active"
    RETURNED = "returned"


@dataclass
class ProductKey:
    """An Open online-service product key; its term starts at activation (OPEN-ACTIVATION-START)."""

    ref: str
    order: str
    customer: str
    program: OpenProgram
    product: str
    quantity: int
    term_months: int
    ordered_on: date
    status: KeyStatus = KeyStatus.ORDERED
    term_start: date | None = None
    term_end: date | None = None
    returned_on: date | None = None
    row_version: int = 0

    def activate(self, today: date) -> Explanation:
        if self.status is not KeyStatus.ORDERED:
            raise InvalidInput(f"product key {self.ref} is {self.status.value}",
                               f"プロダクト キー {self.ref} は {self.status.value} です", code="KEY-STATUS")
        self.status, self.term_start = KeyStatus.ACTIVE, today
        self.term_end = add_months(today, self.term_months) - ONE_DAY
        return self.why()

    def why(self) -> Explanation:
        return because("OPEN-ACTIVATION-START", f"activated {self.term_start}; add_months({self.term_start}, "
                                                f"{self.term_months}) − 1 day = {self.term_end}",
                       f"アクティベーション {self.term_start}、add_months({self.term_start}, {self.term_months}) − 1日 = "
                       f"{self.term_end}", ordered_on=self.ordered_on, activated_on=self.term_start)

    def give_back(self, today: date) -> None:
        if self.status is KeyStatus.ACTIVE:
            raise RuleViolation("OPEN-ACTIVATION-START", f"product key {self.ref} was activated on {self.term_start}; "
                                                         f"no return is accepted after activation",
                                f"プロダクト キー {self.ref} は {self.term_start} にアクティベーション済みのため返品できません",
                                {"key": self.ref, "activated_on": str(self.term_start)})
        if self.status is KeyStatus.RETURNED:
            raise InvalidInput(f"product key {self.ref} was already returned", f"プロダクト キー {self.ref} は返品済みです",
                               code="KEY-STATUS")
        self.status, self.returned_on = KeyStatus.RETURNED, today


def keys_for(order_ref: str, customer: str, program: OpenProgram, lines: Sequence[OpenLine], today: date
             ) -> list[ProductKey]:
    """One product key per online-service (user SL) line: ``<order>-<line number>``."""
    return [ProductKey(f"{order_ref}-{i}", order_ref, customer, program, line.product, line.quantity,
                       line.term_months, today)
            for i, line in enumerate(lines, start=1) if line.kind is LicenceKind.USER_SL]
