"""Partner Center license-based (new commerce) price list → reseller price list.

Pure: the caller reads the file and hands over its text; nothing here touches
the file system, the clock or the network.

Reading
    * Headers match case-insensitively and ignoring spaces (``ERP Price`` ==
      ``ERPPrice``); a leading UTF-8 BOM is dropped. Unknown columns (Tags,
      PricingTierRangeMin/Max, …) are ignored.
    * Only rows with ``Market`` JP **and** ``Currency`` JPY are kept; other
      rows are counted in ``skipped_market``. Rows whose ``BillingPlan`` is
      ``OneTime`` or ``None`` (perpetual software, trials) are counted in
      ``skipped_unsupported``. Neither is an error.
    * ``TermDuration`` P1M/P1Y/P3Y → :class:`Term`; ``BillingPlan``
      Monthly/Annual/Triennial → :class:`Billing` (names kept literally: P1Y
      Annual is *annual*, not *upfront*). Triennial needs P3Y and Annual needs
      P1Y or P3Y; other pairs do not exist in Partner Center and are refused.
    * Dates: ``2026-11-01``, ``2026-11-01T00:00:00Z`` (the date part is used as
      written) or ``11/1/2026`` (M/D/YYYY, an optional time after a space is
      ignored). Amounts are plain decimals (``1234.56``), read exactly as
      ``Fraction``; never float.
    * ``line`` is the physical line on which a record starts; the header is line 1.

Pricing (:class:`PricingRule`)
    * ``erp``: reseller price = the row's ``ERP Price``.
    * ``cost_plus``: reseller price = ``UnitPrice × (1 + margin / 100)``.
    The reseller price is whole yen, rounded **down** (floor) **once**, after
    the rule is applied to the exact figures; so a customer is never charged a
    fraction of a yen more than the rule says. ``cost`` (UnitPrice) and ``erp``
    are kept exact. Prices are as listed per row; no conversion between
    billing frequencies happens here.

Name
    ``SkuTitle`` when it already contains ``ProductTitle`` (case-insensitive)
    or ``ProductTitle`` is empty; ``ProductTitle`` when ``SkuTitle`` is empty;
    otherwise ``"ProductTitle – SkuTitle"``.

Atomicity
    One bad kept row rejects the whole file: :class:`InvalidInput` with code
    ``PRICELIST-INVALID``, a message naming the first bad line, and
    ``details["errors"]`` (up to 50 of ``{line, column, reason, reason_ja}``).
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from fractions import Fraction
from typing import Any

from licensedesk.domain.calendar import Billing, Term
from licensedesk.domain.errors import InvalidInput
from licensedesk.domain.money import Yen

ERROR_CODE = "PRICELIST-INVALID"
RULE_ERROR_CODE = "PRICELIST-RULE-INVALID"
MAX_REPORTED_ERRORS = 50
DEFAULT_SEGMENT = "Commercial"
MARKET = "JP"
CURRENCY = "JPY"

REQUIRED_COLUMNS = (
    "ProductTitle", "ProductId", "SkuId", "SkuTitle", "TermDuration", "BillingPlan",
    "Market", "Currency", "UnitPrice", "EffectiveStartDate", "EffectiveEndDate",
)
ERP_COLUMN = "ERP Price"
SEGMENT_COLUMN = "Segment"
ROW = "(row)"

_BILLING = {"monthly": Billing.MONTHLY, "annual": Billing.ANNUAL, "triennial": Billing.TRIENNIAL}
_UNSUPPORTED_BILLING = frozenset({"onetime", "none"})
_ALLOWED_BILLING = {
    Term.P1M: frozenset({Billing.MONTHLY}),
    Term.P1Y: frozenset({Billing.MONTHLY, Billing.ANNUAL}),
    Term.P3Y: frozenset({Billing.MONTHLY, Billing.ANNUAL, Billing.TRIENNIAL}),
}
_NUMBER = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?")
_US_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?: .*)?")


class PricingKind(StrEnum):
    ERP = "erp"
    COST_PLUS = "cost_plus"


@dataclass(frozen=True)
class PricingRule:
    """How the reseller's unit price is derived from a price-list row."""

    kind: PricingKind
    margin_percent: Fraction = Fraction(0)

    def __post_init__(self) -> None:
        if self.kind is PricingKind.ERP and self.margin_percent != 0:
            raise InvalidInput("The ERP rule takes no margin.", "ERP ルールにマージンは指定できません。",
                               code=RULE_ERROR_CODE, margin_percent=str(self.margin_percent))
        if self.margin_percent < 0:
            raise InvalidInput("The margin must not be negative.", "マージンに負の値は指定できません。",
                               code=RULE_ERROR_CODE, margin_percent=str(self.margin_percent))

    @classmethod
    def erp(cls) -> PricingRule:
        return cls(PricingKind.ERP)

    @classmethod
    def cost_plus(cls, margin_percent: Fraction | int) -> PricingRule:
        return cls(PricingKind.COST_PLUS, Fraction(margin_percent))

    @property
    def needs_erp(self) -> bool:
        return self.kind is PricingKind.ERP

    def reseller_price(self, cost: Fraction, erp: Fraction | None) -> Yen:
        """Whole-yen reseller unit price, floored once after the rule is applied."""
        if self.kind is PricingKind.ERP:
            if erp is None:
                raise ValueError("the ERP rule needs an ERP price")
            return math.floor(erp)
        return math.floor(cost * (1 + self.margin_percent / 100))


@dataclass(frozen=True)
class PriceListEntry:
    offer_id: str
    product_id: str
    sku_id: str
    name: str
    term: Term
    billing: Billing
    unit_price: Yen
    cost: Fraction
    erp: Fraction | None
    effective_start: date
    effective_end: date
    segment: str
    line: int


@dataclass(frozen=True)
class PriceList:
    entries: tuple[PriceListEntry, ...]
    skipped_market: int = 0
    skipped_unsupported: int = 0


@dataclass(frozen=True)
class _Problem:
    line: int
    column: str
    reason: str
    reason_ja: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "reason": self.reason, "reason_ja": self.reason_ja}


def parse_price_list(text: str, rule: PricingRule) -> PriceList:
    """Parse a Partner Center license-based price list; all kept rows are valid or nothing is returned."""
    records, problems = _read_records(text.removeprefix("\ufeff"))
    if not records:
        _reject([*problems, _Problem(1, "", "the file is empty", "ファイルが空です")])
    header_line, header = records[0]
    columns = _locate_columns(header_line, header, rule)
    entries: list[PriceListEntry] = []
    seen: dict[tuple[str, Term, Billing, str, date], int] = {}
    skipped_market = skipped_unsupported = 0
    for line, fields in records[1:]:
        if len(fields) > len(header) and any(f.strip() for f in fields[len(header):]):
            problems.append(_Problem(line, ROW, f"{len(fields)} fields but the header has {len(header)}",
                                     f"項目数 {len(fields)} がヘッダーの {len(header)} を超えています"))
            continue
        row = _Row(line, {name: fields[i].strip() if i < len(fields) else "" for name, i in columns.items()})
        if not row.is_home_market():
            skipped_market += 1
            continue
        elif row.text("BillingPlan").lower() in _UNSUPPORTED_BILLING:
            skipped_unsupported += 1
            continue
        entry = row.entry(rule)
        if entry is not None:
            _check_duplicate(row, entry, seen)
        problems.extend(row.problems)
        if entry is not None and not row.problems:
            entries.append(entry)
    if problems:
        _reject(problems)
    if not entries:
        _reject([_Problem(header_line, "", f"no {MARKET}/{CURRENCY} rows (skipped {skipped_market} other-market "
                          f"and {skipped_unsupported} unsupported rows)",
                          f"{MARKET}/{CURRENCY} の行がありません (他市場 {skipped_market} 行、"
                          f"非対応 {skipped_unsupported} 行を除外)")])
    return PriceList(tuple(entries), skipped_market, skipped_unsupported)


def _read_records(text: str) -> tuple[list[tuple[int, list[str]]], list[_Problem]]:
    """Non-blank CSV records with the physical line each starts on; a CSV syntax error stops reading."""
    reader = csv.reader(io.StringIO(text, newline=""))
    records: list[tuple[int, list[str]]] = []
    end = 0
    try:
        for fields in reader:
            start, end = end + 1, reader.line_num
            if any(f.strip() for f in fields):
                records.append((start, fields))
    except csv.Error as exc:
        return records, [_Problem(end + 1, ROW, f"unreadable CSV: {exc}", f"CSV として読めません: {exc}")]
    return records, []


def _key(name: str) -> str:
    return "".join(name.replace("\ufeff", "").split()).lower()


def _locate_columns(header_line: int, header: Sequence[str], rule: PricingRule) -> dict[str, int]:
    """Canonical column name → index; refuses when a required column is missing."""
    index: dict[str, int] = {}
    for i, name in enumerate(header):
        index.setdefault(_key(name), i)
    wanted = [*REQUIRED_COLUMNS, ERP_COLUMN, SEGMENT_COLUMN]
    columns = {name: index[_key(name)] for name in wanted if _key(name) in index}
    required = [*REQUIRED_COLUMNS, ERP_COLUMN] if rule.needs_erp else list(REQUIRED_COLUMNS)
    missing = [name for name in required if name not in columns]
    if missing:
        names = ", ".join(missing)
        raise InvalidInput(
            f"Price list rejected: missing column(s) {names}.",
            f"価格表を取り込めません: 列 {names} がありません。",
            code=ERROR_CODE,
            errors=[_Problem(header_line, name, "missing column", "列がありません").as_dict() for name in missing],
        )
    return columns


def _check_duplicate(row: _Row, entry: PriceListEntry,
                     seen: dict[tuple[str, Term, Billing, str, date], int]) -> None:
    key = (entry.offer_id, entry.term, entry.billing, entry.segment, entry.effective_start)
    first = seen.setdefault(key, row.line)
    if first != row.line:
        row.fail(ROW, f"duplicate of line {first} (same offer, term, billing, segment and start date)",
                 f"{first} 行目と重複しています (オファー・期間・請求頻度・セグメント・開始日が同じ)")


def _reject(problems: Sequence[_Problem]) -> None:
    first = problems[0]
    more_en = f" ({len(problems)} errors in total)" if len(problems) > 1 else ""
    more_ja = f" (全 {len(problems)} 件のエラー)" if len(problems) > 1 else ""
    where_en = f"line {first.line}, {first.column}" if first.column else f"line {first.line}"
    where_ja = f"{first.line} 行目 {first.column}" if first.column else f"{first.line} 行目"
    raise InvalidInput(
        f"Price list rejected, nothing imported: {where_en}: {first.reason}{more_en}.",
        f"価格表を取り込めません (何も取り込んでいません): {where_ja}: {first.reason_ja}{more_ja}。",
        code=ERROR_CODE,
        errors=[p.as_dict() for p in problems[:MAX_REPORTED_ERRORS]],
    )


def _entry_name(product_title: str, sku_title: str) -> str:
    if not sku_title:
        return product_title
    if not product_title or product_title.lower() in sku_title.lower():
        return sku_title
    return f"{product_title} – {sku_title}"


@dataclass
class _Row:
    """One record's values by canonical column name, collecting what is wrong with it."""

    line: int
    values: Mapping[str, str]
    problems: list[_Problem] = field(default_factory=list)

    def fail(self, column: str, reason: str, reason_ja: str) -> None:
        self.problems.append(_Problem(self.line, column, reason, reason_ja))

    def text(self, column: str) -> str:
        return self.values.get(column, "")

    def required(self, column: str) -> str:
        value = self.text(column)
        if not value:
            self.fail(column, "missing value", "値がありません")
        return value

    def is_home_market(self) -> bool:
        """False for rows of another market or currency; an empty Market/Currency is reported, not skipped."""
        market, currency = self.text("Market").upper(), self.text("Currency").upper()
        if (market and market != MARKET) or (currency and currency != CURRENCY):
            return False
        self.required("Market")
        self.required("Currency")
        return True

    def amount(self, column: str) -> Fraction | None:
        value = self.required(column)
        if not value:
            return None
        if not _NUMBER.fullmatch(value):
            self.fail(column, f"not a number: {value!r}", f"数値ではありません: {value!r}")
            return None
        number = Fraction(value)
        if number < 0:
            self.fail(column, f"negative price: {value}", f"負の価格です: {value}")
            return None
        return number

    def day(self, column: str) -> date | None:
        value = self.required(column)
        if not value:
            return None
        iso, us = _ISO_DATE.fullmatch(value), _US_DATE.fullmatch(value)
        try:
            if iso:
                return date(int(iso[1]), int(iso[2]), int(iso[3]))
            if us:
                return date(int(us[3]), int(us[1]), int(us[2]))
        except ValueError:
            pass
        self.fail(column, f"not a date: {value!r}", f"日付ではありません: {value!r}")
        return None

    def term_and_billing(self) -> tuple[Term, Billing] | None:
        raw_term, raw_billing = self.required("TermDuration"), self.required("BillingPlan")
        term = Term.__members__.get(raw_term.upper()) if raw_term else None
        billing = _BILLING.get(raw_billing.lower()) if raw_billing else None
        if raw_term and term is None:
            self.fail("TermDuration", f"unknown term: {raw_term!r}", f"不明な期間です: {raw_term!r}")
        if raw_billing and billing is None:
            self.fail("BillingPlan", f"unknown billing plan: {raw_billing!r}", f"不明な請求頻度です: {raw_billing!r}")
        if term is None or billing is None:
            return None
        if billing not in _ALLOWED_BILLING[term]:
            self.fail("BillingPlan", f"{raw_billing} billing is not offered for {term}",
                      f"{term} に {raw_billing} の請求頻度はありません")
            return None
        return term, billing

    def entry(self, rule: PricingRule) -> PriceListEntry | None:
        product_title = self.required("ProductTitle")
        product_id, sku_id = self.required("ProductId"), self.required("SkuId")
        plan = self.term_and_billing()
        cost = self.amount("UnitPrice")
        erp = self.amount(ERP_COLUMN) if rule.needs_erp or self.text(ERP_COLUMN) else None
        start, end = self.day("EffectiveStartDate"), self.day("EffectiveEndDate")
        if start is not None and end is not None and end < start:
            self.fail("EffectiveEndDate", f"ends ({end}) before it starts ({start})",
                      f"終了日 ({end}) が開始日 ({start}) より前です")
        if self.problems or plan is None or cost is None or start is None or end is None:
            return None
        return PriceListEntry(
            offer_id=f"{product_id}:{sku_id}", product_id=product_id, sku_id=sku_id,
            name=_entry_name(product_title, self.text("SkuTitle")), term=plan[0], billing=plan[1],
            unit_price=rule.reseller_price(cost, erp), cost=cost, erp=erp,
            effective_start=start, effective_end=end,
            segment=self.text(SEGMENT_COLUMN) or DEFAULT_SEGMENT, line=self.line,
        )
