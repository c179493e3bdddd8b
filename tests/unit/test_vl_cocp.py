"""Change of channel partner (RULES.md §7, COCP-*): pure domain, no database."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from licensedesk.domain.agreements import Agreement, Partners, Program, Region, open_agreement
from licensedesk.domain.cocp import (
    ChangeKind,
    CocpForm,
    CocpStatus,
    FormKind,
    LeadException,
    Signer,
    stops_auto_renew,
)
from licensedesk.domain.cocp_form import form_kind, lead_days, required_signers, submit
from licensedesk.domain.enrollment import Enrollment, enroll
from licensedesk.domain.errors import InvalidInput, RuleViolation
from licensedesk.domain.subscription import When

JST = ZoneInfo("Asia/Tokyo")
D = date.fromisoformat


def at(day: str) -> When:
    return When(datetime.combine(D(day), time(10), tzinfo=JST), D(day))


def target(region: str = "japan", program: str = "ees", distributor: str | None = "D1", ref: str = "e1",
           agreement_ref: str = "a1") -> tuple[Enrollment, Agreement]:
    a = open_agreement(ref=agreement_ref, customer="uni", program=program, version="3.2", region=region,
                       public_customer_number="PCN", country="JP" if region == "japan" else "US",
                       institution_qualifies=True)
    e = enroll(ref=ref, agreement=a, term_years=3, effective=D("2026-04-01"), partners=Partners("R1", distributor),
               when=at("2026-04-01"))
    e.record_order(at("2026-04-01"))
    return e, a


FORM = CocpForm(log_number="C1", kind=ChangeKind.RESELLER, enrollments=("e1",), new={"reseller": "R2"},
                current={"reseller": "R1", "distributor": "D1"},
                signatures={Signer.END_CUSTOMER: D("2027-02-20"), Signer.NEW_RESELLER: D("2027-02-21"),
                            Signer.DISTRIBUTOR: D("2027-02-22")},
                copies=2, ink_signed=True, notified_previous_on=D("2027-02-19"))


def refused(form: CocpForm, today: str, *targets: tuple[Enrollment, Agreement]) -> str:
    with pytest.raises(RuleViolation) as err:
        submit(form, list(targets) or [target()], at(today))
    return err.value.code


@pytest.mark.parametrize(("kind", "program", "region", "days", "rule"), [
    (ChangeKind.RESELLER, Program.EES, Region.JAPAN, 30, "COCP-LEAD-30D"),
    (ChangeKind.RESELLER, Program.SCHOOL, Region.JAPAN, 15, "COCP-LEAD-30D"),
    (ChangeKind.RESELLER, Program.SCHOOL, Region.INTERNATIONAL, 15, "COCP-LEAD-30D"),
    (ChangeKind.RESELLER, Program.SCHOOL, Region.AMERICAS, 30, "COCP-LEAD-30D"),
    (ChangeKind.DISTRIBUTOR, Program.EES, Region.AMERICAS, 10, "COCP-EFFECTIVE"),
    (ChangeKind.DISTRIBUTOR, Program.EES, Region.JAPAN, 30, "COCP-LEAD-30D"),
])
def test_lead_days(kind: ChangeKind, program: Program, region: Region, days: int, rule: str) -> None:
    assert lead_days(kind, program, region) == (days, rule)


@pytest.mark.parametrize(("kind", "two_tier", "signers"), [
    (ChangeKind.RESELLER, True, ("end_customer", "new_reseller", "distributor")),
    (ChangeKind.RESELLER, False, ("end_customer", "new_reseller")),
    (ChangeKind.DISTRIBUTOR, True, ("reseller", "new_distributor")),
    (ChangeKind.BOTH, True, ("end_customer", "new_reseller", "new_distributor")),
    (ChangeKind.SOFTWARE_ADVISOR, False, ("end_customer", "new_software_advisor")),
])
def test_required_signers_in_order(kind: ChangeKind, two_tier: bool, signers: tuple[str, ...]) -> None:
    assert tuple(s.value for s in required_signers(kind, two_tier)) == signers


def test_accepted_form_dates_and_explanations() -> None:
    cocp = submit(FORM, [target()], at("2027-03-02"))  # 2027-04-01 − 30 days, inclusive
    assert (cocp.status, cocp.lead_deadline, cocp.lead_date) == (CocpStatus.ACCEPTED, D("2027-03-02"), D("2027-04-01"))
    assert cocp.effective_on == D("2027-03-22")  # signed 2027-02-20 + 30
    assert cocp.form_kind is FormKind.MANUAL and cocp.form_reasons == ["reseller change in a two-tier model"]
    assert {k: v.rule for k, v in cocp.explanations.items()} == {
        "effective_formula_on": "COCP-EFFECTIVE", "effective_on": "COCP-EFFECTIVE", "lead_deadline": "COCP-LEAD-30D"}
    assert cocp.next_due == D("2027-03-22")


def test_refusals_name_their_rule() -> None:
    assert refused(FORM, "2027-03-03") == "COCP-LEAD-30D"
    assert refused(replace(FORM, current={"reseller": "R9", "distributor": "D1"}), "2026-09-01") == "COCP-MATCH"
    assert refused(replace(FORM, current={"distributor": "D1"}), "2026-09-01") == "COCP-MATCH"
    assert refused(replace(FORM, copies=1), "2027-03-01") == "COCP-SIGNERS"
    assert refused(replace(FORM, ink_signed=False), "2027-03-01") == "COCP-SIGNERS"
    assert refused(replace(FORM, signatures={Signer.END_CUSTOMER: D("2027-02-20")}), "2027-03-01") == "COCP-SIGNERS"
    assert refused(replace(FORM, notified_previous_on=D("2027-02-21")), "2027-03-01") == "COCP-DUTIES"
    assert refused(replace(FORM, notified_previous_on=None), "2027-03-01") == "COCP-DUTIES"
    assert refused(replace(FORM, form=FormKind.ELECTRONIC), "2027-03-01") == "COCP-FORM-KIND"
    assert refused(replace(FORM, exception=LeadException.M15), "2027-03-05") == "COCP-LEAD-30D"


def test_signatures_after_the_submission_are_refused() -> None:
    assert refused(FORM, "2027-02-21") == "COCP-SIGNERS"


def test_americas_receipt_within_10_days_of_the_customer_signature() -> None:
    form = replace(FORM, current={"reseller": "R1"}, copies=1, notified_previous_on=D("2026-08-31"),
                   signatures={Signer.END_CUSTOMER: D("2026-09-01"), Signer.NEW_RESELLER: D("2026-09-02")})
    ok = submit(replace(form, received_on=D("2026-09-11")), [target("americas", distributor=None)], at("2026-09-11"))
    assert ok.form_kind is FormKind.ELECTRONIC and ok.effective_on == D("2026-10-01")
    assert refused(replace(form, received_on=D("2026-09-12")), "2026-09-12",
                   target("americas", distributor=None)) == "COCP-EFFECTIVE"


def test_late_form_with_override_waits_then_takes_the_approval_date_as_floor() -> None:
    cocp = submit(replace(FORM, exception=LeadException.OVERRIDE), [target()], at("2027-03-25"))
    assert cocp.status is CocpStatus.AWAITING_APPROVAL and cocp.late and cocp.next_due is None
    cocp.decide(at("2027-03-28"), approved=True)
    assert cocp.status is CocpStatus.ACCEPTED and cocp.effective_on == D("2027-03-28")  # max(03-22, 03-28)
    with pytest.raises(InvalidInput):
        cocp.decide(at("2027-03-29"), approved=False)


def test_form_kind_reasons() -> None:
    seven = [target("americas", distributor=None, ref=f"e{i}") for i in range(7)]
    sa = replace(FORM, kind=ChangeKind.SOFTWARE_ADVISOR)
    assert form_kind(sa, seven) == (FormKind.MANUAL, [
        "more than 6 enrollments under one public customer number and master agreement"])
    assert form_kind(sa, seven[:6]) == (FormKind.ELECTRONIC, [])
    bulk = [target(ref="e1"), target(ref="f1", agreement_ref="a2")]
    assert "bulk change of several agreements" in form_kind(sa, bulk)[1]
    assert form_kind(replace(FORM, kind=ChangeKind.DISTRIBUTOR), [target()]) == (FormKind.ELECTRONIC, [])


def test_terminated_enrollment_refuses_any_cocp() -> None:
    e, a = target()
    e.terminate(at("2026-05-01"), "VL-TERMINATE-QUALIFY")
    assert refused(FORM, "2026-09-01", (e, a)) == "COCP-ANYTIME"


def test_taking_effect_switches_partners_and_names_the_orders_to_stop() -> None:
    e, a = target()
    cocp = submit(FORM, [(e, a)], at("2027-03-01"))
    old = cocp.take_effect(at("2027-03-22"), e)
    cocp.finish(at("2027-03-22"), ["PO-1"])
    assert e.partners == Partners("R2", "D1") and e.partners_on(D("2027-03-21")) == Partners("R1", "D1")
    assert cocp.status is CocpStatus.EFFECTIVE and cocp.duties[-1].key == "renew_online"
    assert stops_auto_renew(ChangeKind.RESELLER, old, "R1", "D1")
    assert not stops_auto_renew(ChangeKind.RESELLER, old, "R2", "D1")
    assert stops_auto_renew(ChangeKind.DISTRIBUTOR, old, "R2", "D1")
    assert not stops_auto_renew(ChangeKind.SOFTWARE_ADVISOR, old, "R1", "D1")
