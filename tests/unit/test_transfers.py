"""Onboarding (ONB-APPLY, ONB-REISSUE), reseller relationships (XFER-RELATIONSHIP), delegated admin (DAP-REVOKE),
and transfer plans (XFER-REASSIGN, XFER-CANCEL-EXPIRE, XFER-150, XFER-TENANT-DATA, XFER-CREDIT, PARTNER-REGION)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from licensedesk.domain.calendar import BusinessCalendar
from licensedesk.domain.errors import InvalidInput, RuleViolation
from licensedesk.domain.onboarding import Application
from licensedesk.domain.parties import Tenant
from licensedesk.domain.subscription import When
from licensedesk.domain.transfers import (
    AdminKind,
    AdminRelationship,
    AdminStatus,
    LeavingSubscription,
    RelationshipRequest,
    RelationshipStatus,
    SourceSubscription,
    plan_incoming,
    plan_outgoing,
    reassignment,
)

JST = ZoneInfo("Asia/Tokyo")


def when(text: str) -> When:
    instant = datetime.fromisoformat(text).replace(tzinfo=JST)
    return When(instant, instant.date())


def tenant(country: str = "JP", **kw: object) -> Tenant:
    return Tenant("t1", "acme", "acme.onmicrosoft.com", country, **kw)  # type: ignore[arg-type]


# --- ONB-APPLY / ONB-REISSUE --------------------------------------------------------------------------------

@pytest.mark.parametrize(("received", "due"), [
    ("2026-06-18T10:00:00", date(2026, 6, 22)),  # Thu → Fri (1), Mon (2)
    ("2026-06-20T10:00:00", date(2026, 6, 23)),  # Sat: counting starts Mon (1), Tue (2)
    ("2026-04-30T10:00:00", date(2026, 5, 7)),  # Golden Week: 05-01 (1), 05-07 (2)
    ("2026-12-25T10:00:00", date(2027, 1, 4)),  # year-end closure 12-29…01-03: 12-28 (1), 01-04 (2)
])
def test_login_due_two_business_days_after_the_form(received: str, due: date) -> None:
    app = Application.receive("a1", "acme", when(received), BusinessCalendar())
    assert app.login_due == due
    assert app.login_due_why.rule == "ONB-APPLY"


def test_login_issued_on_time_sends_the_activation_notice_and_no_overdue() -> None:
    app = Application.receive("a1", "acme", when("2026-06-18T10:00:00"), BusinessCalendar())
    app.issue_login(when("2026-06-22T17:00:00"), "acme-admin")
    assert app.check_overdue(date(2026, 6, 23)) is False
    [notice] = app.drain()
    assert (notice.kind, notice.on, notice.rule) == ("store_activation", date(2026, 6, 22), "ONB-APPLY")
    assert notice.details["contract_start"] == "2026-06-22" and app.issued_late is False


def test_login_late_gets_an_overdue_notice_the_day_after_the_deadline() -> None:
    app = Application.receive("a1", "acme", when("2026-06-18T10:00:00"), BusinessCalendar())
    assert app.check_overdue(date(2026, 6, 22)) is False  # the deadline day itself is still in time
    assert app.check_overdue(date(2026, 6, 23)) is True
    assert app.check_overdue(date(2026, 6, 24)) is False  # once
    app.issue_login(when("2026-06-24T09:00:00"), "acme-admin", date(2026, 7, 1))
    kinds = [(n.kind, n.on) for n in app.drain()]
    assert kinds == [("store_login_overdue", date(2026, 6, 23)), ("store_activation", date(2026, 6, 24))]
    assert app.contract_start == date(2026, 7, 1) and app.issued_late is True


def test_reissue_needs_an_issued_notice_and_repeats_its_content() -> None:
    app = Application.receive("a1", "acme", when("2026-06-18T10:00:00"), BusinessCalendar())
    with pytest.raises(RuleViolation) as info:
        app.reissue_activation(when("2026-06-18T11:00:00"))
    assert info.value.code == "ONB-REISSUE"
    app.issue_login(when("2026-06-19T10:00:00"), "acme-admin")
    app.reissue_activation(when("2026-08-01T10:00:00"))
    last = app.drain()[-1]
    assert (last.kind, last.rule, last.details["contract_start"], last.details["reissue"]) == (
        "store_activation_reissued", "ONB-REISSUE", "2026-06-19", 1)
    with pytest.raises(InvalidInput):
        app.issue_login(when("2026-08-02T10:00:00"), "again")


# --- XFER-RELATIONSHIP, DAP-REVOKE ---------------------------------------------------------------------------

def test_relationship_request_open_90_days_then_expired() -> None:
    req = RelationshipRequest.send("r1", tenant(), when("2026-06-18T10:00:00"))
    assert req.open_until == date(2026, 9, 16)  # 06-18 + 90 days
    assert req.expire(date(2026, 9, 16)) is None
    notice = req.expire(date(2026, 9, 17))
    assert notice is not None and notice.rule == "XFER-RELATIONSHIP" and req.status is RelationshipStatus.EXPIRED
    with pytest.raises(RuleViolation) as info:
        req.accept(when("2026-09-17T10:00:00"))
    assert info.value.code == "XFER-RELATIONSHIP"


def test_accepting_late_without_a_tick_is_refused_too() -> None:
    req = RelationshipRequest.send("r1", tenant(), when("2026-06-18T10:00:00"))
    with pytest.raises(RuleViolation):
        req.accept(when("2026-09-17T00:00:00"))


def test_acceptance_grants_gdap_for_its_days() -> None:
    req = RelationshipRequest.send("r1", tenant(), when("2026-06-18T10:00:00"), AdminKind.GDAP, 30)
    admin = req.accept(when("2026-09-16T23:59:00"))  # the last day is inside
    assert admin is not None and admin.ends_on == date(2026, 10, 15)  # 09-16 … 10-15 = 30 days
    assert admin.expire(date(2026, 10, 15)) is False and admin.expire(date(2026, 10, 16)) is True
    with pytest.raises(InvalidInput):
        RelationshipRequest.send("r2", tenant(), when("2026-06-18T10:00:00"), AdminKind.GDAP, 731)


@pytest.mark.parametrize(("kw", "code"), [({"country": "US"}, "PARTNER-REGION"),
                                          ({"syndication": True}, "TEN-SYNDICATION")])
def test_relationship_request_refusals(kw: dict[str, object], code: str) -> None:
    with pytest.raises(RuleViolation) as info:
        RelationshipRequest.send("r1", tenant(**kw), when("2026-06-18T10:00:00"))  # type: ignore[arg-type]
    assert info.value.code == code


def test_dap_revoke_any_time_once() -> None:
    admin = AdminRelationship("t1", AdminKind.DAP, when("2026-06-18T10:00:00").instant)
    notice = admin.revoke(when("2030-01-01T10:00:00"))
    assert (notice.rule, admin.status) == ("DAP-REVOKE", AdminStatus.REVOKED)
    with pytest.raises(InvalidInput):
        admin.revoke(when("2030-01-02T10:00:00"))


# --- XFER-REASSIGN ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("src", "new_tenant", "what", "target"), [
    (SourceSubscription("M365-E3", 10), False, "none", "M365-E3"),
    (SourceSubscription("M365-E3", 10, provision_quantity=12), False, "reassign", "M365-E3"),
    (SourceSubscription("M365-E3", 10, provision_offer="M365-E5"), False, "reassign", "M365-E5"),
    (SourceSubscription("O365-E1", 5, retired=True), False, "choose_equivalent", None),
    (SourceSubscription("O365-E1", 5, retired=True, equivalent="O365-E3"), False, "reassign", "O365-E3"),
    (SourceSubscription("M365-E3", 10), True, "reassign", "M365-E3"),
])
def test_reassignment_advice(src: SourceSubscription, new_tenant: bool, what: str, target: str | None) -> None:
    got, offer, advice = reassignment(src, new_tenant)
    assert (got, offer, advice.rule) == (what, target, "XFER-REASSIGN")


# --- plans ----------------------------------------------------------------------------------------------------

def test_incoming_plan_deadlines_and_advice() -> None:
    plan = plan_incoming("p1", tenant(), [SourceSubscription("M365-E3", 10, date(2026, 9, 30))], relationship_ok=True,
                         expired_days=30, source_channel="direct")
    line = plan.lines[0]
    assert (line["expired_on"], line["provision_from"], line["provision_by"]) == (
        date(2026, 10, 1), None, date(2026, 10, 30))  # Expired 10-01 … 10-30 (30 days)
    assert plan.as_dict()["advice_rules"] == ["XFER-CANCEL-EXPIRE", "LIFE-NO-REFUND-CANCEL", "XFER-CREDIT"]


def test_incoming_plan_over_150_rebuys_in_the_grace_period() -> None:
    src = [SourceSubscription("M365-E3", 1, date(2026, 9, 30))]
    at_150 = plan_incoming("p", tenant(), src, relationship_ok=True, expired_days=30, active_subscriptions=150)
    over = plan_incoming("p", tenant(), src, relationship_ok=True, expired_days=30, active_subscriptions=151,
                         new_tenant=True)
    assert at_150.method == "provision_before_expiry" and "XFER-150" not in at_150.as_dict()["advice_rules"]
    assert over.method == "rebuy_in_grace" and over.lines[0]["provision_from"] == date(2026, 10, 1)
    assert {"XFER-150", "XFER-TENANT-DATA"} <= set(over.as_dict()["advice_rules"])


@pytest.mark.parametrize(("kw", "ok", "code"), [({"country": "US"}, True, "PARTNER-REGION"),
                                                ({}, False, "XFER-RELATIONSHIP")])
def test_incoming_plan_refusals(kw: dict[str, object], ok: bool, code: str) -> None:
    with pytest.raises(RuleViolation) as info:
        plan_incoming("p", tenant(**kw), [SourceSubscription("M365-E3", 1)], relationship_ok=ok,  # type: ignore[arg-type]
                      expired_days=30)
    assert info.value.code == code


def test_outgoing_plan_dates_including_a_refused_auto_renew_off() -> None:
    subs = [LeavingSubscription("s1", "M365-E3", 10, date(2027, 6, 17), 12, 30, False, "turned_off"),
            LeavingSubscription("s2", "M365-E3", 5, date(2026, 7, 17), 12, 30, True, "TERM-RENEW-OPTOUT-30D")]
    admin = AdminRelationship("t1", AdminKind.GDAP, when("2026-06-18T10:00:00").instant)
    plan = plan_outgoing("p", tenant(), subs, partner="beta", region=["JP"], admin=admin)
    one, two = plan.lines
    assert (one["expired_on"], one["provision_by"]) == (date(2027, 6, 18), date(2027, 7, 17))
    assert (two["renews_on"], two["term_end"], two["expired_on"]) == (date(2026, 7, 18), date(2027, 7, 17),
                                                                      date(2027, 7, 18))
    assert plan.as_dict()["advice_rules"][-1] == "DAP-REVOKE"
    with pytest.raises(RuleViolation) as info:
        plan_outgoing("p", tenant(), subs, partner="us", region=["US", "CA"])
    assert info.value.code == "PARTNER-REGION"
