"""Which billing model implements a policy (POLICIES.md §2)."""

from __future__ import annotations

from types import ModuleType

from . import monthly, nce, prepaid
from .policy import BillingModel, Policy

_MODELS: dict[BillingModel, ModuleType] = {
    BillingModel.CHARGE_CYCLE: nce,
    BillingModel.CALENDAR_MONTH: monthly,
    BillingModel.PREPAID: prepaid,
}


def for_policy(policy: Policy) -> ModuleType:
    try:
        return _MODELS[policy.billing_model]
    except KeyError:
        raise NotImplementedError(f"billing model {policy.billing_model.value} is not implemented yet") from None
