"""Contract policies as data (POLICIES.md §1).

A policy is a named, versioned set of parameters. Presets ship as YAML files
(``licensedesk/presets``); a reseller may copy one and change values. The
validator refuses unknown keys and impossible combinations with a message
naming the key. A subscription is bound to the policy's digest when it is
created, so a later edit of a preset changes nothing until the renewal.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from enum import Enum, StrEnum
from functools import cached_property
from typing import Any

from .calendar import Billing, Term
from .errors import PolicyError


class BillingModel(StrEnum):
    """The shape of a preset's billing: which algorithm charges and renews."""

    CHARGE_CYCLE = "charge_cycle"  # mca-nce: cycles anchored on the term start, billed in advance
    CALENDAR_MONTH = "calendar_month"  # monthly-prorated: calendar-month invoices, daily adjustments
    PREPAID = "prepaid"  # annual-prepaid: pay first, renewal invoice a month ahead


class SeatDecrease(StrEnum):
    WITHIN_WINDOW_LIFO = "within_window_lifo"
    ANY_TIME_PRORATED = "any_time_prorated"
    AT_RENEWAL_ONLY = "at_renewal_only"


class SeatIncrease(StrEnum):
    PRORATED_CYCLE = "prorated_cycle"
    PRORATED_TO_MONTH_END = "prorated_to_month_end"
    WHOLE_CYCLES_AFTER_PAYMENT = "whole_cycles_after_payment"


class ReductionDeadline(StrEnum):
    OPTOUT_DEADLINE = "optout_deadline"
    BEFORE_RENEWAL_INVOICE = "before_renewal_invoice"


class BillingChange(StrEnum):
    REFUSED = "refused"
    P3Y_MONTHLY_ANNUAL_NEXT_CYCLE = "p3y_monthly_annual_next_cycle"


@dataclass(frozen=True)
class InvoiceDue:
    """``end_of_next_month`` or ``days_after_issue: N``."""

    end_of_next_month: bool = True
    days_after_issue: int | None = None


@dataclass(frozen=True)
class Trial:
    days: int = 30
    max_seats: int = 25
    converts_to_term: Term = Term.P1Y
    converts_to_billing: Billing = Billing.MONTHLY


@dataclass(frozen=True)
class Reminders:
    """How far ahead the system reminds (decisions, see docs/decisions.md)."""

    optout_days_before: int = 7
    cancel_window_hours_before: int = 24
    payment_days_before_due: int = 3
    data_deletion_days_before: int = 7


@dataclass(frozen=True)
class Policy:
    name: str
    version: int
    billing_model: BillingModel
    terms: tuple[Term, ...]
    billing: Mapping[Term, tuple[Billing, ...]]
    pay_before_start: bool
    activation_sla_business_days: int | None
    invoice_due: InvoiceDue
    auto_renew_default: bool
    auto_renew_default_edu_gov: bool
    auto_renew_optout_days: int | None
    cancel_window_hours: int | None
    full_refund_hours: int | None
    seat_decrease: SeatDecrease
    seat_increase: SeatIncrease
    reduction_deadline: ReductionDeadline | None
    renewal_invoice_lead_months: int | None
    renewal_payment_due_days: int | None
    nonpayment_stops_at_term_end: bool
    min_term_months: int | None
    price_lock_months: int | None  # None = for the whole term
    billing_change_midterm: BillingChange
    coterm: bool
    expired_days: int
    disabled_days: int
    retain_after_cancel_days: int
    trial: Trial | None
    reminders: Reminders = field(default_factory=Reminders)
    description: str = ""
    group_ownership_threshold_percent: int = 51  # ELIG-GROUP: share a parent needs to order for an affiliate
    group_ownership_inclusive: bool = True  # True: ≥ threshold ("51 % or more"); False: > ("over 51 %")

    @cached_property
    def digest(self) -> str:
        """SHA-256 over the canonical parameters: what a subscription is bound to."""
        return hashlib.sha256(json.dumps(self.to_mapping(), sort_keys=True).encode()).hexdigest()

    @property
    def binding(self) -> str:
        """``name@version#digest12`` — a readable, unambiguous reference."""
        return f"{self.name}@{self.version}#{self.digest[:12]}"

    def allows(self, term: Term, billing: Billing) -> bool:
        return term in self.terms and billing in self.billing.get(term, ())

    def to_mapping(self) -> dict[str, Any]:
        """The parameters in the file format: ``Policy.from_mapping(p.to_mapping()) == p``."""
        raw: dict[str, Any] = _jsonable(asdict(self))
        raw["invoice_due"] = ("end_of_next_month" if self.invoice_due.end_of_next_month
                              else {"days_after_issue": self.invoice_due.days_after_issue})
        return raw

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Policy:
        """Build and validate a policy from parsed YAML/JSON; raises ``PolicyError`` naming the key."""
        return _PolicyReader(data).read()


def _jsonable(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(_jsonable(k)): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


_FIELDS = {
    "name", "version", "description", "billing_model", "terms", "billing", "pay_before_start",
    "activation_sla_business_days", "invoice_due", "auto_renew_default", "auto_renew_default_edu_gov",
    "auto_renew_optout_days", "cancel_window_hours", "full_refund_hours", "seat_decrease", "seat_increase",
    "reduction_deadline", "renewal_invoice_lead_months", "renewal_payment_due_days",
    "nonpayment_stops_at_term_end", "min_term_months", "price_lock_months", "billing_change_midterm",
    "coterm", "expired_days", "disabled_days", "retain_after_cancel_days", "trial", "reminders",
    "group_ownership_threshold_percent", "group_ownership_inclusive",
}
_OPTIONAL = {"description", "reminders", "group_ownership_threshold_percent", "group_ownership_inclusive",
             "activation_sla_business_days", "auto_renew_optout_days",
             "cancel_window_hours", "full_refund_hours", "reduction_deadline", "renewal_invoice_lead_months",
             "renewal_payment_due_days", "min_term_months", "price_lock_months", "trial"}


class _PolicyReader:
    def __init__(self, data: Mapping[str, Any]) -> None:
        if not isinstance(data, Mapping):
            raise PolicyError("a policy must be a mapping of parameters", "ポリシーはキーと値の対応表です")
        self.data = data

    def fail(self, key: str, why: str) -> PolicyError:
        return PolicyError(f"policy key '{key}': {why}", f"ポリシーのキー「{key}」: {why}", key=key)

    def get(self, key: str) -> Any:
        if key not in self.data:
            if key in _OPTIONAL:
                return None
            raise self.fail(key, "is required")
        return self.data[key]

    def enum(self, key: str, kind: type[Enum], value: Any = None) -> Any:
        raw = self.get(key) if value is None else value
        try:
            return kind(raw)
        except ValueError:
            allowed = ", ".join(str(m.value) for m in kind)
            raise self.fail(key, f"{raw!r} is not one of {allowed}") from None

    def integer(self, key: str, minimum: int = 0) -> int | None:
        raw = self.get(key)
        if raw is None:
            return None
        if isinstance(raw, bool) or not isinstance(raw, int) or raw < minimum:
            raise self.fail(key, f"must be a whole number ≥ {minimum}, got {raw!r}")
        return raw

    def required_int(self, key: str, minimum: int = 0) -> int:
        value = self.integer(key, minimum)
        if value is None:
            raise self.fail(key, "is required")
        return value

    def boolean(self, key: str) -> bool:
        raw = self.get(key)
        if not isinstance(raw, bool):
            raise self.fail(key, f"must be true or false, got {raw!r}")
        return raw

    def read(self) -> Policy:
        unknown = sorted(set(self.data) - _FIELDS, key=str)
        if unknown:
            raise self.fail(unknown[0], "is not a known policy parameter")
        name = self.get("name")
        if not isinstance(name, str) or not name.strip():
            raise self.fail("name", "must be a non-empty string")
        terms = tuple(self.enum("terms", Term, t) for t in self._list("terms"))
        policy = Policy(
            name=name,
            version=self.required_int("version", 1),
            description=str(self.data.get("description", "")),
            billing_model=self.enum("billing_model", BillingModel),
            terms=terms,
            billing=self._billing(terms),
            pay_before_start=self.boolean("pay_before_start"),
            activation_sla_business_days=self.integer("activation_sla_business_days", 1),
            invoice_due=self._invoice_due(),
            auto_renew_default=self.boolean("auto_renew_default"),
            auto_renew_default_edu_gov=self.boolean("auto_renew_default_edu_gov"),
            auto_renew_optout_days=self.integer("auto_renew_optout_days", 0),
            cancel_window_hours=self.integer("cancel_window_hours", 1),
            full_refund_hours=self.integer("full_refund_hours", 0),
            seat_decrease=self.enum("seat_decrease", SeatDecrease),
            seat_increase=self.enum("seat_increase", SeatIncrease),
            reduction_deadline=(None if self.get("reduction_deadline") is None
                                else self.enum("reduction_deadline", ReductionDeadline)),
            renewal_invoice_lead_months=self.integer("renewal_invoice_lead_months", 0),
            renewal_payment_due_days=self.integer("renewal_payment_due_days", 0),
            nonpayment_stops_at_term_end=self.boolean("nonpayment_stops_at_term_end"),
            min_term_months=self.integer("min_term_months", 1),
            price_lock_months=self.integer("price_lock_months", 1),
            billing_change_midterm=self.enum("billing_change_midterm", BillingChange),
            coterm=self.boolean("coterm"),
            expired_days=self.required_int("expired_days"),
            disabled_days=self.required_int("disabled_days"),
            retain_after_cancel_days=self.required_int("retain_after_cancel_days"),
            trial=self._trial(),
            reminders=self._reminders(),
            **self._group_ownership(),
        )
        self._check_combinations(policy)
        return policy

    def _list(self, key: str) -> list[Any]:
        raw = self.get(key)
        if not isinstance(raw, list) or not raw:
            raise self.fail(key, "must be a non-empty list")
        return raw

    def _billing(self, terms: tuple[Term, ...]) -> dict[Term, tuple[Billing, ...]]:
        raw = self.get("billing")
        if not isinstance(raw, Mapping):
            raise self.fail("billing", "must map each term to a list of billing frequencies")
        out: dict[Term, tuple[Billing, ...]] = {}
        for term_raw, billings in raw.items():
            term = self.enum(f"billing.{term_raw}", Term, term_raw)
            if term not in terms:
                raise self.fail(f"billing.{term_raw}", "names a term that is not in 'terms'")
            if not isinstance(billings, list) or not billings:
                raise self.fail(f"billing.{term_raw}", "must be a non-empty list")
            out[term] = tuple(self.enum(f"billing.{term_raw}", Billing, b) for b in billings)
            if Billing.TRIENNIAL in out[term] and term is not Term.P3Y:
                raise self.fail(f"billing.{term_raw}", "triennial billing exists only for P3Y")
        for term in terms:
            if term not in out:
                raise self.fail("billing", f"gives no billing frequency for term {term.value}")
        return out

    def _invoice_due(self) -> InvoiceDue:
        raw = self.get("invoice_due")
        if raw == "end_of_next_month":
            return InvoiceDue()
        if isinstance(raw, Mapping) and set(raw) == {"days_after_issue"}:
            days = raw["days_after_issue"]
            if isinstance(days, int) and not isinstance(days, bool) and days >= 0:
                return InvoiceDue(end_of_next_month=False, days_after_issue=days)
        raise self.fail("invoice_due", "must be 'end_of_next_month' or {days_after_issue: N}")

    def _trial(self) -> Trial | None:
        raw = self.get("trial")
        if raw is None:
            return None
        if not isinstance(raw, Mapping):
            raise self.fail("trial", "must be a mapping")
        extra = sorted(set(raw) - {"days", "max_seats", "converts_to_term", "converts_to_billing"}, key=str)
        if extra:
            raise self.fail(f"trial.{extra[0]}", "is not a known trial parameter")
        def whole(key: str, default: int) -> int:
            value = raw.get(key, default)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise self.fail(f"trial.{key}", f"must be a whole number ≥ 1, got {value!r}")
            return value

        return Trial(
            days=whole("days", 30),
            max_seats=whole("max_seats", 25),
            converts_to_term=self.enum("trial.converts_to_term", Term, raw.get("converts_to_term", "P1Y")),
            converts_to_billing=self.enum("trial.converts_to_billing", Billing,
                                          raw.get("converts_to_billing", "monthly")),
        )

    def _reminders(self) -> Reminders:
        raw = self.get("reminders") or {}
        if not isinstance(raw, Mapping):
            raise self.fail("reminders", "must be a mapping")
        known = set(Reminders.__dataclass_fields__)
        extra = sorted(set(raw) - known, key=str)
        if extra:
            raise self.fail(f"reminders.{extra[0]}", "is not a known reminder parameter")
        for key, value in raw.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise self.fail(f"reminders.{key}", f"must be a whole number ≥ 0, got {value!r}")
        return Reminders(**raw)

    def _group_ownership(self) -> dict[str, Any]:
        """ELIG-GROUP parameters; absent in policies bound before they existed, so they default to ≥ 51 %."""
        threshold = self.integer("group_ownership_threshold_percent", 1)
        if threshold is not None and threshold > 100:
            raise self.fail("group_ownership_threshold_percent", f"must be a percentage ≤ 100, got {threshold}")
        inclusive = (True if self.get("group_ownership_inclusive") is None
                     else self.boolean("group_ownership_inclusive"))
        return {"group_ownership_threshold_percent": 51 if threshold is None else threshold,
                "group_ownership_inclusive": inclusive}

    def _check_combinations(self, p: Policy) -> None:
        if p.full_refund_hours is not None and p.cancel_window_hours is None:
            raise self.fail("full_refund_hours", "needs cancel_window_hours")
        if (p.full_refund_hours is not None and p.cancel_window_hours is not None
                and p.full_refund_hours > p.cancel_window_hours):
            raise self.fail("full_refund_hours", "cannot exceed cancel_window_hours")
        if p.pay_before_start and p.activation_sla_business_days is None:
            raise self.fail("activation_sla_business_days", "is required when pay_before_start is true")
        if p.seat_decrease is SeatDecrease.WITHIN_WINDOW_LIFO and p.cancel_window_hours is None:
            raise self.fail("seat_decrease", "within_window_lifo needs cancel_window_hours")
        if p.reduction_deadline is ReductionDeadline.OPTOUT_DEADLINE and p.auto_renew_optout_days is None:
            raise self.fail("reduction_deadline", "optout_deadline needs auto_renew_optout_days")
        if (p.reduction_deadline is ReductionDeadline.BEFORE_RENEWAL_INVOICE
                and not p.renewal_invoice_lead_months):
            raise self.fail("reduction_deadline", "before_renewal_invoice needs renewal_invoice_lead_months ≥ 1")
        if p.renewal_payment_due_days is not None and not p.renewal_invoice_lead_months:
            raise self.fail("renewal_payment_due_days", "needs renewal_invoice_lead_months ≥ 1")
        if p.nonpayment_stops_at_term_end and p.renewal_payment_due_days is None:
            raise self.fail("nonpayment_stops_at_term_end", "needs renewal_payment_due_days")
        if p.renewal_invoice_lead_months and p.renewal_payment_due_days is not None:
            lead_days_min = 28 * p.renewal_invoice_lead_months
            if p.renewal_payment_due_days >= lead_days_min:
                raise self.fail("renewal_payment_due_days",
                                "must fall after the renewal invoice is issued (less than the lead)")
        if p.coterm and p.billing_model is not BillingModel.CHARGE_CYCLE:
            raise self.fail("coterm", "is only possible with billing_model charge_cycle")
        if p.billing_model is BillingModel.CALENDAR_MONTH:
            if any(b is not Billing.MONTHLY for bs in p.billing.values() for b in bs):
                raise self.fail("billing", "calendar_month billing bills monthly only")
            if p.auto_renew_optout_days is not None:
                raise self.fail("auto_renew_optout_days",
                                "calendar_month policies renew monthly; cancel instead (leave it empty)")
        if p.billing_model is BillingModel.PREPAID and not p.pay_before_start:
            raise self.fail("pay_before_start", "must be true with billing_model prepaid")
        if p.seat_increase is SeatIncrease.WHOLE_CYCLES_AFTER_PAYMENT and not p.pay_before_start:
            raise self.fail("seat_increase", "whole_cycles_after_payment needs pay_before_start")
        if (p.seat_decrease is SeatDecrease.AT_RENEWAL_ONLY and p.reduction_deadline is None
                and p.auto_renew_optout_days is None):
            raise self.fail("reduction_deadline", "at_renewal_only seat decreases need a reduction deadline")
        if p.trial is not None and not p.allows(p.trial.converts_to_term, p.trial.converts_to_billing):
            raise self.fail("trial.converts_to_term", "the conversion target is not offered by this policy")
