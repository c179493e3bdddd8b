"""Unit tests for licensedesk.domain.policy and the preset loader (POLICIES.md §1)."""

from __future__ import annotations

import copy
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from licensedesk.domain.calendar import Billing, Term
from licensedesk.domain.errors import PolicyError
from licensedesk.domain.policy import (
    BillingChange,
    BillingModel,
    InvoiceDue,
    Policy,
    ReductionDeadline,
    SeatDecrease,
    SeatIncrease,
    Trial,
)
from licensedesk.presets import PRESET_NAMES, load_policy_file, preset, sample_catalog

MCA = "mca-nce"
MONTHLY = "monthly-prorated"
PREPAID = "annual-prepaid"


class _Drop:
    def __repr__(self) -> str:
        return "DROP"


DROP: Any = _Drop()
"""Sentinel: remove the key from the mapping."""


def raw_preset(name: str) -> dict[str, Any]:
    """The preset's YAML as parsed data (a fresh deep copy)."""
    text = resources.files("licensedesk.presets").joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    assert isinstance(data, dict)
    return copy.deepcopy(data)


def variant(preset_name: str, /, **changes: Any) -> dict[str, Any]:
    data = raw_preset(preset_name)
    for key, value in changes.items():
        if value is DROP:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def refused(data: Any) -> PolicyError:
    with pytest.raises(PolicyError) as info:
        Policy.from_mapping(data)
    return info.value


def assert_names_key(err: PolicyError, key: str) -> None:
    assert err.code == "POLICY-INVALID"
    assert f"'{key}'" in str(err), str(err)
    assert f"「{key}」" in err.message("ja"), err.message("ja")
    assert err.details.get("key") == key


# ---------------------------------------------------------------------------
# Presets load and match POLICIES.md §1
# ---------------------------------------------------------------------------


def test_preset_names() -> None:
    assert set(PRESET_NAMES) == {MCA, MONTHLY, PREPAID}


@pytest.mark.parametrize("name", [MCA, MONTHLY, PREPAID])
def test_preset_loads_and_is_named_after_itself(name: str) -> None:
    p = preset(name)
    assert isinstance(p, Policy)
    assert p.name == name
    assert p.version >= 1
    assert p.description


def test_unknown_preset_is_refused() -> None:
    with pytest.raises(PolicyError) as info:
        preset("nce")
    assert info.value.details.get("key") == "policy"
    assert "nce" in str(info.value)


SPEC_VALUES: list[tuple[str, str, Any]] = [
    # billing model (the algorithm that fits the column)
    (MCA, "billing_model", BillingModel.CHARGE_CYCLE),
    (MONTHLY, "billing_model", BillingModel.CALENDAR_MONTH),
    (PREPAID, "billing_model", BillingModel.PREPAID),
    # terms
    (MCA, "terms", (Term.P1M, Term.P1Y, Term.P3Y)),
    (MONTHLY, "terms", (Term.P1Y,)),
    (PREPAID, "terms", (Term.P1Y,)),
    # billing
    (MONTHLY, "billing", {Term.P1Y: (Billing.MONTHLY,)}),
    (PREPAID, "billing", {Term.P1Y: (Billing.ANNUAL, Billing.UPFRONT)}),
    # pay_before_start (ORD-PAY-FIRST)
    (MCA, "pay_before_start", False),
    (MONTHLY, "pay_before_start", False),
    (PREPAID, "pay_before_start", True),
    # activation_sla_business_days (ORD-FLOW)
    (MCA, "activation_sla_business_days", None),
    (MONTHLY, "activation_sla_business_days", None),
    (PREPAID, "activation_sla_business_days", 3),
    # invoice_due
    (MCA, "invoice_due", InvoiceDue(end_of_next_month=True, days_after_issue=None)),
    (MONTHLY, "invoice_due", InvoiceDue(end_of_next_month=True, days_after_issue=None)),
    (PREPAID, "invoice_due", InvoiceDue(end_of_next_month=False, days_after_issue=14)),
    # auto_renew_default
    (MCA, "auto_renew_default", True),
    (MONTHLY, "auto_renew_default", True),
    (PREPAID, "auto_renew_default", True),
    # auto_renew_default_edu_gov (TERM-RENEW-EDU-GOV): off everywhere
    (MCA, "auto_renew_default_edu_gov", False),
    (MONTHLY, "auto_renew_default_edu_gov", False),
    (PREPAID, "auto_renew_default_edu_gov", False),
    # auto_renew_optout_days (TERM-RENEW-OPTOUT-30D)
    (MCA, "auto_renew_optout_days", 30),
    (MONTHLY, "auto_renew_optout_days", None),
    (PREPAID, "auto_renew_optout_days", None),
    # cancel_window_hours (NCE-CANCEL-168H)
    (MCA, "cancel_window_hours", 168),
    (MONTHLY, "cancel_window_hours", None),
    (PREPAID, "cancel_window_hours", None),
    # full_refund_hours
    (MCA, "full_refund_hours", 24),
    (MONTHLY, "full_refund_hours", None),
    (PREPAID, "full_refund_hours", None),
    # seat_decrease
    (MCA, "seat_decrease", SeatDecrease.WITHIN_WINDOW_LIFO),
    (MONTHLY, "seat_decrease", SeatDecrease.ANY_TIME_PRORATED),
    (PREPAID, "seat_decrease", SeatDecrease.AT_RENEWAL_ONLY),
    # seat_increase
    (MCA, "seat_increase", SeatIncrease.PRORATED_CYCLE),
    (MONTHLY, "seat_increase", SeatIncrease.PRORATED_TO_MONTH_END),
    (PREPAID, "seat_increase", SeatIncrease.WHOLE_CYCLES_AFTER_PAYMENT),
    # reduction_deadline (TERM-REDUCE-1M)
    (MCA, "reduction_deadline", ReductionDeadline.OPTOUT_DEADLINE),
    (MONTHLY, "reduction_deadline", None),
    (PREPAID, "reduction_deadline", ReductionDeadline.BEFORE_RENEWAL_INVOICE),
    # renewal_invoice_lead (BILL-RENEWAL-INVOICE): at renewal / none / 1 month
    (MCA, "renewal_invoice_lead_months", 0),
    (MONTHLY, "renewal_invoice_lead_months", None),
    (PREPAID, "renewal_invoice_lead_months", 1),
    # renewal_payment_due: 14 days for annual-prepaid only
    (MCA, "renewal_payment_due_days", None),
    (MONTHLY, "renewal_payment_due_days", None),
    (PREPAID, "renewal_payment_due_days", 14),
    # nonpayment (BILL-NONPAY-STOP)
    (MCA, "nonpayment_stops_at_term_end", False),
    (MONTHLY, "nonpayment_stops_at_term_end", False),
    (PREPAID, "nonpayment_stops_at_term_end", True),
    # min_term (TERM-MIN-1Y)
    (MCA, "min_term_months", None),
    (MONTHLY, "min_term_months", 12),
    (PREPAID, "min_term_months", None),
    # price_lock (PRICE-LOCK-12M); None = for the term
    (MCA, "price_lock_months", None),
    (MONTHLY, "price_lock_months", 12),
    (PREPAID, "price_lock_months", 12),
    # billing_change_midterm (TERM-NO-FREQ-CHANGE)
    (MCA, "billing_change_midterm", BillingChange.P3Y_MONTHLY_ANNUAL_NEXT_CYCLE),
    (MONTHLY, "billing_change_midterm", BillingChange.REFUSED),
    (PREPAID, "billing_change_midterm", BillingChange.REFUSED),
    # coterm (COTERM): mca-nce only
    (MCA, "coterm", True),
    (MONTHLY, "coterm", False),
    (PREPAID, "coterm", False),
    # expired_days (LIFE-EXPIRED-30D)
    (MCA, "expired_days", 30),
    (MONTHLY, "expired_days", 30),
    (PREPAID, "expired_days", 30),
    # disabled_days
    (MCA, "disabled_days", 90),
    (MONTHLY, "disabled_days", 90),
    (PREPAID, "disabled_days", 90),
    # retain_after_cancel_days (LIFE-RETAIN-60D)
    (MCA, "retain_after_cancel_days", 7),
    (MONTHLY, "retain_after_cancel_days", 60),
    (PREPAID, "retain_after_cancel_days", 60),
]


@pytest.mark.parametrize(("name", "attr", "expected"), SPEC_VALUES, ids=lambda v: str(v))
def test_preset_matches_policies_md_section_1(name: str, attr: str, expected: Any) -> None:
    assert getattr(preset(name), attr) == expected


def test_mca_nce_billing_triennial_only_for_p3y() -> None:
    # "monthly, annual, triennial (P3Y only)"
    billing = preset(MCA).billing
    assert set(billing) == {Term.P1M, Term.P1Y, Term.P3Y}
    assert Billing.TRIENNIAL in billing[Term.P3Y]
    assert Billing.TRIENNIAL not in billing[Term.P1Y]
    assert Billing.TRIENNIAL not in billing[Term.P1M]
    assert all(Billing.MONTHLY in bs for bs in billing.values())
    assert Billing.ANNUAL in billing[Term.P1Y]
    assert Billing.ANNUAL in billing[Term.P3Y]
    assert all(Billing.UPFRONT not in bs for bs in billing.values())


@pytest.mark.parametrize("name", [MCA, MONTHLY, PREPAID])
def test_every_preset_has_a_30_day_trial(name: str) -> None:
    trial = preset(name).trial
    assert trial is not None
    assert trial.days == 30


def test_mca_nce_trial_is_25_seats_converting_to_p1y_monthly() -> None:
    assert preset(MCA).trial == Trial(
        days=30, max_seats=25, converts_to_term=Term.P1Y, converts_to_billing=Billing.MONTHLY
    )


@pytest.mark.parametrize("name", [MCA, MONTHLY, PREPAID])
def test_trial_conversion_target_is_offered(name: str) -> None:
    p = preset(name)
    assert p.trial is not None
    assert p.allows(p.trial.converts_to_term, p.trial.converts_to_billing)


@pytest.mark.parametrize(
    ("name", "term", "billing", "allowed"),
    [
        (MCA, Term.P1M, Billing.MONTHLY, True),
        (MCA, Term.P1M, Billing.ANNUAL, False),
        (MCA, Term.P1Y, Billing.MONTHLY, True),
        (MCA, Term.P1Y, Billing.ANNUAL, True),
        (MCA, Term.P1Y, Billing.TRIENNIAL, False),
        (MCA, Term.P3Y, Billing.MONTHLY, True),
        (MCA, Term.P3Y, Billing.ANNUAL, True),
        (MCA, Term.P3Y, Billing.TRIENNIAL, True),
        (MONTHLY, Term.P1Y, Billing.MONTHLY, True),
        (MONTHLY, Term.P1Y, Billing.ANNUAL, False),
        (MONTHLY, Term.P1M, Billing.MONTHLY, False),
        (PREPAID, Term.P1Y, Billing.ANNUAL, True),
        (PREPAID, Term.P1Y, Billing.UPFRONT, True),
        (PREPAID, Term.P1Y, Billing.MONTHLY, False),
        (PREPAID, Term.P3Y, Billing.ANNUAL, False),
    ],
)
def test_allows(name: str, term: Term, billing: Billing, allowed: bool) -> None:
    assert preset(name).allows(term, billing) is allowed


@pytest.mark.parametrize("name", [MCA, MONTHLY, PREPAID])
def test_preset_yaml_and_preset_loader_agree(name: str) -> None:
    assert Policy.from_mapping(raw_preset(name)) == preset(name)


def test_sample_catalog_reads_as_the_pure_python_loader_reads_it() -> None:
    # the shipped files are read with libyaml when present; the result must not depend on it
    text = resources.files("licensedesk.presets").joinpath("catalog.yaml").read_text(encoding="utf-8")
    assert sample_catalog() == yaml.load(text, Loader=yaml.SafeLoader)


def test_load_policy_file(tmp_path: Path) -> None:
    # given a reseller's copy of a preset with one value changed
    data = variant(MONTHLY, name="acme-monthly", retain_after_cancel_days=90)
    path = tmp_path / "acme.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    # when it is loaded
    p = load_policy_file(path)
    # then it is validated and carries the change
    assert p.name == "acme-monthly"
    assert p.retain_after_cancel_days == 90
    assert p.min_term_months == 12


def test_load_policy_file_refuses_invalid_yaml(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(PolicyError):
        load_policy_file(path)


def test_load_policy_file_refuses_unknown_key(tmp_path: Path) -> None:
    path = tmp_path / "typo.yaml"
    path.write_text(yaml.safe_dump(variant(MCA, cancel_window_hour=168)), encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        load_policy_file(path)
    assert_names_key(info.value, "cancel_window_hour")


# ---------------------------------------------------------------------------
# Digest and binding
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", [MCA, MONTHLY, PREPAID])
def test_digest_is_stable(name: str) -> None:
    # given the same parameters loaded twice, then the digest is the same sha-256 hex
    a = Policy.from_mapping(raw_preset(name))
    b = Policy.from_mapping(raw_preset(name))
    assert a.digest == b.digest == preset(name).digest
    assert len(a.digest) == 64
    assert all(c in "0123456789abcdef" for c in a.digest)


@pytest.mark.parametrize("name", [MCA, MONTHLY, PREPAID])
def test_digest_does_not_depend_on_key_order(name: str) -> None:
    data = raw_preset(name)
    reordered = dict(reversed(list(data.items())))
    assert Policy.from_mapping(reordered).digest == Policy.from_mapping(data).digest


def test_presets_have_distinct_digests() -> None:
    assert len({preset(n).digest for n in PRESET_NAMES}) == 3


@pytest.mark.parametrize(
    ("name", "changes"),
    [
        (MCA, {"cancel_window_hours": 169}),
        (MCA, {"full_refund_hours": 23}),
        (MCA, {"retain_after_cancel_days": 8}),
        (MCA, {"auto_renew_optout_days": 31}),
        (MCA, {"expired_days": 31}),
        (MCA, {"disabled_days": 91}),
        (MCA, {"version": 2}),
        (MCA, {"name": "mca-nce-custom"}),
        (MCA, {"description": "changed"}),
        (MCA, {"auto_renew_default": False}),
        (
            MCA,
            {
                "terms": ["P1Y", "P3Y"],
                "billing": {"P1Y": ["monthly", "annual"], "P3Y": ["monthly", "annual", "triennial"]},
            },
        ),
        (MCA, {"billing": {"P1M": ["monthly"], "P1Y": ["monthly"], "P3Y": ["monthly", "annual", "triennial"]}}),
        (MCA, {"trial": {"days": 30, "max_seats": 10, "converts_to_term": "P1Y", "converts_to_billing": "monthly"}}),
        (MCA, {"reminders": {"optout_days_before": 14}}),
        (MCA, {"price_lock_months": 12}),
        (MCA, {"trial": DROP}),
        (MONTHLY, {"retain_after_cancel_days": 30}),
        (MONTHLY, {"min_term_months": 6}),
        (MONTHLY, {"invoice_due": {"days_after_issue": 30}}),
        (PREPAID, {"renewal_payment_due_days": 7}),
        (PREPAID, {"activation_sla_business_days": 5}),
        (PREPAID, {"invoice_due": {"days_after_issue": 15}}),
        (PREPAID, {"renewal_invoice_lead_months": 2}),
    ],
)
def test_digest_changes_when_a_value_changes(name: str, changes: dict[str, Any]) -> None:
    # given a preset, when one value changes, then the digest changes
    before = Policy.from_mapping(raw_preset(name)).digest
    after = Policy.from_mapping(variant(name, **changes)).digest
    assert after != before


@pytest.mark.parametrize("name", [MCA, MONTHLY, PREPAID])
def test_binding(name: str) -> None:
    p = preset(name)
    assert p.binding == f"{name}@{p.version}#{p.digest[:12]}"


# ---------------------------------------------------------------------------
# Unknown keys
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "key"),
    [
        (MCA, "cancel_window_hour"),  # a typo
        (MCA, "foo"),
        (MONTHLY, "minimum_term"),
        (PREPAID, "renewal_invoice_lead"),  # the spec's name, not the file's
        (PREPAID, "Auto_renew_default"),
    ],
)
def test_unknown_top_level_key_is_refused_and_named(name: str, key: str) -> None:
    err = refused(variant(name, **{key: 1}))
    assert_names_key(err, key)
    assert "not a known" in str(err)


def test_several_unknown_keys_name_one_of_them() -> None:
    err = refused(variant(MCA, zzz=1, aaa=2))
    assert err.details.get("key") in {"zzz", "aaa"}
    assert f"'{err.details['key']}'" in str(err)


def test_unknown_keys_of_mixed_types_are_refused_cleanly() -> None:
    # YAML allows non-string keys (e.g. "1: x"); the validator must still answer with a PolicyError
    data: dict[Any, Any] = raw_preset(MCA)
    data[1] = "x"
    data["zzz"] = 2
    err = refused(data)
    assert err.details.get("key") in {1, "1", "zzz"}


@pytest.mark.parametrize(
    ("name", "field", "value", "key"),
    [
        (MCA, "trial", {"days": 30, "seats": 25}, "trial.seats"),
        (MCA, "trial", {"dayz": 30}, "trial.dayz"),
        (MCA, "reminders", {"optout_days": 7}, "reminders.optout_days"),
        (MONTHLY, "reminders", {"foo": 1}, "reminders.foo"),
    ],
)
def test_unknown_nested_key_is_refused_and_named(name: str, field: str, value: Any, key: str) -> None:
    assert_names_key(refused(variant(name, **{field: value})), key)


# ---------------------------------------------------------------------------
# Impossible combinations: every branch of _check_combinations
# ---------------------------------------------------------------------------

COMBINATIONS: list[tuple[str, str, dict[str, Any], str, str]] = [
    # full refund window without a cancel window
    (
        "full_refund_without_cancel_window",
        MONTHLY,
        {"full_refund_hours": 24},
        "full_refund_hours",
        "needs cancel_window_hours",
    ),
    (
        "full_refund_without_cancel_window_mca",
        MCA,
        {"cancel_window_hours": DROP, "seat_decrease": "any_time_prorated"},
        "full_refund_hours",
        "needs cancel_window_hours",
    ),
    # full refund longer than the cancel window
    ("full_refund_exceeds_cancel_window", MCA, {"full_refund_hours": 169}, "full_refund_hours", "cannot exceed"),
    ("full_refund_exceeds_short_cancel_window", MCA, {"cancel_window_hours": 12}, "full_refund_hours", "cannot exceed"),
    # pay first without an activation deadline
    (
        "pay_first_without_activation_sla",
        PREPAID,
        {"activation_sla_business_days": DROP},
        "activation_sla_business_days",
        "pay_before_start",
    ),
    (
        "pay_first_with_null_activation_sla",
        PREPAID,
        {"activation_sla_business_days": None},
        "activation_sla_business_days",
        "pay_before_start",
    ),
    # LIFO seat decrease inside a window that does not exist
    (
        "lifo_without_cancel_window",
        MCA,
        {"cancel_window_hours": DROP, "full_refund_hours": DROP},
        "seat_decrease",
        "within_window_lifo",
    ),
    ("lifo_on_calendar_month", MONTHLY, {"seat_decrease": "within_window_lifo"}, "seat_decrease", "within_window_lifo"),
    # reduction deadline = opt-out deadline without an opt-out
    ("optout_deadline_without_optout", MCA, {"auto_renew_optout_days": DROP}, "reduction_deadline", "optout_deadline"),
    (
        "optout_deadline_on_prepaid",
        PREPAID,
        {"reduction_deadline": "optout_deadline"},
        "reduction_deadline",
        "optout_deadline",
    ),
    # reduction deadline before a renewal invoice that is never issued ahead
    (
        "before_renewal_invoice_with_zero_lead",
        PREPAID,
        {"renewal_invoice_lead_months": 0},
        "reduction_deadline",
        "before_renewal_invoice",
    ),
    (
        "before_renewal_invoice_without_lead",
        PREPAID,
        {"renewal_invoice_lead_months": DROP},
        "reduction_deadline",
        "before_renewal_invoice",
    ),
    (
        "before_renewal_invoice_on_mca",
        MCA,
        {"reduction_deadline": "before_renewal_invoice"},
        "reduction_deadline",
        "before_renewal_invoice",
    ),
    # renewal payment due without a renewal invoice lead
    (
        "payment_due_with_zero_lead",
        MCA,
        {"renewal_payment_due_days": 14},
        "renewal_payment_due_days",
        "needs renewal_invoice_lead_months",
    ),
    (
        "payment_due_without_lead",
        MONTHLY,
        {"renewal_payment_due_days": 14},
        "renewal_payment_due_days",
        "needs renewal_invoice_lead_months",
    ),
    (
        "payment_due_without_lead_prepaid",
        PREPAID,
        {"renewal_invoice_lead_months": DROP, "reduction_deadline": DROP, "seat_decrease": "any_time_prorated"},
        "renewal_payment_due_days",
        "needs renewal_invoice_lead_months",
    ),
    # stop on non-payment without a payment due date
    (
        "nonpayment_without_due",
        PREPAID,
        {"renewal_payment_due_days": DROP},
        "nonpayment_stops_at_term_end",
        "renewal_payment_due_days",
    ),
    (
        "nonpayment_on_mca",
        MCA,
        {"nonpayment_stops_at_term_end": True},
        "nonpayment_stops_at_term_end",
        "renewal_payment_due_days",
    ),
    # payment due not after the renewal invoice (due ≥ 28 × lead months)
    (
        "payment_due_equals_min_lead",
        PREPAID,
        {"renewal_payment_due_days": 28},
        "renewal_payment_due_days",
        "less than the lead",
    ),
    (
        "payment_due_exceeds_lead",
        PREPAID,
        {"renewal_payment_due_days": 45},
        "renewal_payment_due_days",
        "less than the lead",
    ),
    (
        "payment_due_exceeds_two_month_lead",
        PREPAID,
        {"renewal_invoice_lead_months": 2, "renewal_payment_due_days": 56},
        "renewal_payment_due_days",
        "less than the lead",
    ),
    # coterm only with charge cycles
    ("coterm_calendar_month", MONTHLY, {"coterm": True}, "coterm", "charge_cycle"),
    ("coterm_prepaid", PREPAID, {"coterm": True}, "coterm", "charge_cycle"),
    # calendar_month bills monthly only
    ("calendar_month_annual", MONTHLY, {"billing": {"P1Y": ["monthly", "annual"]}}, "billing", "monthly only"),
    ("calendar_month_upfront", MONTHLY, {"billing": {"P1Y": ["upfront"]}}, "billing", "monthly only"),
    # calendar_month has no opt-out
    ("calendar_month_optout", MONTHLY, {"auto_renew_optout_days": 30}, "auto_renew_optout_days", "renew monthly"),
    ("calendar_month_optout_zero", MONTHLY, {"auto_renew_optout_days": 0}, "auto_renew_optout_days", "renew monthly"),
    # prepaid needs pay-before-start
    ("prepaid_without_pay_first", PREPAID, {"pay_before_start": False}, "pay_before_start", "prepaid"),
    # whole cycles after payment needs pay-before-start
    (
        "whole_cycles_without_pay_first",
        MCA,
        {"seat_increase": "whole_cycles_after_payment"},
        "seat_increase",
        "whole_cycles_after_payment",
    ),
    (
        "whole_cycles_on_calendar_month",
        MONTHLY,
        {"seat_increase": "whole_cycles_after_payment"},
        "seat_increase",
        "whole_cycles_after_payment",
    ),
    # decreases at renewal only, but no deadline to request them by
    (
        "at_renewal_only_without_deadline",
        PREPAID,
        {"reduction_deadline": DROP},
        "reduction_deadline",
        "at_renewal_only",
    ),
    (
        "at_renewal_only_on_calendar_month",
        MONTHLY,
        {"seat_decrease": "at_renewal_only"},
        "reduction_deadline",
        "at_renewal_only",
    ),
    # trial conversion to something the policy does not offer
    (
        "trial_converts_to_upfront_on_mca",
        MCA,
        {"trial": {"converts_to_term": "P1Y", "converts_to_billing": "upfront"}},
        "trial.converts_to_term",
        "not offered",
    ),
    (
        "trial_converts_to_p1y_triennial",
        MCA,
        {"trial": {"converts_to_term": "P1Y", "converts_to_billing": "triennial"}},
        "trial.converts_to_term",
        "not offered",
    ),
    (
        "trial_converts_to_monthly_on_prepaid",
        PREPAID,
        {"trial": {"converts_to_term": "P1Y", "converts_to_billing": "monthly"}},
        "trial.converts_to_term",
        "not offered",
    ),
    (
        "trial_converts_to_p1m_on_monthly",
        MONTHLY,
        {"trial": {"converts_to_term": "P1M", "converts_to_billing": "monthly"}},
        "trial.converts_to_term",
        "not offered",
    ),
    ("trial_defaults_not_offered", PREPAID, {"trial": {}}, "trial.converts_to_term", "not offered"),
]


@pytest.mark.parametrize(("case", "name", "changes", "key", "why"), COMBINATIONS, ids=[c[0] for c in COMBINATIONS])
def test_impossible_combination_is_refused_naming_the_key(
    case: str, name: str, changes: dict[str, Any], key: str, why: str
) -> None:
    # given a preset with an impossible combination, when validated,
    # then PolicyError names the key (and `why` pins which rule of _check_combinations fired)
    err = refused(variant(name, **changes))
    assert_names_key(err, key)
    assert why in str(err)


POSSIBLE: list[tuple[str, str, dict[str, Any]]] = [
    # boundaries and close neighbours of the refused combinations are accepted
    ("full_refund_equals_cancel_window", MCA, {"full_refund_hours": 168}),
    ("full_refund_zero", MCA, {"full_refund_hours": 0}),
    ("no_full_refund", MCA, {"full_refund_hours": DROP}),
    ("payment_due_just_below_lead", PREPAID, {"renewal_payment_due_days": 27}),
    ("payment_due_zero", PREPAID, {"renewal_payment_due_days": 0}),
    ("payment_due_below_two_month_lead", PREPAID, {"renewal_invoice_lead_months": 2, "renewal_payment_due_days": 55}),
    ("at_renewal_only_with_optout_only", MCA, {"seat_decrease": "at_renewal_only", "reduction_deadline": DROP}),
    ("mca_without_reduction_deadline", MCA, {"reduction_deadline": DROP}),
    ("no_trial", MCA, {"trial": DROP}),
    ("null_trial", PREPAID, {"trial": None}),
    ("mca_trial_defaults", MCA, {"trial": {}}),
    ("pay_first_on_charge_cycle", MCA, {"pay_before_start": True, "activation_sla_business_days": 2}),
    ("calendar_month_min_term_dropped", MONTHLY, {"min_term_months": DROP}),
    ("no_reminders", MCA, {"reminders": DROP}),
    ("null_reminders", MCA, {"reminders": None}),
    ("empty_reminders", MCA, {"reminders": {}}),
    ("no_description", MCA, {"description": DROP}),
]


@pytest.mark.parametrize(("case", "name", "changes"), POSSIBLE, ids=[c[0] for c in POSSIBLE])
def test_possible_combination_is_accepted(case: str, name: str, changes: dict[str, Any]) -> None:
    assert isinstance(Policy.from_mapping(variant(name, **changes)), Policy)


# ---------------------------------------------------------------------------
# Wrong types, missing and out-of-range values
# ---------------------------------------------------------------------------

WRONG_VALUES: list[tuple[str, str, Any, str]] = [
    # name / version
    (MCA, "name", 5, "name"),
    (MCA, "name", "", "name"),
    (MCA, "name", "   ", "name"),
    (MCA, "name", DROP, "name"),
    (MCA, "version", "1", "version"),
    (MCA, "version", 0, "version"),
    (MCA, "version", True, "version"),
    (MCA, "version", 1.5, "version"),
    (MCA, "version", DROP, "version"),
    # enums
    (MCA, "billing_model", "weekly", "billing_model"),
    (MCA, "billing_model", ["charge_cycle"], "billing_model"),
    (MCA, "billing_model", DROP, "billing_model"),
    (MCA, "seat_decrease", "sometimes", "seat_decrease"),
    (MCA, "seat_decrease", None, "seat_decrease"),
    (MCA, "seat_increase", 1, "seat_increase"),
    (MCA, "reduction_deadline", "tomorrow", "reduction_deadline"),
    (MCA, "billing_change_midterm", True, "billing_change_midterm"),
    # terms
    (MCA, "terms", "P1M", "terms"),
    (MCA, "terms", [], "terms"),
    (MCA, "terms", None, "terms"),
    (MCA, "terms", ["P2Y"], "terms"),
    (MCA, "terms", [12], "terms"),
    # billing
    (MCA, "billing", None, "billing"),
    (MCA, "billing", ["monthly"], "billing"),
    (MCA, "billing", {"P1M": "monthly", "P1Y": ["monthly"], "P3Y": ["monthly"]}, "billing.P1M"),
    (MCA, "billing", {"P1M": [], "P1Y": ["monthly"], "P3Y": ["monthly"]}, "billing.P1M"),
    (MCA, "billing", {"P1M": ["weekly"], "P1Y": ["monthly"], "P3Y": ["monthly"]}, "billing.P1M"),
    (MCA, "billing", {"P2Y": ["monthly"], "P1M": ["monthly"], "P1Y": ["monthly"], "P3Y": ["monthly"]}, "billing.P2Y"),
    (MCA, "billing", {"P1M": ["monthly"], "P1Y": ["triennial"], "P3Y": ["monthly"]}, "billing.P1Y"),
    (MCA, "billing", {"P1M": ["monthly"], "P1Y": ["monthly"]}, "billing"),  # P3Y has no frequency
    (MONTHLY, "billing", {"P1Y": ["monthly"], "P3Y": ["monthly"]}, "billing.P3Y"),  # not in terms
    # booleans
    (MCA, "pay_before_start", "no", "pay_before_start"),
    (MCA, "pay_before_start", 0, "pay_before_start"),
    (MCA, "pay_before_start", None, "pay_before_start"),
    (MCA, "pay_before_start", DROP, "pay_before_start"),
    (MCA, "auto_renew_default", "on", "auto_renew_default"),
    (MCA, "auto_renew_default_edu_gov", "off", "auto_renew_default_edu_gov"),
    (MCA, "nonpayment_stops_at_term_end", 1, "nonpayment_stops_at_term_end"),
    (MCA, "coterm", "yes", "coterm"),
    # integers
    (PREPAID, "activation_sla_business_days", "3", "activation_sla_business_days"),
    (PREPAID, "activation_sla_business_days", 0, "activation_sla_business_days"),
    (PREPAID, "activation_sla_business_days", 3.0, "activation_sla_business_days"),
    (PREPAID, "activation_sla_business_days", True, "activation_sla_business_days"),
    (MCA, "auto_renew_optout_days", "30", "auto_renew_optout_days"),
    (MCA, "auto_renew_optout_days", -1, "auto_renew_optout_days"),
    (MCA, "cancel_window_hours", "168", "cancel_window_hours"),
    (MCA, "cancel_window_hours", 168.5, "cancel_window_hours"),
    (MCA, "cancel_window_hours", 0, "cancel_window_hours"),
    (MCA, "full_refund_hours", -1, "full_refund_hours"),
    (MCA, "full_refund_hours", "24h", "full_refund_hours"),
    (PREPAID, "renewal_invoice_lead_months", "1 month", "renewal_invoice_lead_months"),
    (PREPAID, "renewal_payment_due_days", 14.0, "renewal_payment_due_days"),
    (MONTHLY, "min_term_months", 0, "min_term_months"),
    (MONTHLY, "min_term_months", "12", "min_term_months"),
    (MONTHLY, "price_lock_months", 0, "price_lock_months"),
    (MCA, "expired_days", -1, "expired_days"),
    (MCA, "expired_days", "30", "expired_days"),
    (MCA, "expired_days", None, "expired_days"),
    (MCA, "expired_days", DROP, "expired_days"),
    (MCA, "disabled_days", 90.0, "disabled_days"),
    (MCA, "disabled_days", DROP, "disabled_days"),
    (MCA, "retain_after_cancel_days", True, "retain_after_cancel_days"),
    (MCA, "retain_after_cancel_days", DROP, "retain_after_cancel_days"),
    # invoice_due
    (MCA, "invoice_due", "eom", "invoice_due"),
    (MCA, "invoice_due", 14, "invoice_due"),
    (MCA, "invoice_due", None, "invoice_due"),
    (MCA, "invoice_due", DROP, "invoice_due"),
    (PREPAID, "invoice_due", {"days_after_issue": "14"}, "invoice_due"),
    (PREPAID, "invoice_due", {"days_after_issue": -1}, "invoice_due"),
    (PREPAID, "invoice_due", {"days_after_issue": 14.0}, "invoice_due"),
    (PREPAID, "invoice_due", {"days_after_issue": True}, "invoice_due"),
    (PREPAID, "invoice_due", {"days_after_issue": 14, "extra": 1}, "invoice_due"),
    (PREPAID, "invoice_due", {}, "invoice_due"),
    # trial
    (MCA, "trial", "yes", "trial"),
    (MCA, "trial", [30], "trial"),
    (MCA, "trial", {"converts_to_term": "P2Y"}, "trial.converts_to_term"),
    (MCA, "trial", {"converts_to_billing": "weekly"}, "trial.converts_to_billing"),
    (MCA, "trial", {"days": "thirty"}, "trial.days"),
    (MCA, "trial", {"days": "30"}, "trial.days"),
    (MCA, "trial", {"days": True}, "trial.days"),
    (MCA, "trial", {"days": 1.5}, "trial.days"),
    (MCA, "trial", {"days": -5}, "trial.days"),
    (MCA, "trial", {"max_seats": [25]}, "trial.max_seats"),
    (MCA, "trial", {"max_seats": "many"}, "trial.max_seats"),
    # reminders
    (MCA, "reminders", [7], "reminders"),
    (MCA, "reminders", "weekly", "reminders"),
    (MCA, "reminders", {"optout_days_before": "7"}, "reminders.optout_days_before"),
    (MCA, "reminders", {"optout_days_before": -1}, "reminders.optout_days_before"),
    (MCA, "reminders", {"payment_days_before_due": True}, "reminders.payment_days_before_due"),
    (MCA, "reminders", {"data_deletion_days_before": 1.5}, "reminders.data_deletion_days_before"),
]


@pytest.mark.parametrize(
    ("name", "field", "value", "key"),
    WRONG_VALUES,
    ids=[f"{n}-{f}-{v!r}" for n, f, v, _ in WRONG_VALUES],
)
def test_wrong_value_is_refused_naming_the_key(name: str, field: str, value: Any, key: str) -> None:
    # given a preset with one value of the wrong type / range, when validated,
    # then a PolicyError (not a TypeError/ValueError) names the key
    assert_names_key(refused(variant(name, **{field: value})), key)


@pytest.mark.parametrize("data", [None, [], ["name", "x"], "mca-nce", 42])
def test_policy_must_be_a_mapping(data: Any) -> None:
    err = refused(data)
    assert err.code == "POLICY-INVALID"
