"""Issue 5 on SQLite and PostgreSQL: party records round-trip, an order and its ordering party commit as one,
the tick runs the parties' deadlines, an outgoing plan turns auto-renew off in the same transaction."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from licensedesk.domain.errors import DomainError, InvalidInput, RuleViolation
from licensedesk.services import catalog, licences, onboarding, parties, party_orders, scheduler, transfers
from licensedesk.services.context import Services
from licensedesk.services.party_views import sections

JST = ZoneInfo("Asia/Tokyo")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=JST)


@pytest.fixture
def svc(svc: Services) -> Services:  # the migrated one of conftest.py, seeded here
    s = svc
    catalog.load_sample_catalog(s)
    scheduler.tick(s, at("2026-06-18T00:00:00"))
    return s


def _group(svc: Services, now: datetime) -> None:
    parties.register_customer(svc, now, ref="acme", name="株式会社アクメ", entity="corporation", country="JP",
                              corporate_number="７０１０７０５０００７２５",
                              address={"postal_code": "1000001", "prefecture": "東京都", "city": "千代田区",
                                       "line1": "千代田1-1"},
                              contacts=[{"name": "山田", "email": "yamada@acme.co.jp", "role": "billing"},
                                        {"name": "佐藤", "email": "sato@acme.co.jp", "role": "technical"}])
    parties.register_customer(svc, now, ref="sub", name="アクメ販売株式会社", entity="corporation", country="JP",
                              parent="acme", ownership_percent=51)
    parties.register_tenant(svc, now, ref="t-sub", customer="sub", domain="acmesales.onmicrosoft.com", country="JP")


def test_customer_and_tenant_details_round_trip(svc: Services) -> None:
    now = at("2026-06-18T10:00:00")
    _group(svc, now)
    parties.register_tenant(svc, now, ref="t1", customer="acme", domain="acme.onmicrosoft.com", country="JP",
                            origin="open", vl_licences=True)
    with svc.uow() as uow:
        acme = uow.parties.details.customer("acme")
        ten = uow.parties.details.tenant("t1")
        events = uow.parties.details.events("t1")
    assert acme is not None and acme.corporate_number == "7010705000725"
    assert acme.address is not None and acme.address.postal_code == "100-0001"
    assert [(c.name, c.role.value) for c in acme.contacts] == [("山田", "billing"), ("佐藤", "technical")]
    assert ten is not None and (ten.origin.value, ten.vl_licences) == ("open", True)
    assert [e["rule"] for e in events] == ["TEN-MIX"]


def test_group_order_and_its_ordering_party_commit_together(svc: Services) -> None:
    now = at("2026-06-18T10:00:00")
    _group(svc, now)
    party_orders.order(svc, now, ref="s1", tenant="t-sub", offer="M365-E3", term="P1Y", billing="monthly",
                       quantity=10, ordering_party="acme")
    # refused by the subscription engine after the parties' checks passed: nothing of it stays
    with pytest.raises(InvalidInput):
        party_orders.order(svc, now, ref="s2", tenant="t-sub", offer="M365-E3", term="P1Y", billing="upfront",
                           quantity=10, policy="monthly-prorated", ordering_party="acme")
    with svc.uow() as uow:
        assert uow.subscriptions.get("s2") is None
        assert uow.parties.details.ordering_parties() == [
            {"subscription_ref": "s1", "end_user_ref": "sub", "ordering_party_ref": "acme",
             "ownership_percent": "51", "rule": "ELIG-GROUP"}]
        sub = uow.subscriptions.get("s1")
        assert sub is not None and sub.customer == "sub"  # the affiliate is the end user


def test_migration_needs_the_accepted_relationship_then_orders(svc: Services) -> None:
    now = at("2026-06-18T10:00:00")
    _group(svc, now)
    parties.register_tenant(svc, now, ref="t1", customer="acme", domain="acme.onmicrosoft.com", country="JP",
                            origin="direct")
    with pytest.raises(RuleViolation) as refused:
        party_orders.order(svc, now, ref="s1", tenant="t1", offer="M365-E3", term="P1Y", billing="monthly",
                           quantity=5, migrate=True)
    assert refused.value.code == "ORD-MIGRATE"
    transfers.request_relationship(svc, now, ref="r1", tenant="t1")
    transfers.accept_relationship(svc, at("2026-06-19T09:00:00"), relationship="r1")
    party_orders.order(svc, at("2026-06-19T10:00:00"), ref="s1", tenant="t1", offer="M365-E3", term="P1Y",
                       billing="monthly", quantity=5, migrate=True)
    with pytest.raises(RuleViolation) as azure:
        party_orders.order(svc, at("2026-06-19T10:00:00"), ref="az", tenant="t1", offer="AZURE-PLAN", term="P1M",
                           billing="monthly", quantity=1)
    assert azure.value.code == "AZ-FIRST-ACCOUNT"


def test_an_orders_one_read_of_its_tenant_answers_as_the_separate_reads(svc: Services) -> None:
    """``tenant_for_order`` (D-API-ORDER-READS) gives what ``tenant``, ``customer``, ``relationships.accepted``
    and ``subscriptions.get`` give, contacts in order, details or none."""
    now = at("2026-06-18T10:00:00")
    _group(svc, now)
    parties.register_tenant(svc, now, ref="t1", customer="acme", domain="acme.onmicrosoft.com", country="JP",
                            origin="open", vl_licences=True)

    def both(tenant: str, ref: str) -> tuple[object, object]:
        with svc.uow() as uow:
            one = uow.parties.details.tenant_for_order(tenant, ref)
            ten = uow.parties.details.tenant(tenant)
            separate = None if ten is None else (ten, uow.parties.details.customer(ten.customer_ref),
                                                 uow.parties.relationships.accepted(tenant),
                                                 uow.subscriptions.get(ref) is not None)
        return (None if one is None else (one.tenant, one.customer, one.relationship_accepted, one.ref_taken)), separate

    assert both("nope", "s1") == (None, None)
    for tenant in ("t1", "t-sub"):  # a customer with details and two contacts; one with neither
        one, separate = both(tenant, "s1")
        assert one == separate and one is not None and one[2:] == (False, False)
    transfers.request_relationship(svc, now, ref="r1", tenant="t1")
    transfers.accept_relationship(svc, at("2026-06-19T09:00:00"), relationship="r1")
    party_orders.order(svc, at("2026-06-19T10:00:00"), ref="s1", tenant="t-sub", offer="M365-E3", term="P1Y",
                       billing="monthly", quantity=5)
    one, separate = both("t1", "s1")
    assert one == separate and one is not None and one[2:] == (True, True)
    with pytest.raises(InvalidInput) as taken:
        party_orders.order(svc, at("2026-06-19T10:00:00"), ref="s1", tenant="t1", offer="M365-E3", term="P1Y",
                           billing="monthly", quantity=5)
    assert taken.value.code == "DUPLICATE-REF"


def test_the_tick_runs_login_and_relationship_deadlines_once(svc: Services) -> None:
    now = at("2026-06-18T10:00:00")
    _group(svc, now)
    onboarding.apply(svc, now, ref="a1", customer="acme")
    transfers.request_relationship(svc, now, ref="r1", tenant="t-sub", admin="dap")
    scheduler.tick(svc, at("2026-06-23T00:00:00"))  # login due 06-22 → overdue on 06-23
    scheduler.tick(svc, at("2026-09-17T00:00:00"))  # request open through 09-16
    scheduler.tick(svc, at("2026-09-18T00:00:00"))
    with svc.uow() as uow:
        kinds = [(n["kind"], str(n["on_date"])) for n in uow.notices.list() if n["kind"] != "invoice_issued"]
        view = sections(uow, JST)
        assert uow.parties.deadlines.due(at("2030-01-01T00:00:00").date()) == []
    assert kinds == [("relationship_request_sent", "2026-06-18"), ("store_login_overdue", "2026-06-23"),
                     ("relationship_request_expired", "2026-09-17")]
    assert view["applications"]["a1"]["overdue_on"] == "2026-06-23"
    assert view["relationships"]["r1"]["status"] == "expired"


def test_outgoing_plan_turns_auto_renew_off_and_dap_is_revoked(svc: Services) -> None:
    now = at("2026-06-18T10:00:00")
    _group(svc, now)
    transfers.request_relationship(svc, now, ref="r1", tenant="t-sub")
    transfers.accept_relationship(svc, now, relationship="r1")
    party_orders.order(svc, now, ref="s1", tenant="t-sub", offer="M365-E3", term="P1Y", billing="monthly",
                       quantity=3)
    licences.assign(svc, now, "t-sub", "M365-E3", ["a", "b", "c"])
    with pytest.raises(RuleViolation) as over:
        licences.assign(svc, now, "t-sub", "M365-E3", ["d"])
    assert over.value.code == "ORD-IDS"
    body = transfers.plan_transfer(svc, at("2026-07-01T10:00:00"), ref="p1", tenant="t-sub", direction="outgoing",
                                   to_partner="ベータ", to_partner_region="JP")
    assert body["lines"][0]["auto_renew_off"] == "turned_off"
    transfers.revoke_delegated_admin(svc, at("2026-07-02T10:00:00"), tenant="t-sub")
    with pytest.raises(DomainError):
        transfers.revoke_delegated_admin(svc, at("2026-07-03T10:00:00"), tenant="t-sub")
    with svc.uow() as uow:
        sub = uow.subscriptions.get("s1")
        view = sections(uow, JST)
    assert sub is not None and sub.auto_renew is False
    plan = view["transfer_plans"]["p1"]
    assert (plan["lines"][0]["expired_on"], plan["lines"][0]["provision_by"]) == ("2027-06-18", "2027-07-17")
    assert view["tenants"]["t-sub"]["delegated_admin"]["status"] == "revoked"
    assert view["tenants"]["t-sub"]["licences"] == {"M365-E3": {"purchased": 3, "assigned": 3}}
