"""Purchase orders under an EES / School enrollment, and who may place them around a COCP (COCP-ORDERS).

The first order keeps the enrollment alive (VL-TERMINATE-NO-ORDER). After a change of channel
partner the new partner may order with usage dates before the COCP's effective date, and the
customer may instead ask the previous partner for those earlier usage dates; so an order with usage
date *u* may come from the reseller of record on *u* or from the current one. Online products left
on the old partner's purchase orders stop auto-renewing when the COCP takes effect.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from .enrollment import Enrollment
from .errors import InvalidInput, RuleViolation
from .subscription import When


@dataclass
class VlOrder:
    po: str
    enrollment: str
    reseller: str
    distributor: str | None
    product: str
    online: bool
    quantity: int
    usage_date: date
    ordered_on: date
    auto_renew: bool
    auto_renew_rule: str | None = None


def place(enrollment: Enrollment, when: When, *, po: str, product: str, online: bool, quantity: int,
          usage_date: date | None, reseller: str | None, auto_renew: bool | None) -> VlOrder:
    """An order under ``enrollment``; records the first order date (VL-TERMINATE-NO-ORDER)."""
    enrollment.require_active("order")
    usage = usage_date or when.today
    if not enrollment.effective <= usage <= enrollment.end_date:
        raise InvalidInput(f"usage date {usage} is outside enrollment {enrollment.ref} "
                           f"({enrollment.effective} … {enrollment.end_date})",
                           f"使用日 {usage} は登録 {enrollment.ref} の期間（{enrollment.effective} … "
                           f"{enrollment.end_date}）外です", code="VL-USAGE-DATE", usage_date=usage.isoformat())
    if quantity < 1:
        raise InvalidInput("quantity must be at least 1", "数量は 1 以上を指定してください", code="INVALID-QUANTITY")
    of_record = enrollment.partners_on(usage)
    allowed = {of_record.reseller, enrollment.partners.reseller}
    by = reseller or enrollment.partners.reseller
    if by not in allowed:
        raise RuleViolation("COCP-ORDERS", f"{by} is not the reseller of record of {enrollment.ref} for usage date "
                                           f"{usage} (allowed: {', '.join(sorted(allowed))})",
                            f"{by} は使用日 {usage} における {enrollment.ref} の記録上のリセラーではありません"
                            f"（可能: {', '.join(sorted(allowed))}）",
                            {"enrollment": enrollment.ref, "reseller": by, "usage_date": usage.isoformat(),
                             "allowed": sorted(allowed)})
    enrollment.record_order(when)
    through = of_record if by == of_record.reseller else enrollment.partners  # the distributor of that chain
    return VlOrder(po=po, enrollment=enrollment.ref, reseller=by, distributor=through.distributor, product=product,
                   online=online, quantity=quantity, usage_date=usage, ordered_on=when.today,
                   auto_renew=online if auto_renew is None else auto_renew and online)
